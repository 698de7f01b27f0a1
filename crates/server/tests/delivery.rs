//! Exact delivery: resume after a disconnect, slow readers, order under
//! concurrent senders.

mod support;

use std::collections::HashSet;

use serde_json::{Value, json};
use support::{TestApp, spawn_app};

/// Sends `count` messages of `padding` extra characters from `senders`
/// concurrent tasks; returns their ids in order.
async fn send_concurrently(
    app: &TestApp,
    senders: usize,
    count: usize,
    padding: usize,
) -> Vec<i64> {
    let tasks = (0..senders).map(|sender| {
        let client = app.client.clone();
        let url = app.url("/api/messages");
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (sender..count).step_by(senders) {
                let response = client
                    .post(&url)
                    .json(&json!({
                        "username": format!("sender{sender}"),
                        "text": format!("m{i} {}", "x".repeat(padding)),
                    }))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), 201);
                let message: Value = response.json().await.expect("json");
                ids.push(message["id"].as_i64().expect("id"));
            }
            ids
        })
    });
    let mut ids = Vec::with_capacity(count);
    for task in tasks {
        ids.extend(task.await.expect("sender task"));
    }
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_resumed_subscriber_gets_exactly_what_it_missed_in_order() {
    let app = spawn_app().await;
    let mut events = app.events("", None).await;
    let last_seen = app.send("ada", "seen").await["id"].as_i64();
    assert_eq!(events.take(1).await[0].0, last_seen.expect("id"));
    drop(events);

    let missed = send_concurrently(&app, 4, 100, 0).await;

    let mut resumed = app.events("", last_seen).await;
    let received: Vec<i64> = resumed
        .take(100)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(received, missed);
    // Nothing more: the next event is a new live message, not a duplicate.
    let live = app.send("ada", "live").await["id"].as_i64().expect("id");
    assert_eq!(resumed.take(1).await[0].0, live);
    app.shutdown().await;
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_catches_up_exactly() {
    let app = spawn_app().await;
    // Subscribed, but reads nothing until all 5,000 are sent: more than the
    // hub keeps, and at ~2 KB each (10 MB) more than the socket buffers hold,
    // so the server cannot hand them all to the kernel: it lags and must
    // catch up from the store. (Sending must take less than the 30 s a
    // stream may make no progress before it is cut.)
    let mut stalled = app.events("", None).await;
    let sent = send_concurrently(&app, 8, 5_000, 1_900).await;
    assert!(sent.len() > server::hub::CAPACITY);

    let received: Vec<i64> = stalled
        .take(sent.len())
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(received, sent, "every message once, in id order");
    app.shutdown().await;
}

#[tokio::test]
async fn concurrent_senders_reach_every_subscriber_in_the_same_order() {
    let app = spawn_app().await;
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        subscribers.push(app.events("", None).await);
    }
    let sent = send_concurrently(&app, 8, 4_000, 0).await;
    assert_eq!(
        sent.iter().collect::<HashSet<_>>().len(),
        4_000,
        "ids are unique"
    );

    for mut subscriber in subscribers {
        let received: Vec<i64> = subscriber
            .take(sent.len())
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(received, sent);
    }
    app.shutdown().await;
}
