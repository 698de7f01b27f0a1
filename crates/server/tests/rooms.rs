//! Rooms through the JSON API and the event stream: who may create one,
//! the rules of their names, each room's own history, and the one stream
//! that carries every room in one id order.

mod support;

use serde_json::{Value, json};
use server::rate::RateLimit;
use support::{TestApp, error_body, spawn_app, spawn_app_with};

/// `POST /api/rooms` as the holder of `cookie` (a guest if `None`).
async fn create_room(app: &TestApp, cookie: Option<&str>, name: &str) -> reqwest::Response {
    let mut request = app.call("/api/rooms").json(&json!({ "name": name }));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("request")
}

/// Sends `text` to `room` as a guest called bob; returns the stored message.
async fn send_in(app: &TestApp, room: &str, text: &str) -> Value {
    app.send_to(room, "bob", text).await
}

async fn post_in(app: &TestApp, room: &str, body: &Value) -> reqwest::Response {
    app.post_json(&format!("/api/rooms/{room}/messages"), body)
        .await
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::get(app.url(path)).await.expect("request")
}

fn texts(page: &[Value]) -> Vec<&str> {
    page.iter()
        .map(|m| m["text"].as_str().expect("text"))
        .collect()
}

#[tokio::test]
async fn only_a_signed_in_reader_creates_rooms_whose_names_follow_the_rules() {
    let app = spawn_app().await;
    let guest = create_room(&app, None, "random").await;
    assert_eq!(guest.status(), 401);
    let ada = app.signed_up("ada").await;
    let created = create_room(&app, Some(&ada), "  Random ").await;
    assert_eq!(created.status(), 201);
    let room: Value = created.json().await.expect("json");
    assert_eq!(room["name"], "Random");
    assert_eq!(room["count"]["count"], 0);

    for (name, rule) in [
        ("random", "taken"),
        ("GENERAL", "taken"),
        // Look-alikes: a Cyrillic е, a capital I for l, full-width letters.
        ("g\u{0435}neral", "taken"),
        ("generaI", "taken"),
        ("ｇｅｎｅｒａｌ", "taken"),
        ("ʀandom", "restricted_letter"),
        ("", "required"),
        (&"x".repeat(41), "too_long"),
        ("a\u{200B}b", "invisible_character"),
        ("..", "only_punctuation"),
    ] {
        let response = create_room(&app, Some(&ada), name).await;
        assert_eq!(response.status(), 422, "{name:?}");
        let body = error_body(response).await;
        assert_eq!(body["error"]["field"], "room", "{name:?}");
        assert_eq!(body["error"]["rule"], rule, "{name:?}");
    }
    let listed: Value = app.get_json("/api/rooms").await;
    let names: Vec<&str> = listed["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|room| room["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["general", "Random"]);
    // A guest's list carries no read positions.
    assert!(listed.get("read").is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn creating_rooms_counts_against_the_accounts_send_limit() {
    let app = spawn_app_with(|config| config.send_limit = RateLimit::per_second(1, 2)).await;
    let ada = app.signed_up("ada").await;
    for name in ["one", "two"] {
        assert_eq!(create_room(&app, Some(&ada), name).await.status(), 201);
    }
    let refused = create_room(&app, Some(&ada), "three").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let listed: Value = app.get_json("/api/rooms").await;
    assert_eq!(listed["rooms"].as_array().expect("rooms").len(), 3);
    app.shutdown().await;
}

#[tokio::test]
async fn each_room_has_its_own_history_and_general_is_api_messages() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    assert_eq!(create_room(&app, Some(&ada), "random").await.status(), 201);
    for i in 1..=6 {
        let room = if i % 2 == 0 { "random" } else { "general" };
        let stored = send_in(&app, room, &format!("m{i}")).await;
        assert_eq!(stored["room"], room);
    }
    // Any case finds the room; the stored name is what comes back.
    let page: Vec<Value> = app.get_json("/api/rooms/RANDOM/messages").await;
    assert_eq!(texts(&page), ["m2", "m4", "m6"]);
    assert!(page.iter().all(|m| m["room"] == "random"));
    let general = app.history("").await;
    assert_eq!(texts(&general), ["m1", "m3", "m5"]);
    assert_eq!(
        texts(&app.history("?limit=2").await),
        ["m3", "m5"],
        "general's pages are its own"
    );
    let before = page[1]["id"].as_i64().expect("id");
    let older: Vec<Value> = app
        .get_json(&format!("/api/rooms/random/messages?before={before}"))
        .await;
    assert_eq!(texts(&older), ["m2"]);
    let after = page[0]["id"].as_i64().expect("id");
    let newer: Vec<Value> = app
        .get_json(&format!("/api/rooms/random/messages?after={after}"))
        .await;
    assert_eq!(texts(&newer), ["m4", "m6"]);
    // Each room's count is its own.
    let listed: Value = app.get_json("/api/rooms").await;
    let counts: Vec<u64> = listed["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|room| room["count"]["count"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, [3, 3]);
    app.shutdown().await;
}

#[tokio::test]
async fn an_unknown_room_is_404_and_stores_nothing() {
    let app = spawn_app().await;
    let response = get(&app, "/api/rooms/nowhere/messages").await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_body(response).await["error"]["code"], "no_such_room");
    let response = post_in(&app, "nowhere", &json!({ "username": "ada", "text": "hi" })).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_body(response).await["error"]["code"], "no_such_room");
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn one_stream_carries_every_room_in_one_id_order_and_resumes_across_them() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    for name in ["random", "rust"] {
        assert_eq!(create_room(&app, Some(&ada), name).await.status(), 201);
    }
    let mut stream = app.events_on_new_connection("", None).await;
    let rooms = ["general", "random", "rust", "random", "general", "rust"];
    for (i, room) in rooms.iter().enumerate() {
        send_in(&app, room, &format!("m{i}")).await;
    }
    let events = stream.take(rooms.len()).await;
    let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let seen: Vec<&str> = events
        .iter()
        .map(|(_, m)| m["room"].as_str().expect("room"))
        .collect();
    assert_eq!(seen, rooms, "each event names its room");
    // One Last-Event-ID resumes every room after it.
    let mut resumed = app.events_on_new_connection("", Some(events[2].0)).await;
    let rest = resumed.take(3).await;
    assert_eq!(rest.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids[3..]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_created_room_is_announced_on_every_stream_and_only_once_created() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    send_in(&app, "general", "before").await;
    let mut stream = app.events_on_new_connection("", None).await;
    // Refused: nothing to announce.
    assert_eq!(create_room(&app, Some(&ada), "General").await.status(), 422);
    assert_eq!(create_room(&app, Some(&ada), "Random").await.status(), 201);
    let announced = stream.next_passing("room").await;
    assert_eq!(
        announced,
        json!({ "name": "Random", "kind": "public", "count": { "as_of": 1, "count": 0 } })
    );
    // A stream opened later finds it in the list instead: not replayed.
    let mut later = app.events_on_new_connection("", None).await;
    send_in(&app, "random", "first").await;
    let next = later.next().await.expect("stream open");
    assert_eq!(next.kind, None, "the message, not an old announcement");
    app.shutdown().await;
}

#[tokio::test]
async fn a_signed_in_readers_position_is_kept_and_never_moves_back() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let mark = |room: &'static str, last_read: i64, count: u64| {
        let path = <app::api::MarkRead as leptos::server_fn::ServerFn>::PATH;
        app.call(path)
            .header("cookie", ada.clone())
            .json(&json!({ "room": room, "position": { "last_read": last_read, "count": count } }))
            .send()
    };
    assert_eq!(mark("general", 5, 2).await.expect("request").status(), 200);
    assert_eq!(mark("general", 3, 1).await.expect("request").status(), 200);
    assert_eq!(mark("nowhere", 3, 1).await.expect("request").status(), 404);
    let listed: Value = app.get_json_as("/api/rooms", &ada).await;
    assert_eq!(
        listed["read"],
        json!({ "general": { "last_read": 5, "count": 2 } })
    );
    app.shutdown().await;
}

#[tokio::test]
async fn read_positions_count_against_the_accounts_send_limit() {
    let app = spawn_app_with(|config| config.send_limit = RateLimit::per_second(1, 2)).await;
    let ada = app.signed_up("ada").await;
    let path = <app::api::MarkRead as leptos::server_fn::ServerFn>::PATH;
    let mut statuses = Vec::new();
    for last_read in 1..=3 {
        let body = json!({ "room": "general", "position": { "last_read": last_read, "count": 1 } });
        let response = app
            .call(path)
            .header("cookie", &ada)
            .json(&body)
            .send()
            .await
            .expect("request");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    app.shutdown().await;
}

#[tokio::test]
async fn creating_a_room_from_another_site_is_refused() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let response = app
        .call("/api/rooms")
        .header("cookie", &ada)
        .header("origin", "https://evil.example")
        .json(&json!({ "name": "phished" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    let listed: Value = app.get_json("/api/rooms").await;
    assert_eq!(listed["rooms"].as_array().expect("rooms").len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_room_page_is_rendered_with_its_own_messages_and_the_rooms_beside_them() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    assert_eq!(
        create_room(&app, Some(&ada), "café au lait").await.status(),
        201
    );
    send_in(&app, "café au lait", "in the room").await;
    send_in(&app, "general", "in general").await;

    let page = get(&app, "/r/caf%C3%A9%20au%20lait").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("in the room"), "{html}");
    assert!(
        !html.contains("in general"),
        "general's message is not this room's"
    );
    assert!(
        html.contains("<title>café au lait · Chat</title>"),
        "{html}"
    );
    // The sidebar links every room, the room shown marked as the current page.
    assert!(
        html.contains(r#"href="/r/caf%C3%A9%20au%20lait""#),
        "{html}"
    );
    assert!(html.contains(r#"href="/""#), "{html}");
    assert!(html.contains(r#"aria-current="page""#), "{html}");

    let general = get(&app, "/").await.text().await.expect("html");
    assert!(general.contains("in general") && !general.contains("in the room"));

    let missing = get(&app, "/r/nowhere").await;
    assert_eq!(missing.status(), 404);
    let missing = missing.text().await.expect("html");
    assert!(missing.contains("There is no room called"), "{missing}");
    // Found whatever the case or look-alike letters, and sent to the room's
    // own spelling, so the page holds the name as the room spells it.
    let client = support::no_redirects();
    for (other, own) in [
        ("/r/CAF%C3%89%20AU%20LAIT", "/r/caf%C3%A9%20au%20lait"),
        ("/r/generaI", "/"),
    ] {
        let response = client.get(app.url(other)).send().await.expect("request");
        assert_eq!(response.status(), 308, "{other}");
        assert_eq!(response.headers()["location"], own, "{other}");
    }
    assert_eq!(get(&app, "/r/CAF%C3%89%20AU%20LAIT").await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn one_account_creates_at_most_its_share_of_rooms() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    for i in 0..server::rooms::ROOMS_PER_ACCOUNT {
        let response = create_room(&app, Some(&ada), &format!("ada {i}")).await;
        assert_eq!(response.status(), 201, "room {i}");
    }
    let refused = create_room(&app, Some(&ada), "one more").await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        error_body(refused).await["error"]["code"],
        "too_many_rooms_of_yours"
    );
    // Others still may.
    let bob = app.signed_up("bob").await;
    assert_eq!(create_room(&app, Some(&bob), "bob's").await.status(), 201);
    app.shutdown().await;
}

#[tokio::test]
async fn one_address_creates_a_few_rooms_a_day_whoever_is_signed_in() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let per_day = server::rooms::ROOMS_PER_ADDRESS_PER_DAY;
    for i in 0..per_day {
        // Taking turns: neither account reaches its own share.
        let who = if i % 2 == 0 { &ada } else { &bob };
        let response = create_room(&app, Some(who.as_str()), &format!("room {i}")).await;
        assert_eq!(response.status(), 201, "room {i}");
    }
    let refused = create_room(&app, Some(&ada), "one more").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_body(refused).await["error"]["code"], "rate_limited");
    app.shutdown().await;
}

#[tokio::test]
async fn the_new_room_page_creates_a_room_or_shows_why_not_with_what_was_typed() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let client = support::no_redirects();
    let page = |cookie: Option<&str>| {
        let mut request = client.get(app.url("/rooms/new"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let post = |form: &[(&str, &str)]| {
        client
            .post(app.url("/rooms/new"))
            .header("cookie", &ada)
            .form(form)
            .send()
    };

    // A guest is asked to sign in; an account gets the form, script-free.
    let guest = page(None).await.expect("request");
    assert_eq!(guest.status(), 200);
    let html = guest.text().await.expect("html");
    assert!(
        html.contains("sign-in-first") && !html.contains("new-room-form"),
        "{html}"
    );
    let form = page(Some(&ada)).await.expect("request");
    // The way back goes to the room the reader came from.
    let from_a_room = app.page_html("/rooms/new?room=caf%C3%A9", Some(&ada)).await;
    assert!(
        from_a_room.contains(r#"name="room" value="café""#)
            && from_a_room.contains(r#"href="/r/caf%C3%A9""#),
        "{from_a_room}"
    );
    assert!(
        form.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|csp| csp.contains("script-src 'none'"))
    );
    assert!(form.text().await.expect("html").contains("new-room-form"));

    // Created as `POST /api/rooms` creates, private when ticked, then on
    // to the room's page.
    let made = post(&[("name", " Plans "), ("private", "on")])
        .await
        .expect("request");
    assert_eq!(made.status(), 303);
    assert_eq!(made.headers()["location"], "/r/Plans");
    let rooms: Value = app.get_json_as("/api/rooms", &ada).await;
    let plans = rooms["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|room| room["name"] == "Plans")
        .expect("listed");
    assert_eq!(plans["kind"], "private");
    assert!(
        reqwest::get(app.url("/api/rooms/Plans/messages"))
            .await
            .expect("request")
            .status()
            == 404,
        "a private room is nobody else's"
    );

    // Refused: the form again, with the rule and the name as typed.
    let taken = post(&[("name", "GENERAL")]).await.expect("request");
    assert_eq!(taken.status(), 422);
    let html = taken.text().await.expect("html");
    assert!(
        html.contains("room-error") && html.contains("a room with this room name exists"),
        "{html}"
    );
    assert!(html.contains(r#"value="GENERAL""#), "{html}");
    let long = post(&[("name", &"x".repeat(41))]).await.expect("request");
    assert_eq!(long.status(), 422);
    assert!(
        long.text()
            .await
            .expect("html")
            .contains("room name must be at most 40 characters")
    );

    // A guest's post, and another site's, create nothing.
    let as_guest = client
        .post(app.url("/rooms/new"))
        .form(&[("name", "lobby")])
        .send()
        .await
        .expect("request");
    assert_eq!(as_guest.status(), 401);
    let forged = app
        .post_form_from_another_site("/rooms/new", Some(&ada), &[("name", "lobby")])
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        get(&app, "/api/rooms/lobby/messages").await.status(),
        404,
        "no room was made"
    );
    app.shutdown().await;
}
