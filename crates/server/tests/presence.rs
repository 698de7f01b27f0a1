//! Who is in a room and who is typing: heartbeats and typing through the
//! JSON API, passing events on the stream.

mod support;

use serde_json::{Value, json};
use support::{error_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn presence_counts_a_person_with_two_tabs_once_and_drops_them_when_both_close() {
    let app = spawn_app().await;
    let mut stream = app.events_on_new_connection("", None).await;
    let browser = uuid::Uuid::new_v4();
    let (one, two) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let beat = |tab: uuid::Uuid, leaving: bool| json!({ "browser": browser, "tab": tab, "name": "bob", "leaving": leaving });
    let here = app
        .post_json("/api/rooms/general/presence", &beat(one, false))
        .await;
    assert_eq!(here.status(), 200);
    let answered: Value = here.json().await.expect("json");
    assert_eq!(
        answered,
        json!({ "room": "general", "people": ["bob"], "named_guests": ["bob"], "guests": 0 })
    );
    assert_eq!(stream.next_passing("presence").await, answered);
    // A second tab and another heartbeat of the first change nothing ...
    app.post_json("/api/rooms/general/presence", &beat(two, false))
        .await;
    app.post_json("/api/rooms/general/presence", &beat(one, false))
        .await;
    // ... nor does one tab leaving; an anonymous guest elsewhere does.
    let gone = app
        .post_json("/api/rooms/general/presence", &beat(one, true))
        .await;
    assert_eq!(gone.status(), 204);
    let anonymous = json!({ "browser": uuid::Uuid::new_v4(), "tab": uuid::Uuid::new_v4() });
    app.post_json("/api/rooms/general/presence", &anonymous)
        .await;
    assert_eq!(
        stream.next_passing("presence").await,
        json!({ "room": "general", "people": ["bob"], "named_guests": ["bob"], "guests": 1 })
    );
    app.post_json("/api/rooms/general/presence", &beat(two, true))
        .await;
    assert_eq!(
        stream.next_passing("presence").await,
        json!({ "room": "general", "people": [], "guests": 1 })
    );
    // Presence is not a message: nothing stored.
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn typing_goes_out_once_per_two_seconds_and_stops_once() {
    let app = spawn_app().await;
    let mut stream = app.events_on_new_connection("", None).await;
    let browser = uuid::Uuid::new_v4();
    let typing = |typing: bool| json!({ "browser": browser, "name": "bob", "typing": typing });
    for _ in 0..3 {
        let response = app
            .post_json("/api/rooms/general/typing", &typing(true))
            .await;
        assert_eq!(response.status(), 204);
    }
    app.post_json("/api/rooms/general/typing", &typing(false))
        .await;
    app.post_json("/api/rooms/general/typing", &typing(false))
        .await;
    app.send_to("general", "bob", "after typing").await;
    let mut seen = Vec::new();
    loop {
        let event = stream.next().await.expect("stream open");
        match event.kind.as_deref() {
            Some("typing") => seen.push(serde_json::from_str::<Value>(&event.data).expect("json")),
            None => break,
            Some(_) => {}
        }
    }
    assert_eq!(
        seen,
        [
            json!({ "room": "general", "name": "bob", "typing": true }),
            json!({ "room": "general", "name": "bob", "typing": false }),
        ],
        "three starts within 2 s are one; two stops are one"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_guest_may_not_type_or_be_present_under_an_accounts_name() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let browser = uuid::Uuid::new_v4();
    let typing = json!({ "browser": browser, "name": "ADA", "typing": true });
    let response = app.post_json("/api/rooms/general/typing", &typing).await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await["error"]["rule"], "taken");
    let beat = json!({ "browser": browser, "tab": uuid::Uuid::new_v4(), "name": "ada" });
    let response = app.post_json("/api/rooms/general/presence", &beat).await;
    assert_eq!(response.status(), 422);
    let nameless = json!({ "browser": browser, "typing": true });
    let response = app.post_json("/api/rooms/general/typing", &nameless).await;
    assert_eq!(response.status(), 422, "a guest types under a name");
    let response = app.post_json("/api/rooms/nowhere/typing", &typing).await;
    assert_eq!(response.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn where_guests_may_not_send_they_may_not_type() {
    let app = spawn_app_with(|config| config.guests = server::config::Guests::Off).await;
    let typing = json!({ "browser": uuid::Uuid::new_v4(), "name": "bob", "typing": true });
    let response = app.post_json("/api/rooms/general/typing", &typing).await;
    assert_eq!(response.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn where_guests_may_not_send_their_names_are_not_shown() {
    let app = spawn_app_with(|config| config.guests = server::config::Guests::Off).await;
    let beat = json!({
        "browser": uuid::Uuid::new_v4(),
        "tab": uuid::Uuid::new_v4(),
        "name": "FREE CRYPTO at evil.example",
    });
    let response = app.post_json("/api/rooms/general/presence", &beat).await;
    assert_eq!(response.status(), 200);
    let here: serde_json::Value = response.json().await.expect("json");
    assert_eq!(here["people"], json!([]));
    assert_eq!(here["guests"], 1, "still counted as a reader");
    app.shutdown().await;
}

#[tokio::test]
async fn one_address_cannot_fill_the_room_with_made_up_pages() {
    let app = spawn_app().await;
    let beat = || json!({ "browser": uuid::Uuid::new_v4(), "tab": uuid::Uuid::new_v4() });
    for n in 0..server::presence::MAX_TABS_PER_CLIENT {
        let response = app.post_json("/api/rooms/general/presence", &beat()).await;
        assert_eq!(response.status(), 200, "page {n}");
    }
    let refused = app.post_json("/api/rooms/general/presence", &beat()).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(error_body(refused).await["error"]["code"], "too_many_pages");
    // Someone else, from another address, still is let in.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let response = other
        .post(app.url("/api/rooms/general/presence"))
        .json(&beat())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    app.shutdown().await;
}
