//! Only the site's own pages change the chat, and only its own host names
//! are answered, on every path (see `server::site`).

mod support;

use leptos::server_fn::ServerFn;
use serde_json::json;
use support::{error_body, spawn_app, spawn_app_with, status_line};

const SEND: &str = <app::api::SendMessage as ServerFn>::PATH;

#[tokio::test]
async fn a_post_from_another_sites_page_is_refused_and_not_stored() {
    let app = spawn_app().await;
    let body = json!({ "username": "mallory", "text": "hi" });
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let response = app
            .client
            .post(app.url("/api/messages"))
            .header(name, value)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403, "{name}: {value}");
        assert_eq!(error_body(response).await["error"]["code"], "cross_site");
    }
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_function_call_from_another_site_is_refused_and_not_stored() {
    let app = spawn_app().await;
    // What a form on another site's page sends: no preflight needed.
    let response = app
        .call(SEND)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=mallory&text=hi&client_id=0190d0a4-8f7a-7cc4-9a51-6a1e8b0b1f6a")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    assert_eq!(error_body(response).await["error"]["code"], "cross_site");
    app.assert_nothing_stored().await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_sites_own_pages_and_non_browsers_may_send() {
    let app = spawn_app().await;
    let own = format!("http://{}", app.addr);
    let localhost = format!("http://localhost:{}", app.addr.port());
    for origin in [Some(own.as_str()), Some(localhost.as_str()), None] {
        let mut request = app.client.post(app.url("/api/messages"));
        if let Some(origin) = origin {
            request = request
                .header("origin", origin)
                .header("sec-fetch-site", "same-origin");
        }
        let response = request
            .json(&json!({ "username": "ada", "text": "hi" }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 201, "{origin:?}");
    }
    assert_eq!(app.history("").await.len(), 3);
    app.shutdown().await;
}

#[tokio::test]
async fn requests_for_another_host_name_are_refused_on_every_path() {
    let app = spawn_app().await;
    for head in [
        // An event stream, which would leave hyper once accepted.
        "GET /api/events HTTP/1.1\r\nHost: rebound.example\r\n\r\n",
        "GET /api/events HTTP/1.1\r\nHost: rebound.example:80\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nHost: rebound.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: rebound.example\r\n\r\n",
    ] {
        assert_eq!(
            status_line(app.addr, head).await,
            "HTTP/1.1 421 Misdirected Request",
            "{head:?}"
        );
    }
    let own = format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    assert_eq!(status_line(app.addr, &own).await, "HTTP/1.1 200 OK");
    app.shutdown().await;
}

#[tokio::test]
async fn the_health_check_answers_whatever_host_a_load_balancer_names() {
    // Balancers check each server by its own address, not the site's name.
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://chat.example.org".into());
    })
    .await;
    for host in ["10.0.0.5:3000", "chat.example.org"] {
        let head = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(
            status_line(app.addr, &head).await,
            "HTTP/1.1 200 OK",
            "{host}"
        );
    }
    let page = "GET / HTTP/1.1\r\nHost: 10.0.0.5:3000\r\n\r\n";
    assert_eq!(
        status_line(app.addr, page).await,
        "HTTP/1.1 421 Misdirected Request"
    );
    app.shutdown().await;
}
