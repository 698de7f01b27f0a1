//! The JSON API: sending, history pages, and every kind of bad input.

mod support;

use serde_json::{Value, json};
use support::{error_body, spawn_app};

#[tokio::test]
async fn posted_message_is_stored_and_returned_with_id_and_timestamp() {
    let app = spawn_app().await;

    let response = app
        .post(&json!({ "username": " ada ", "text": "hello\r\nworld " }))
        .await;
    assert_eq!(response.status(), 201);
    let message: Value = response.json().await.expect("json");
    assert_eq!(message["username"], "ada");
    assert_eq!(message["text"], "hello\nworld");
    assert!(message["id"].as_i64().is_some_and(|id| id > 0));
    let timestamp = message["timestamp"].as_str().expect("timestamp");
    chrono::DateTime::parse_from_rfc3339(timestamp).expect("RFC 3339 timestamp");

    assert_eq!(app.history("").await, vec![message]);
    app.shutdown().await;
}

#[tokio::test]
async fn history_is_oldest_first_with_limit_and_before() {
    let app = spawn_app().await;
    for i in 1..=5 {
        app.send("ada", &format!("m{i}")).await;
    }
    let texts = |page: &[Value]| {
        page.iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };

    let all = app.history("").await;
    assert_eq!(texts(&all), ["m1", "m2", "m3", "m4", "m5"]);
    let latest = app.history("?limit=2").await;
    assert_eq!(texts(&latest), ["m4", "m5"]);
    let before = latest[0]["id"].as_i64().expect("id");
    let older = app.history(&format!("?limit=2&before={before}")).await;
    assert_eq!(texts(&older), ["m2", "m3"]);
    let after = older[0]["id"].as_i64().expect("id");
    let newer = app.history(&format!("?limit=2&after={after}")).await;
    assert_eq!(texts(&newer), ["m3", "m4"]);
    app.shutdown().await;
}

#[tokio::test]
async fn history_limit_defaults_to_50_and_is_capped_at_500() {
    let app = spawn_app().await;
    let sends = (0..520).map(|i| {
        let app = &app;
        async move { app.send("ada", &format!("m{i}")).await }
    });
    futures::future::join_all(sends).await;
    assert_eq!(app.history("").await.len(), 50);
    assert_eq!(app.history("?limit=10000").await.len(), 500);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_history_query_gets_a_json_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/messages?limit=lots"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(error_body(response).await["error"]["code"], "invalid_query");
    app.shutdown().await;
}

#[tokio::test]
async fn rejected_messages_name_the_field_and_rule_and_are_not_stored() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "username": "", "text": "hi" }),
            "username",
            "required",
        ),
        (
            json!({ "username": "   ", "text": "hi" }),
            "username",
            "required",
        ),
        (
            json!({ "username": "x".repeat(33), "text": "hi" }),
            "username",
            "too_long",
        ),
        (
            json!({ "username": "a\u{7}b", "text": "hi" }),
            "username",
            "control_character",
        ),
        (
            json!({ "username": "ada\u{200B}", "text": "hi" }),
            "username",
            "invisible_character",
        ),
        (
            json!({ "username": "\u{3164}", "text": "hi" }),
            "username",
            "invisible_character",
        ),
        (json!({ "username": "ada", "text": "" }), "text", "required"),
        (
            json!({ "username": "ada", "text": " \n " }),
            "text",
            "required",
        ),
        (
            json!({ "username": "ada", "text": "x".repeat(2001) }),
            "text",
            "too_long",
        ),
        (
            json!({ "username": "ada", "text": "nul\u{0}byte" }),
            "text",
            "control_character",
        ),
    ];
    for (body, field, rule) in cases {
        let response = app.post(&body).await;
        assert_eq!(response.status(), 422, "{body}");
        let error = error_body(response).await;
        assert_eq!(error["error"]["code"], "validation", "{body}");
        assert_eq!(error["error"]["field"], field, "{body}");
        assert_eq!(error["error"]["rule"], rule, "{body}");
    }
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn body_over_64_kib_gets_413_and_is_not_stored() {
    let app = spawn_app().await;
    let response = app
        .post(&json!({ "username": "ada", "text": "x".repeat(70 * 1024) }))
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "payload_too_large"
    );
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_content_type_gets_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/messages"))
        .header("content-type", "text/plain")
        .body(r#"{"username":"ada","text":"hi"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "unsupported_media_type"
    );
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn malformed_json_gets_400_and_wrong_shape_gets_422() {
    let app = spawn_app().await;
    let send_raw = |body: &'static str| {
        app.client
            .post(app.url("/api/messages"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = send_raw(r#"{"username":"ada","text":"#)
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "malformed_json"
    );

    for body in [
        r#"{"username":"ada"}"#,
        r#"{"username":1,"text":"hi"}"#,
        r#"{"username":"ada","text":"hi","client_id":"nope"}"#,
    ] {
        let response = send_raw(body).await.expect("request");
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            error_body(response).await["error"]["code"],
            "invalid_body",
            "{body}"
        );
    }
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn repeated_client_id_stores_one_message() {
    let app = spawn_app().await;
    let body = json!({ "username": "ada", "text": "once", "client_id": "5f0c1a52-3c1e-4d55-9d38-0b7f2a9e8c11" });
    let first = app.post(&body).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let again = app.post(&body).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.expect("json");
    assert_eq!(first, again);
    assert_eq!(app.history("").await.len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn health_check_answers_ok() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("text"), "ok");
    app.shutdown().await;
}

#[tokio::test]
async fn every_form_refuses_a_body_over_64_kib() {
    let app = spawn_app().await;
    let cookie = app.signed_up("ada").await;
    let huge = "x".repeat(70 * 1024);
    for path in [
        "/rooms/new",
        "/sign-in",
        "/sign-out",
        "/direct",
        "/admin/blocks",
        "/r/general/invites",
    ] {
        let response = support::no_redirects()
            .post(app.url(path))
            .header(reqwest::header::COOKIE, &cookie)
            .form(&[("name", huge.as_str())])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 413, "{path}");
    }
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_form_that_cannot_be_read_gets_a_page_saying_so() {
    let app = spawn_app().await;
    let cookie = app.signed_up("ada").await;
    // A field missing, a field of the wrong kind, and another content
    // type: each a page (not axum's plain text) with axum's status.
    let refusals = [
        (
            "/sign-in",
            "username=ada",
            "application/x-www-form-urlencoded",
            422,
        ),
        (
            "/direct",
            "names=grace",
            "application/x-www-form-urlencoded",
            422,
        ),
        (
            "/r/general/invites",
            "expires_in_secs=soon",
            "application/x-www-form-urlencoded",
            422,
        ),
        (
            "/direct",
            r#"{"usernames":"grace"}"#,
            "application/json",
            415,
        ),
    ];
    for (path, body, content_type, status) in refusals {
        let response = support::no_redirects()
            .post(app.url(path))
            .header(reqwest::header::COOKIE, &cookie)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{path} {body}");
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"));
        assert!(html, "{path} {body}: not a page");
        let page = response.text().await.expect("body");
        assert!(
            page.contains("The form could not be read"),
            "{path}: {page}"
        );
        assert!(page.contains(r#"data-test="form-error""#), "{path}: {page}");
    }
    app.assert_nothing_stored().await;
    app.shutdown().await;
}
