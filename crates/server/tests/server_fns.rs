//! The server functions the page calls refuse bad input as the JSON API
//! does: the same status, the same error body, never a 500.

mod support;

use leptos::server_fn::ServerFn;
use serde_json::{Value, json};
use support::{TestApp, error_body, spawn_app, spawn_app_at, spawn_app_with, temp_database};

const SEND: &str = <app::api::SendMessage as ServerFn>::PATH;
const HISTORY: &str = <app::api::GetMessages as ServerFn>::PATH;
const VIEWER: &str = <app::api::GetViewer as ServerFn>::PATH;
const COUNT: &str = <app::api::GetMessageCount as ServerFn>::PATH;

async fn call(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.call(path).json(body).send().await.expect("request")
}

/// The JSON answer of a call without arguments, with the session `cookie`.
async fn answer_with_cookie(app: &TestApp, path: &str, cookie: &str) -> Value {
    app.call(path)
        .header("cookie", cookie)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn send_body(text: &str) -> Value {
    json!({ "room": "general", "username": "ada", "text": text, "client_id": uuid::Uuid::now_v7() })
}

#[tokio::test]
async fn a_valid_call_stores_the_message() {
    let app = spawn_app().await;
    let response = call(&app, SEND, &send_body("hello")).await;
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(app.history("").await, [stored]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_call_with_a_session_cookie_sends_under_the_accounts_name() {
    let app = spawn_app().await;
    let cookie = app.signed_up("Grace").await;
    let response = app
        .call(SEND)
        .header("cookie", cookie)
        .json(&send_body("signed in"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(
        (&stored["username"], &stored["guest"]),
        (&json!("Grace"), &json!(false))
    );
    // And a guest may not take the name through the page either.
    let body = json!({
        "room": "general", "username": "grace", "text": "me too", "client_id": uuid::Uuid::now_v7()
    });
    let response = call(&app, SEND, &body).await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await["error"]["rule"], "taken");
    app.shutdown().await;
}

#[tokio::test]
async fn the_viewer_is_the_sessions_account_or_a_guest() {
    let app = spawn_app().await;
    let viewer = call(&app, VIEWER, &json!({})).await;
    assert_eq!(viewer.status(), 200);
    assert_eq!(
        viewer.json::<Value>().await.expect("json"),
        json!({ "account": null, "guests_may_send": true, "role": "member" })
    );

    let cookie = app.signed_up("Grace").await;
    assert_eq!(
        answer_with_cookie(&app, VIEWER, &cookie).await["account"],
        "Grace"
    );
    // A moderator's page knows it may remove others' messages.
    server::accounts::grant(&app.database_url, "grace", shared::account::Role::Moderator)
        .await
        .expect("grants");
    assert_eq!(
        answer_with_cookie(&app, VIEWER, &cookie).await["role"],
        "moderator"
    );

    // Signed out, the same cookie is nobody's.
    let signed_out = app
        .client
        .delete(app.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(signed_out.status(), 204);
    assert_eq!(
        answer_with_cookie(&app, VIEWER, &cookie).await["account"],
        Value::Null
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_message_count_is_every_stored_message_as_of_the_newest_id() {
    let (_dir, db) = temp_database();
    let app = spawn_app_at(db.clone()).await;
    let count = call(&app, COUNT, &json!({ "room": "general" })).await;
    assert_eq!(
        count.json::<Value>().await.expect("json"),
        json!({ "as_of": 0, "count": 0 })
    );
    let mut newest = Value::Null;
    for text in ["one", "two", "three"] {
        newest = app.send("ada", text).await["id"].clone();
    }
    let count = call(&app, COUNT, &json!({ "room": "general" })).await;
    assert_eq!(
        count.json::<Value>().await.expect("json"),
        json!({ "as_of": newest, "count": 3 })
    );
    app.shutdown().await;

    // A restarted server counts what the database holds.
    let app = spawn_app_at(db).await;
    let count = call(&app, COUNT, &json!({ "room": "general" })).await;
    assert_eq!(
        count.json::<Value>().await.expect("json"),
        json!({ "as_of": newest, "count": 3 })
    );
    app.shutdown().await;
}

#[tokio::test]
async fn with_guests_off_a_guest_viewer_may_not_send() {
    let app = spawn_app_with(|config| config.guests = server::config::Guests::Off).await;
    let viewer = call(&app, VIEWER, &json!({})).await;
    assert_eq!(
        viewer.json::<Value>().await.expect("json"),
        json!({ "account": null, "guests_may_send": false, "role": "member" })
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_refused_message_gets_422_with_field_and_rule() {
    let app = spawn_app().await;
    let response = call(&app, SEND, &send_body(&"a".repeat(2001))).await;
    assert_eq!(response.status(), 422);
    let body = error_body(response).await;
    assert_eq!(body["error"]["code"], "validation");
    assert_eq!(body["error"]["field"], "text");
    assert_eq!(body["error"]["rule"], "too_long");
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn malformed_arguments_get_400() {
    let app = spawn_app().await;
    for (path, body) in [
        (
            SEND,
            json!({ "room": "general", "username": 5, "text": "hi" }),
        ),
        (SEND, json!({ "room": "general", "username": "ada" })),
        (HISTORY, json!({ "room": "general", "limit": -5 })),
    ] {
        let response = call(&app, path, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            error_body(response).await["error"]["code"],
            "invalid_arguments"
        );
    }
    // A form body, as the server functions took before: not JSON.
    let response = app
        .call(SEND)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ada&text=hi&client_id=0190d0a4-8f7a-7cc4-9a51-6a1e8b0b1f6a")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_not_replaced() {
    let app = spawn_app().await;
    let client_id = uuid::Uuid::now_v7();
    let mut body =
        format!(r#"{{"room":"general","username":"ada","client_id":"{client_id}","text":"a"#)
            .into_bytes();
    body.extend_from_slice(b"\xff\xfe b\"}");
    let response = app
        .call(SEND)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "invalid_arguments"
    );
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_body_over_64_kib_gets_413() {
    let app = spawn_app().await;
    let response = call(&app, SEND, &send_body(&"a".repeat(70 * 1024))).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "payload_too_large"
    );
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_tab_catching_up_gets_its_rooms_messages_and_changes_in_log_order() {
    let app = spawn_app().await;
    let cookie = app.signed_up("ada").await;
    let created = app
        .client
        .post(app.url("/api/rooms"))
        .header("cookie", &cookie)
        .json(&json!({ "name": "random" }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let first = app.send("bob", "before").await;
    let mine = app
        .client
        .post(app.url("/api/messages"))
        .header("cookie", &cookie)
        .json(&json!({ "username": "", "text": "helo" }))
        .send()
        .await
        .expect("request")
        .json::<Value>()
        .await
        .expect("json");
    app.send_to("random", "bob", "elsewhere").await;
    let edited = app
        .client
        .patch(app.url(&format!("/api/messages/{}", mine["id"])))
        .header("cookie", &cookie)
        .json(&json!({ "text": "hello" }))
        .send()
        .await
        .expect("request");
    assert_eq!(edited.status(), 200);

    const ENTRIES: &str = <app::api::GetEntriesAfter as ServerFn>::PATH;
    let response = call(
        &app,
        ENTRIES,
        &json!({ "room": "general", "after": first["id"] }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.expect("json");
    let first_id = first["id"].as_i64().expect("id");
    // General's message, then the change to it; random's message skipped,
    // but read: the next page starts after it.
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{page}");
    assert_eq!(entries[0]["id"], mine["id"]);
    assert_eq!(entries[0]["message"]["text"], "hello", "as it now is");
    assert_eq!(entries[1]["id"], first_id + 3);
    assert_eq!(entries[1]["message"]["id"], mine["id"]);
    assert_eq!(page["through"], first_id + 3);
    assert_eq!(page["more"], false);
    let nowhere = call(&app, ENTRIES, &json!({ "room": "nowhere", "after": 0 })).await;
    assert_eq!(nowhere.status(), 404);
    app.shutdown().await;
}
