//! The event stream: live delivery, headers, resume by id, shutdown.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{assert_stream_headers, spawn_app, spawn_app_with};

#[tokio::test]
async fn subscriber_receives_a_posted_message_with_its_id() {
    let app = spawn_app().await;
    let mut events = app.events("", None).await;

    let sent = app.send("ada", "hello").await;
    let received = events.take(1).await;
    assert_eq!(received[0].0, sent["id"].as_i64().expect("id"));
    assert_eq!(received[0].1, sent);
    app.shutdown().await;
}

#[tokio::test]
async fn stream_headers_arrive_at_once_uncompressed_and_uncached() {
    let app = spawn_app().await;
    // No message is ever sent: the headers must not wait for one.
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.client
            .get(app.url("/api/events"))
            .header("accept-encoding", "gzip, br")
            .send(),
    )
    .await
    .expect("headers without waiting for a message")
    .expect("request");
    assert_eq!(response.status(), 200);
    assert_stream_headers(response.headers());
    drop(response);
    app.shutdown().await;
}

#[tokio::test]
async fn rejected_message_is_not_broadcast() {
    let app = spawn_app().await;
    let mut events = app.events("", None).await;
    let rejected = app.post(&json!({ "username": "ada", "text": "" })).await;
    assert_eq!(rejected.status(), 422);
    let sent = app.send("ada", "valid").await;
    let received = events.take(1).await;
    assert_eq!(received[0].1, sent, "the first event is the valid message");
    app.shutdown().await;
}

#[tokio::test]
async fn last_event_id_replays_what_was_missed_then_continues_live() {
    let app = spawn_app().await;
    let first = app.send("ada", "one").await;
    let missed = [app.send("ada", "two").await, app.send("ada", "three").await];

    let mut events = app.events("", first["id"].as_i64()).await;
    let replayed: Vec<_> = events.take(2).await.into_iter().map(|(_, m)| m).collect();
    assert_eq!(replayed, missed);

    let live = app.send("ada", "four").await;
    assert_eq!(events.take(1).await[0].1, live);
    app.shutdown().await;
}

#[tokio::test]
async fn after_query_replays_and_last_event_id_takes_precedence() {
    let app = spawn_app().await;
    let sent = [
        app.send("ada", "one").await,
        app.send("ada", "two").await,
        app.send("ada", "three").await,
    ];
    let id = |i: usize| sent[i]["id"].as_i64().expect("id");

    let mut by_query = app.events(&format!("?after={}", id(0)), None).await;
    let ids: Vec<_> = by_query
        .take(2)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, [id(1), id(2)]);

    // A reconnecting EventSource keeps its first URL but sends Last-Event-ID.
    let mut reconnected = app.events(&format!("?after={}", id(0)), Some(id(1))).await;
    assert_eq!(reconnected.take(1).await[0].0, id(2));
    app.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams_promptly() {
    let app = spawn_app().await;
    let mut events = app.events("", None).await;
    let mut replaying = app.events("?after=0", None).await;
    app.send("ada", "before shutdown").await;
    assert_eq!(events.take(1).await.len(), 1);
    assert_eq!(replaying.take(1).await.len(), 1);

    tokio::time::timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("shutdown finishes while streams are open");
    assert!(events.next().await.is_none(), "the stream ended");
    assert!(replaying.next().await.is_none(), "the other stream ended");
}

#[tokio::test]
async fn an_idle_stream_carries_a_ping_event_the_page_can_see() {
    // 15 s in service; the ping's shape does not depend on its interval.
    let app = spawn_app_with(|config| config.timing.keep_alive = Duration::from_millis(200)).await;
    let mut events = app.events("", None).await;
    let ping = events.next().await.expect("a ping before the stream ends");
    assert_eq!(ping.kind.as_deref(), Some("ping"));
    assert_eq!(
        ping.id, None,
        "a ping must not move the client's last event id"
    );
    app.shutdown().await;
}
