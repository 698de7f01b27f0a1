//! Private rooms: seen by their members alone. Every way to a room's
//! content refuses anyone else as if the room did not exist (`404
//! no_such_room`, or `no_such_message` by a message's id), the room list
//! leaves it out, and the one stream per browser carries its messages,
//! changes, presence and typing to members' streams alone, from the
//! moment they are added to the moment they are taken out.

mod support;

use leptos::server_fn::ServerFn;
use serde_json::{Value, json};
use server::rate::RateLimit;
use support::{EventReader, TestApp, error_body, spawn_app_with};

const HISTORY: &str = <app::api::GetMessages as ServerFn>::PATH;
const COUNT: &str = <app::api::GetMessageCount as ServerFn>::PATH;
const MARK_READ: &str = <app::api::MarkRead as ServerFn>::PATH;
const ENTRIES: &str = <app::api::GetEntriesAfter as ServerFn>::PATH;

async fn app() -> TestApp {
    spawn_app_with(|config| {
        config.send_limit = RateLimit::Off;
        config.read_limit = RateLimit::Off;
    })
    .await
}

/// A request to `path` as the holder of `cookie` (a guest if `None`).
fn request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = app.client.request(method, app.url(path));
    match cookie {
        Some(cookie) => request.header("cookie", cookie),
        None => request,
    }
}

async fn create(app: &TestApp, cookie: &str, name: &str, private: bool) -> reqwest::Response {
    request(app, reqwest::Method::POST, "/api/rooms", Some(cookie))
        .json(&json!({ "name": name, "private": private }))
        .send()
        .await
        .expect("request")
}

/// Sends `text` to `room` as the holder of `cookie` (a guest called
/// `guest` if `None`).
async fn send(app: &TestApp, cookie: Option<&str>, room: &str, text: &str) -> reqwest::Response {
    request(
        app,
        reqwest::Method::POST,
        &format!("/api/rooms/{room}/messages"),
        cookie,
    )
    .json(&json!({ "username": "guest", "text": text }))
    .send()
    .await
    .expect("request")
}

async fn sent(app: &TestApp, cookie: Option<&str>, room: &str, text: &str) -> Value {
    let response = send(app, cookie, room, text).await;
    assert_eq!(response.status(), 201, "send to {room}");
    response.json().await.expect("json")
}

/// The event stream of the holder of `cookie` (a guest's if `None`), on a
/// connection of its own, resuming after `after` if given.
async fn stream(app: &TestApp, cookie: Option<&str>, after: Option<i64>) -> EventReader {
    let mut request = reqwest::Client::new().get(app.url("/api/events"));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(after) = after {
        request = request.header("last-event-id", after.to_string());
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    EventReader::from_response(response)
}

/// The texts of the next entries of `events` up to and including the one
/// saying `last` (a public message sent after what is looked for, so that
/// whatever a stream was going to carry before it has arrived).
async fn texts_through(events: &mut EventReader, last: &str) -> Vec<String> {
    let mut texts = Vec::new();
    loop {
        let (_, _, message) = events.take_entries(1).await.remove(0);
        let text = message["text"].as_str().expect("text").to_owned();
        let done = text == last;
        texts.push(text);
        if done {
            return texts;
        }
    }
}

/// `form` to post to `path` as a browser posts it, as the holder of
/// `cookie`, through `client`.
fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
}

async fn listed(app: &TestApp, cookie: Option<&str>) -> Vec<String> {
    let response = request(app, reqwest::Method::GET, "/api/rooms", cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let directory: Value = response.json().await.expect("json");
    directory["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|room| room["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn private_rooms_and_direct_conversations_are_refused_on_every_path_to_anyone_else() {
    refused_on_every_path(app().await).await;
}

#[tokio::test]
async fn postgres_private_rooms_and_direct_conversations_are_refused_on_every_path_to_anyone_else()
{
    let Some(url) = support::postgres::fresh_database().await else {
        return;
    };
    let app = support::spawn_app_on_with(&url, |config| {
        config.send_limit = RateLimit::Off;
        config.read_limit = RateLimit::Off;
    })
    .await;
    refused_on_every_path(app).await;
}

/// Every path of a private room and of a direct conversation, for a guest
/// and another account: the answer for a room never made.
async fn refused_on_every_path(app: TestApp) {
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let created = create(&app, &ada, "secret", true).await;
    assert_eq!(created.status(), 201);
    let room: Value = created.json().await.expect("json");
    assert_eq!(room["kind"], "private");
    let message = sent(&app, Some(&ada), "secret", "for members").await;
    let id = message["id"].as_i64().expect("id");
    // And a direct conversation of ada and cara.
    let cara = app.signed_up("cara").await;
    let direct = request(&app, reqwest::Method::POST, "/api/direct", Some(&ada))
        .json(&json!({ "usernames": ["cara"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(direct.status(), 200);
    let direct: Value = direct.json().await.expect("json");
    let direct = direct["name"].as_str().expect("name").to_owned();
    let escaped = shared::room::path_segment(&direct);
    let said = request(
        &app,
        reqwest::Method::POST,
        &format!("/api/rooms/{escaped}/messages"),
        Some(&cara),
    )
    .json(&json!({ "username": "cara", "text": "for members" }))
    .send()
    .await
    .expect("request");
    assert_eq!(said.status(), 201);
    let said: Value = said.json().await.expect("json");
    let said = said["id"].as_i64().expect("id");

    // Each path, with `{room}` or `{id}` where the room or the message
    // goes: the private room's answer must be the answer for a room never
    // made (`nowhere`) or an id never used, and a refusal.
    let paths: Vec<(reqwest::Method, &str, Value)> = vec![
        (
            reqwest::Method::GET,
            "/api/rooms/{room}/messages",
            Value::Null,
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/{room}/messages",
            json!({ "username": "guest", "text": "in" }),
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/{room}/presence",
            json!({ "tab": uuid::Uuid::now_v7(), "browser": uuid::Uuid::now_v7() }),
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/{room}/typing",
            json!({ "typing": true, "browser": uuid::Uuid::now_v7(), "name": "guest" }),
        ),
        (
            reqwest::Method::GET,
            "/api/rooms/{room}/members",
            Value::Null,
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/{room}/members",
            json!({ "username": "bob" }),
        ),
        (
            reqwest::Method::DELETE,
            "/api/rooms/{room}/members/ada",
            Value::Null,
        ),
        (
            reqwest::Method::PUT,
            "/api/rooms/{room}/members/ada",
            json!({ "owner": false }),
        ),
        (
            reqwest::Method::PATCH,
            "/api/rooms/{room}",
            json!({ "locked": true }),
        ),
        (
            reqwest::Method::GET,
            "/api/rooms/{room}/invites",
            Value::Null,
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/{room}/invites",
            json!({}),
        ),
        (
            reqwest::Method::DELETE,
            "/api/rooms/{room}/invites/0123456789abcdef0123456789abcdef",
            Value::Null,
        ),
        (
            reqwest::Method::PATCH,
            "/api/messages/{id}",
            json!({ "text": "changed" }),
        ),
        (reqwest::Method::DELETE, "/api/messages/{id}", json!({})),
        (
            reqwest::Method::PUT,
            "/api/messages/{id}/reactions/%F0%9F%91%8D",
            json!({ "browser": uuid::Uuid::now_v7(), "name": "guest" }),
        ),
        (
            reqwest::Method::GET,
            "/api/messages/{id}/versions",
            Value::Null,
        ),
        (
            reqwest::Method::POST,
            "/api/messages/{id}/reports",
            json!({ "reason": "peeking" }),
        ),
        (
            reqwest::Method::POST,
            HISTORY,
            json!({ "room": "{room}", "before": null, "limit": null }),
        ),
        (reqwest::Method::POST, COUNT, json!({ "room": "{room}" })),
        (
            reqwest::Method::POST,
            MARK_READ,
            json!({ "room": "{room}", "position": { "last_read": 1, "count": 1 } }),
        ),
        (
            reqwest::Method::POST,
            ENTRIES,
            json!({ "room": "{room}", "after": 0, "limit": null }),
        ),
    ];
    let answer = |method: reqwest::Method, path: String, body: Value, cookie: Option<&str>| {
        let mut call = request(&app, method, &path, cookie);
        if !body.is_null() {
            call = call.json(&body);
        }
        async move {
            let response = call.send().await.expect("request");
            let status = response.status().as_u16();
            let code = error_body(response).await["error"]["code"].clone();
            (status, code)
        }
    };
    let fill = |text: &str, room: &str, id: i64| {
        text.replace("{room}", room)
            .replace("{id}", &id.to_string())
    };
    let rooms = [("secret", id), (direct.as_str(), said)];
    for (who, cookie) in [("a guest", None), ("another account", Some(bob.as_str()))] {
        for (room, id) in rooms {
            let in_path = shared::room::path_segment(room);
            for (method, path, body) in &paths {
                let body_for = |room: &str, id: i64| {
                    serde_json::from_str::<Value>(&fill(&body.to_string(), room, id)).expect("json")
                };
                let seen = answer(
                    method.clone(),
                    fill(path, &in_path, id),
                    body_for(room, id),
                    cookie,
                )
                .await;
                let never = answer(
                    method.clone(),
                    fill(path, "nowhere", 999_999),
                    body_for("nowhere", 999_999),
                    cookie,
                )
                .await;
                assert_eq!(seen, never, "{who}: {method} {path} of {room}");
                assert!(
                    (400..500).contains(&seen.0),
                    "{who}: {method} {path} of {room}: {seen:?}"
                );
            }
            let page = request(&app, reqwest::Method::GET, &format!("/r/{in_path}"), cookie)
                .send()
                .await
                .expect("request");
            assert_eq!(page.status(), 404, "{who}: the page of {room}");
            let html = page.text().await.expect("html");
            assert!(
                !html.contains("for members"),
                "{who}: the page of {room} holds nothing of it"
            );
        }
        assert_eq!(listed(&app, cookie).await, ["general"], "{who}: the list");
    }

    // Its members see it everywhere.
    assert_eq!(
        listed(&app, Some(&ada)).await,
        ["general", "secret", direct.as_str()]
    );
    let page = request(&app, reqwest::Method::GET, "/r/secret", Some(&ada))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("for members"));
    let history = request(
        &app,
        reqwest::Method::GET,
        "/api/rooms/secret/messages",
        Some(&ada),
    )
    .send()
    .await
    .expect("request");
    assert_eq!(history.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn streams_carry_a_private_room_to_its_members_alone_from_added_to_taken_out() {
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    assert_eq!(create(&app, &ada, "secret", true).await.status(), 201);
    let mut ada_events = stream(&app, Some(&ada), None).await;
    let mut bob_events = stream(&app, Some(&bob), None).await;
    let mut guest_events = stream(&app, None, None).await;

    sent(&app, Some(&ada), "secret", "one").await;
    sent(&app, None, "general", "mark 1").await;
    assert_eq!(
        texts_through(&mut ada_events, "mark 1").await,
        ["one", "mark 1"]
    );
    assert_eq!(texts_through(&mut bob_events, "mark 1").await, ["mark 1"]);
    assert_eq!(texts_through(&mut guest_events, "mark 1").await, ["mark 1"]);

    // A replay after an id leaves it out too.
    let mut replayed = stream(&app, Some(&bob), Some(0)).await;
    assert_eq!(texts_through(&mut replayed, "mark 1").await, ["mark 1"]);

    // Added: bob's open stream carries it from then on, and he may write.
    let added = request(
        &app,
        reqwest::Method::POST,
        "/api/rooms/secret/members",
        Some(&ada),
    )
    .json(&json!({ "username": "bob" }))
    .send()
    .await
    .expect("request");
    assert_eq!(added.status(), 200);
    assert_eq!(
        added.json::<Value>().await.expect("json"),
        json!({ "username": "bob", "owner": false })
    );
    assert_eq!(listed(&app, Some(&bob)).await, ["general", "secret"]);
    sent(&app, Some(&bob), "secret", "two").await;
    sent(&app, None, "general", "mark 2").await;
    assert_eq!(
        texts_through(&mut bob_events, "mark 2").await,
        ["two", "mark 2"]
    );
    assert_eq!(texts_through(&mut guest_events, "mark 2").await, ["mark 2"]);
    assert_eq!(
        texts_through(&mut ada_events, "mark 2").await,
        ["two", "mark 2"]
    );

    // Taken out: at once, his stream no longer carries it.
    let removed = request(
        &app,
        reqwest::Method::DELETE,
        "/api/rooms/secret/members/bob",
        Some(&ada),
    )
    .send()
    .await
    .expect("request");
    assert_eq!(removed.status(), 204);
    // His streams are told, so that his pages drop it.
    assert_eq!(
        bob_events.next_passing("room_left").await,
        json!({ "room": "secret" })
    );
    sent(&app, Some(&ada), "secret", "three").await;
    sent(&app, None, "general", "mark 3").await;
    assert_eq!(texts_through(&mut bob_events, "mark 3").await, ["mark 3"]);
    assert_eq!(
        texts_through(&mut ada_events, "mark 3").await,
        ["three", "mark 3"]
    );
    assert_eq!(send(&app, Some(&bob), "secret", "four").await.status(), 404);
    assert_eq!(listed(&app, Some(&bob)).await, ["general"]);
    app.shutdown().await;
}

#[tokio::test]
async fn presence_and_typing_in_a_private_room_reach_its_members_alone() {
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    assert_eq!(create(&app, &ada, "secret", true).await.status(), 201);
    let mut bob_events = stream(&app, Some(&bob), None).await;
    let mut ada_events = stream(&app, Some(&ada), None).await;

    let beat = request(
        &app,
        reqwest::Method::POST,
        "/api/rooms/secret/presence",
        Some(&ada),
    )
    .json(&json!({ "tab": uuid::Uuid::now_v7(), "browser": uuid::Uuid::now_v7() }))
    .send()
    .await
    .expect("request");
    assert_eq!(beat.status(), 200);
    let typing = request(
        &app,
        reqwest::Method::POST,
        "/api/rooms/secret/typing",
        Some(&ada),
    )
    .json(&json!({ "typing": true, "browser": uuid::Uuid::now_v7() }))
    .send()
    .await
    .expect("request");
    assert_eq!(typing.status(), 204);
    assert_eq!(ada_events.next_passing("typing").await["room"], "secret");
    // Then something bob may see; nothing of the room came before it.
    let beat = request(
        &app,
        reqwest::Method::POST,
        "/api/rooms/general/presence",
        Some(&ada),
    )
    .json(&json!({ "tab": uuid::Uuid::now_v7(), "browser": uuid::Uuid::now_v7() }))
    .send()
    .await
    .expect("request");
    assert_eq!(beat.status(), 200);
    loop {
        let event = bob_events.next().await.expect("open");
        assert!(
            !event.data.contains("secret"),
            "bob heard of the room: {}",
            event.data
        );
        if event.kind.as_deref() == Some("presence") && event.data.contains("general") {
            break;
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn owners_and_admins_manage_members_and_a_member_may_leave() {
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let carol = app.signed_up("carol").await;
    let root = app.signed_up_as("root", shared::account::Role::Admin).await;
    app.signed_up("dave").await;
    assert_eq!(create(&app, &ada, "secret", true).await.status(), 201);
    assert_eq!(create(&app, &ada, "open", false).await.status(), 201);
    let call = |method: reqwest::Method, path: &str, cookie: &str, body: Value| {
        let mut call = request(&app, method, path, Some(cookie));
        if !body.is_null() {
            call = call.json(&body);
        }
        async move { call.send().await.expect("request") }
    };
    let members = "/api/rooms/secret/members";
    let code = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (
            status,
            error_body(response).await["error"]["code"]
                .as_str()
                .expect("code")
                .to_owned(),
        )
    };
    assert_eq!(
        call(
            reqwest::Method::POST,
            members,
            &ada,
            json!({ "username": "bob" })
        )
        .await
        .status(),
        200
    );
    // A member who is no owner may not add anyone.
    let refused = call(
        reqwest::Method::POST,
        members,
        &bob,
        json!({ "username": "carol" }),
    )
    .await;
    assert_eq!(code(refused).await, (403, "not_owner".to_owned()));
    let made = call(
        reqwest::Method::PUT,
        &format!("{members}/bob"),
        &ada,
        json!({ "owner": true }),
    )
    .await;
    assert_eq!(made.status(), 200);
    assert_eq!(
        call(
            reqwest::Method::POST,
            members,
            &bob,
            json!({ "username": "carol" })
        )
        .await
        .status(),
        200
    );
    // Carol may not take bob out, but may leave.
    let refused = call(
        reqwest::Method::DELETE,
        &format!("{members}/bob"),
        &carol,
        Value::Null,
    )
    .await;
    assert_eq!(code(refused).await, (403, "not_owner".to_owned()));
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            &format!("{members}/carol"),
            &carol,
            Value::Null
        )
        .await
        .status(),
        204
    );
    let gone = call(reqwest::Method::GET, members, &carol, Value::Null).await;
    assert_eq!(code(gone).await, (404, "no_such_room".to_owned()));
    // An admin, no member, manages it all the same (and so sees it is there).
    let listed = call(reqwest::Method::GET, members, &root, Value::Null).await;
    assert_eq!(listed.status(), 200);
    assert_eq!(
        listed.json::<Value>().await.expect("json"),
        json!([{ "username": "ada", "owner": true }, { "username": "bob", "owner": true }])
    );
    assert_eq!(
        call(
            reqwest::Method::POST,
            members,
            &root,
            json!({ "username": "dave" })
        )
        .await
        .status(),
        200
    );
    // Mistakes say what they are.
    let unknown = call(
        reqwest::Method::POST,
        members,
        &ada,
        json!({ "username": "nobody" }),
    )
    .await;
    assert_eq!(code(unknown).await, (404, "no_such_account".to_owned()));
    let not_member = call(
        reqwest::Method::DELETE,
        &format!("{members}/carol"),
        &ada,
        Value::Null,
    )
    .await;
    assert_eq!(code(not_member).await, (404, "no_such_member".to_owned()));
    let public = call(
        reqwest::Method::GET,
        "/api/rooms/open/members",
        &ada,
        Value::Null,
    )
    .await;
    assert_eq!(code(public).await, (409, "not_private".to_owned()));
    let guest = request(&app, reqwest::Method::POST, "/api/rooms", None)
        .json(&json!({ "name": "mine", "private": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(guest.status(), 401);
    // A private room's name is taken for everyone, as any room's.
    let taken = create(&app, &carol, "Secret", false).await;
    assert_eq!(taken.status(), 422);
    app.shutdown().await;
}

#[tokio::test]
async fn the_members_page_lists_them_and_its_forms_manage_them() {
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    assert_eq!(create(&app, &ada, "secret", true).await.status(), 201);
    let no_redirects = support::no_redirects();
    let get = |cookie: &str| {
        no_redirects
            .get(app.url("/r/secret/members"))
            .header("cookie", cookie)
            .send()
    };
    let post = |path: &str, cookie: &str, form: &[(&str, &str)]| {
        post_form(&no_redirects, &app, path, cookie, form).send()
    };
    // To bob, not a member, it is no room.
    assert_eq!(get(&bob).await.expect("request").status(), 404);
    let page = get(&ada).await.expect("request");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(csp.contains("script-src 'none'"), "{csp}");
    let html = page.text().await.expect("html");
    assert!(html.contains("ada") && html.contains("(owner)"), "{html}");
    assert!(html.contains("data-test=\"add-member-form\""), "{html}");

    // The add form, as a browser posts it: back to the page, saying so.
    let added = post("/r/secret/members", &ada, &[("username", "bob")])
        .await
        .expect("request");
    assert_eq!(added.status(), 303);
    let location = added.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("/r/secret/members?done="),
        "{location}"
    );
    assert_eq!(listed(&app, Some(&bob)).await, ["general", "secret"]);
    // Bob, no owner, sees the list and a Leave button but no add form.
    let html = get(&bob)
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        !html.contains("add-member-form") && html.contains("Leave"),
        "{html}"
    );
    // A form posted from another site is refused.
    let forged = app
        .post_form_from_another_site("/r/secret/members/bob/remove", Some(&ada), &[])
        .await;
    assert_eq!(forged.status(), 403);
    // Bob leaves: back to the chat, and the room is gone for him.
    let left = post("/r/secret/members/bob/remove", &bob, &[])
        .await
        .expect("request");
    assert_eq!(left.status(), 303);
    assert_eq!(left.headers()["location"], "/");
    assert_eq!(listed(&app, Some(&bob)).await, ["general"]);
    // A refusal comes back to the page as its error.
    let refused = post("/r/secret/members", &ada, &[("username", "nobody")])
        .await
        .expect("request");
    let location = refused.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("/r/secret/members?error="),
        "{location}"
    );
    app.shutdown().await;
}

/// `method` on `path` as the holder of `cookie`, with a JSON `body` unless
/// it is `null`: the status and the JSON answer (`null` if none).
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = request(app, method, path, cookie);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    };
    (status, json)
}

#[tokio::test]
async fn an_invite_link_lets_signed_in_people_join_until_it_runs_out_or_is_revoked() {
    use reqwest::Method;
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let cara = app.signed_up("cara").await;
    let dan = app.signed_up("dan").await;
    assert_eq!(create(&app, &ada, "secret", true).await.status(), 201);
    let invites = "/api/rooms/secret/invites";

    // Only its owners (and admins) make them; to anyone else the room is
    // no room; a public room has no invites.
    let two_uses = json!({ "expires_in_secs": 3600, "uses": 2 });
    for cookie in [Some(bob.as_str()), None] {
        let (status, body) = call(&app, Method::POST, invites, cookie, two_uses.clone()).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (404, &json!("no_such_room"))
        );
    }
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/rooms/general/invites",
        Some(&ada),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("not_private"))
    );
    for wrong in [
        json!({ "expires_in_secs": 10 }),
        json!({ "expires_in_secs": 40 * 24 * 3600 }),
        json!({ "uses": 0 }),
        json!({ "uses": 1001 }),
    ] {
        let (status, body) = call(&app, Method::POST, invites, Some(&ada), wrong.clone()).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (422, &json!("invalid_body")),
            "{wrong}"
        );
    }

    let (status, invite) = call(&app, Method::POST, invites, Some(&ada), two_uses).await;
    assert_eq!(status, 201, "{invite}");
    let code = invite["code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 32, "{code}");
    assert_eq!(invite["url"], app.url(&format!("/invite/{code}")));
    assert_eq!(invite["uses_left"], 2);
    let join = format!("/api/invites/{code}");

    // A guest must sign in first.
    let (status, _) = call(&app, Method::POST, &join, None, Value::Null).await;
    assert_eq!(status, 401);
    // Bob joins: his stream hears of the room, his list holds it.
    let mut bob_events = stream(&app, Some(&bob), None).await;
    let (status, room) = call(&app, Method::POST, &join, Some(&bob), Value::Null).await;
    assert_eq!(status, 200, "{room}");
    assert_eq!(
        (&room["name"], &room["kind"]),
        (&json!("secret"), &json!("private"))
    );
    assert_eq!(bob_events.next_passing("room").await["name"], "secret");
    assert_eq!(listed(&app, Some(&bob)).await, ["general", "secret"]);
    // Again: in already, no use taken.
    let (status, _) = call(&app, Method::POST, &join, Some(&bob), Value::Null).await;
    assert_eq!(status, 200);
    let (status, live) = call(&app, Method::GET, invites, Some(&ada), Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(live.as_array().expect("list").len(), 1, "{live}");
    assert_eq!(live[0]["uses_left"], 1);
    // A member who is no owner neither makes nor lists them.
    let (status, body) = call(&app, Method::GET, invites, Some(&bob), Value::Null).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("not_owner")));
    // Cara takes the last use; then it lets nobody in.
    let (status, _) = call(&app, Method::POST, &join, Some(&cara), Value::Null).await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, Method::POST, &join, Some(&dan), Value::Null).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("no_such_invite"))
    );
    let (_, live) = call(&app, Method::GET, invites, Some(&ada), Value::Null).await;
    assert_eq!(live, json!([]));

    // Revoked: nobody joins with it, and it cannot be revoked twice.
    let (status, open) = call(&app, Method::POST, invites, Some(&ada), Value::Null).await;
    assert_eq!(status, 201);
    assert_eq!(open["uses_left"], Value::Null, "any number of uses");
    let open = open["code"].as_str().expect("code").to_owned();
    let revoke = format!("{invites}/{open}");
    let (status, _) = call(&app, Method::DELETE, &revoke, Some(&ada), Value::Null).await;
    assert_eq!(status, 204);
    let (status, body) = call(&app, Method::DELETE, &revoke, Some(&ada), Value::Null).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("no_such_invite"))
    );
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/invites/{open}"),
        Some(&dan),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    // A code of the wrong shape is no invite either.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/invites/nope",
        Some(&dan),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(listed(&app, Some(&dan)).await, ["general"]);

    // A room holds twenty live links at most.
    for _ in 0..shared::room::MAX_INVITES {
        let (status, _) = call(&app, Method::POST, invites, Some(&ada), Value::Null).await;
        assert_eq!(status, 201);
    }
    let (status, body) = call(&app, Method::POST, invites, Some(&ada), Value::Null).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("too_many_invites"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_invite_links_page_names_the_room_and_joins_with_a_form() {
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let dan = app.signed_up("dan").await;
    assert_eq!(create(&app, &ada, "secret", true).await.status(), 201);
    let no_redirects = support::no_redirects();
    let post = |path: &str, cookie: &str, form: &[(&str, &str)]| {
        post_form(&no_redirects, &app, path, cookie, form).send()
    };
    let page = |path: &str, cookie: Option<&str>| {
        let request = no_redirects.get(app.url(path));
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };

    // The members page makes one, as a browser posts its form.
    let made = post(
        "/r/secret/invites",
        &ada,
        &[("expires_in_secs", "3600"), ("uses", "")],
    )
    .await
    .expect("request");
    assert_eq!(made.status(), 303);
    let location = made.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("/r/secret/members?done="),
        "{location}"
    );
    let html = page("/r/secret/members", Some(&ada))
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-test=\"invite-form\""), "{html}");
    let start = html.find("/invite/").expect("the link is shown") + "/invite/".len();
    let code = html[start..start + 32].to_owned();
    let link = format!("/invite/{code}");

    // A guest is told to sign in, on a page that comes back here; a
    // signed-in visitor sees a join button.
    let guest = page(&link, None).await.expect("request");
    assert_eq!(guest.status(), 200);
    let html = guest.text().await.expect("html");
    assert!(
        html.contains("#secret")
            && html.contains("sign-in-first")
            && html.contains(&format!(r#"href="/sign-in?invite={code}""#)),
        "{html}"
    );
    let html = page(&link, Some(&dan))
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("#secret") && html.contains("join-form"),
        "{html}"
    );
    // Posted from another site: refused.
    let forged = app
        .post_form_from_another_site(&link, Some(&dan), &[])
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(listed(&app, Some(&dan)).await, ["general"]);
    // Joined: on to the room.
    let joined = post(&link, &dan, &[]).await.expect("request");
    assert_eq!(joined.status(), 303);
    assert_eq!(joined.headers()["location"], "/r/secret");
    assert_eq!(listed(&app, Some(&dan)).await, ["general", "secret"]);

    // Revoked from the members page: the link's page says it is no more.
    let revoked = post(&format!("/r/secret/invites/{code}/revoke"), &ada, &[])
        .await
        .expect("request");
    assert_eq!(revoked.status(), 303);
    let gone = page(&link, Some(&dan)).await.expect("request");
    assert_eq!(gone.status(), 404);
    let html = gone.text().await.expect("html");
    assert!(html.contains("invite-error"), "{html}");
    assert_eq!(
        page("/invite/nope", None).await.expect("request").status(),
        404
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_direct_conversation_is_one_room_for_the_same_people_whoever_opens_it() {
    use reqwest::Method;
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let cara = app.signed_up("cara").await;
    let admin = app.signed_up_as("root", shared::account::Role::Admin).await;
    let mut bob_events = stream(&app, Some(&bob), None).await;
    let mut cara_events = stream(&app, Some(&cara), None).await;
    let open = |cookie: Option<&str>, usernames: Value| {
        let cookie = cookie.map(str::to_owned);
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/direct",
                cookie.as_deref(),
                json!({ "usernames": usernames }),
            )
            .await
        }
    };

    let (status, _) = open(None, json!(["bob"])).await;
    assert_eq!(status, 401, "guests take part in public rooms only");
    let (status, room) = open(Some(&ada), json!(["bob"])).await;
    assert_eq!(status, 200, "{room}");
    assert_eq!(room["kind"], "direct");
    assert_eq!(room["people"], json!(["ada", "bob"]));
    let name = room["name"].as_str().expect("name").to_owned();
    assert!(name.starts_with('@'), "{name}");
    // Bob's every tab hears of it at once.
    let heard = bob_events.next_passing("room").await;
    assert_eq!(
        (&heard["name"], &heard["people"]),
        (&json!(name), &json!(["ada", "bob"]))
    );
    // Whoever of them opens it, however they spell the other: the same.
    let (status, again) = open(Some(&bob), json!(["ADA", "bob"])).await;
    assert_eq!((status, &again["name"]), (200, &json!(name)));
    let (_, again) = open(Some(&ada), json!(["bob"])).await;
    assert_eq!(again["name"], json!(name));

    // Theirs alone: cara's stream never carries it, and to her it is no room.
    let path = |what: &str| format!("/api/rooms/{}/{what}", shared::room::path_segment(&name));
    let (status, _) = call(
        &app,
        Method::POST,
        &path("messages"),
        Some(&ada),
        json!({ "username": "ada", "text": "just us" }),
    )
    .await;
    assert_eq!(status, 201);
    sent(&app, None, "general", "mark").await;
    assert_eq!(
        texts_through(&mut bob_events, "mark").await,
        ["just us", "mark"]
    );
    assert_eq!(texts_through(&mut cara_events, "mark").await, ["mark"]);
    for cookie in [Some(cara.as_str()), Some(admin.as_str()), None] {
        let (status, body) = call(&app, Method::GET, &path("messages"), cookie, Value::Null).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (404, &json!("no_such_room"))
        );
        // Not even an admin lists who talks with whom.
        let (status, _) = call(&app, Method::GET, &path("members"), cookie, Value::Null).await;
        assert_eq!(status, 404);
    }
    assert_eq!(listed(&app, Some(&cara)).await, ["general"]);
    assert_eq!(listed(&app, Some(&bob)).await, ["general", name.as_str()]);

    // Its people are fixed: nobody added, taken out, made owner or invited.
    let (status, members) =
        call(&app, Method::GET, &path("members"), Some(&bob), Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(
        members,
        json!([{ "username": "ada", "owner": false }, { "username": "bob", "owner": false }])
    );
    let changes = [
        (Method::POST, path("members"), json!({ "username": "cara" })),
        (Method::DELETE, path("members/bob"), Value::Null),
        (Method::PUT, path("members/bob"), json!({ "owner": true })),
        (Method::POST, path("invites"), Value::Null),
    ];
    for (method, path, body) in changes {
        let (status, answer) = call(&app, method, &path, Some(&bob), body).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (409, &json!("direct_room")),
            "{path}"
        );
    }

    // A small group is another conversation; cara is in that one.
    let (status, group) = open(Some(&cara), json!(["bob", "ada"])).await;
    assert_eq!(status, 200);
    assert_eq!(group["people"], json!(["ada", "bob", "cara"]));
    assert_ne!(group["name"], json!(name));
    assert_eq!(
        cara_events.next_passing("room").await["name"],
        group["name"]
    );

    // Mistakes.
    let others: Vec<String> = (0..8).map(|n| format!("p{n}")).collect();
    for name in &others {
        app.signed_up(name).await;
    }
    for (usernames, code) in [
        (json!([]), "invalid_body"),
        (json!(["ada"]), "invalid_body"),
        (json!(others), "invalid_body"),
        (json!(["nobody"]), "no_such_account"),
    ] {
        let (status, body) = open(Some(&ada), usernames.clone()).await;
        assert_eq!(&body["error"]["code"], code, "{usernames}");
        assert!(status == 422 || status == 404, "{status}");
    }
    // No room may be named as a conversation is, nor look like it.
    for lookalike in ["@1-2", "\u{ff20}1-2"] {
        let made = create(&app, &ada, lookalike, false).await;
        assert_eq!(made.status(), 422, "{lookalike}");
        let body: Value = made.json().await.expect("json");
        assert_eq!(body["error"]["rule"], "reserved");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_message_form_opens_a_direct_conversation_and_its_page_names_its_people() {
    let app = app().await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let cara = app.signed_up("cara").await;
    let no_redirects = support::no_redirects();
    let post = |cookie: &str, usernames: &str| {
        post_form(
            &no_redirects,
            &app,
            "/direct",
            cookie,
            &[("usernames", usernames)],
        )
        .send()
    };
    // As the `Message` button posts it: on to the conversation's page.
    let opened = post(&ada, " Bob ").await.expect("request");
    assert_eq!(opened.status(), 303);
    let location = opened.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(location.starts_with("/r/%40"), "{location}");
    // The sidebar's box, naming her as well: the same one.
    let again = post(&bob, "ada, bob").await.expect("request");
    assert_eq!(again.headers()["location"], location.as_str());
    // Its page is theirs, titled by the other person.
    let page = |cookie: &str| {
        no_redirects
            .get(app.url(&location))
            .header("cookie", cookie)
            .send()
    };
    let html = page(&ada)
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains("<title>bob · Chat</title>"), "{html}");
    assert_eq!(page(&cara).await.expect("request").status(), 404);
    // Mistakes get a page saying why; another site's post is refused.
    let wrong = post(&ada, "nobody").await.expect("request");
    assert_eq!(wrong.status(), 404);
    let html = wrong.text().await.expect("html");
    assert!(
        html.contains("direct-error") && html.contains("nobody"),
        "{html}"
    );
    let forged = app
        .post_form_from_another_site("/direct", Some(&ada), &[("usernames", "cara")])
        .await;
    assert_eq!(forged.status(), 403);
    app.shutdown().await;
}
