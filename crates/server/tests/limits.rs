//! No one client can exhaust the server: sends and reads are rate-limited, streams
//! per client and connections are capped, request heads must come whole,
//! soon, and small.

mod support;

use std::{
    num::NonZeroU32,
    time::{Duration, Instant},
};

use futures::StreamExt;
use leptos::server_fn::ServerFn;
use serde_json::json;
use server::{rate::RateLimit, slots::StreamsPerIp};
use support::{error_body, spawn_app_with, status_line};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const SEND: &str = <app::api::SendMessage as ServerFn>::PATH;

#[tokio::test]
async fn sends_over_the_limit_get_429_with_retry_after_and_are_not_stored() {
    let app = spawn_app_with(|config| {
        config.send_limit = RateLimit::per_second(1, 3);
    })
    .await;
    for i in 0..3 {
        app.send("ada", &format!("m{i}")).await;
    }
    let response = app
        .post(&json!({ "username": "ada", "text": "one too many" }))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body = error_body(response).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        body["error"]["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0 && ms <= 1000)
    );

    // The page's server function counts against the same bucket.
    let call = app
        .call(SEND)
        .json(&json!({ "username": "ada", "text": "via the page", "client_id": uuid::Uuid::now_v7() }))
        .send()
        .await
        .expect("request");
    assert_eq!(call.status(), 429);
    assert_eq!(error_body(call).await["error"]["code"], "rate_limited");
    assert_eq!(app.history("").await.len(), 3);
    app.shutdown().await;
}

#[tokio::test]
async fn reads_and_pages_over_the_limit_get_429_while_sends_files_and_streams_are_counted_apart() {
    let app = spawn_app_with(|config| {
        config.read_limit = RateLimit::per_second(1, 3);
    })
    .await;
    // Sends are not reads, however many.
    for i in 0..5 {
        app.send("ada", &format!("m{i}")).await;
    }
    let get = |path: &'static str| app.client.get(app.url(path)).send();
    assert_eq!(get("/api/messages").await.expect("request").status(), 200);
    assert_eq!(get("/api/rooms").await.expect("request").status(), 200);
    let count = <app::api::GetMessageCount as ServerFn>::PATH;
    let counted = app
        .call(count)
        .json(&json!({ "room": "general" }))
        .send()
        .await
        .expect("request");
    assert_eq!(counted.status(), 200);
    // The fourth read within the second: refused, told when to come back.
    let refused = get("/api/messages?before=3").await.expect("request");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_body(refused).await["error"]["code"], "rate_limited");
    // A page is a read too (rendered from the database); the site's files
    // and the event stream (limited apart, per client) are not.
    assert_eq!(get("/r/random").await.expect("request").status(), 429);
    // (This test's server has no site folder: the file is not found, not refused.)
    assert_ne!(get("/favicon.svg").await.expect("request").status(), 429);
    let _stream = app.events_on_new_connection("", None).await;
    app.shutdown().await;
}

/// Each route is counted where it is routed: every read (API reads,
/// pages, the page's reading server functions, the accounts API) against
/// the read limit, every send (messages, heartbeats, typing, the page's
/// send) against the send limit, and the event stream, the site's files
/// and the health check against neither. Each route is asked twice at
/// once (so that no refill comes between, however slow the machine), from
/// an address of its own, with a burst of one.
#[tokio::test]
async fn each_route_counts_as_a_read_a_send_or_neither() {
    let app = spawn_app_with(|config| {
        config.read_limit = RateLimit::per_second(1, 1);
        config.send_limit = RateLimit::per_second(1, 1);
    })
    .await;
    let browser = uuid::Uuid::new_v4();
    let presence = json!({ "browser": browser, "tab": uuid::Uuid::new_v4() });
    let typing = json!({ "browser": browser, "name": "ada", "typing": true });
    let message = json!({ "username": "ada", "text": "hi" });
    let after = <app::api::GetEntriesAfter as ServerFn>::PATH;
    let routes: [(&str, &str, Option<&serde_json::Value>, &str); 19] = [
        ("GET", "/api/messages", None, "read"),
        ("GET", "/api/rooms", None, "read"),
        ("GET", "/api/rooms/general/messages", None, "read"),
        (
            "POST",
            "/api/rooms",
            Some(&json!({ "name": "random" })),
            "read",
        ),
        ("GET", "/api/session", None, "read"),
        (
            "POST",
            "/api/session",
            Some(&json!({ "username": "ada", "password": "x" })),
            "read",
        ),
        ("GET", "/", None, "read"),
        ("GET", "/r/general", None, "read"),
        (
            "POST",
            after,
            Some(&json!({ "room": "general", "after": 0 })),
            "read",
        ),
        ("POST", "/api/messages", Some(&message), "send"),
        (
            "POST",
            "/api/rooms/general/messages",
            Some(&message),
            "send",
        ),
        (
            "POST",
            "/api/rooms/general/presence",
            Some(&presence),
            "send",
        ),
        ("POST", "/api/rooms/general/typing", Some(&typing), "send"),
        (
            "POST",
            SEND,
            Some(&json!({ "room": "general", "username": "ada", "text": "hi" })),
            "send",
        ),
        ("GET", "/healthz", None, "neither"),
        ("GET", "/favicon.svg", None, "neither"),
        ("GET", "/pkg/chat.css", None, "neither"),
        ("GET", "/nowhere", None, "neither"),
        ("GET", "/api/events?after=0", None, "neither"),
    ];
    for (n, (method, path, body, kind)) in routes.into_iter().enumerate() {
        let client = support::client_from([127, 0, 1, u8::try_from(n + 1).expect("few")]);
        let ask = || {
            let request = match method {
                "GET" => client.get(app.url(path)),
                _ => client.post(app.url(path)),
            };
            let request = match body {
                Some(body) => request.json(body),
                None => request,
            };
            // Only the head: the stream would go on.
            async move { request.send().await.expect("answer").status() }
        };
        let (one, two) = tokio::join!(ask(), ask());
        let refused = [one, two]
            .iter()
            .filter(|status| status.as_u16() == 429)
            .count();
        let expected = if kind == "neither" { 0 } else { 1 };
        assert_eq!(refused, expected, "{method} {path} ({kind}): {one}, {two}");
    }
    // Reads and sends are counted apart: this address's read was spent
    // above, and it still may send.
    let reader = support::client_from([127, 0, 1, 1]);
    let sent = reader
        .post(app.url("/api/messages"))
        .json(&message)
        .send()
        .await
        .expect("answer");
    assert_eq!(sent.status(), 201);
    app.shutdown().await;
}

#[tokio::test]
async fn responses_a_client_does_not_read_count_against_its_share_of_the_budget() {
    // A page of 500 messages of 8 KB weighs 4.1 MB, more than the
    // kernel takes into a socket's queue: one fits in a share of 6 MB,
    // two do not.
    let app = spawn_app_with(|config| {
        config.response_budget = server::budget::Limits {
            per_client: 6 << 20,
            total: 16 << 20,
        };
    })
    .await;
    let text = "\u{1D11E}".repeat(shared::validate::TEXT_MAX_CHARS);
    // Side by side, so that the store commits them in batches.
    futures::stream::iter(0..500)
        .for_each_concurrent(50, |_| async { drop(app.send("ada", &text).await) })
        .await;
    let page = "/api/messages?limit=500";
    let status = |client: reqwest::Client, path: &'static str| {
        let url = app.url(path);
        async move {
            let response = client.get(url).send().await.expect("request");
            let status = response.status().as_u16();
            response.bytes().await.expect("body");
            status
        }
    };

    // A connection that asks for the page and reads (almost) nothing.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut stalled = socket.connect(app.addr).await.expect("connect");
    let head = format!("GET {page} HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    stalled.write_all(head.as_bytes()).await.expect("request");

    // Once the server holds that page for it, the same address gets no
    // second one (a guard against a hang, not a deadline).
    let guard = Instant::now() + Duration::from_secs(60);
    while status(app.client.clone(), page).await != 503 {
        assert!(Instant::now() < guard, "the unread page was never counted");
    }
    // Small answers still fit; another address has its own share.
    assert_eq!(
        status(app.client.clone(), "/api/messages?limit=1").await,
        200
    );
    assert_eq!(
        status(support::client_from([127, 0, 0, 2]), page).await,
        200
    );

    // A connection that ends gives its share back.
    drop(stalled);
    while status(app.client.clone(), page).await != 200 {
        assert!(Instant::now() < guard, "the share never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_made_up_session_cookie_counts_leaving_heartbeats_against_the_address() {
    let app = spawn_app_with(|config| config.send_limit = RateLimit::per_second(1, 3)).await;
    let made_up = format!("{}={}", server::accounts::SESSION_COOKIE, "ab".repeat(32));
    // A cookie nobody holds makes a leaving page no cheaper than a guest's
    // send: the address's three are spent ...
    for _ in 0..3 {
        let leaving = json!({ "browser": uuid::Uuid::new_v4(), "tab": uuid::Uuid::new_v4(), "leaving": true });
        let response = app
            .client
            .post(app.url("/api/rooms/general/presence"))
            .header("cookie", &made_up)
            .json(&leaving)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 204);
    }
    // ... so the next send from that address waits.
    let response = app.post(&json!({ "username": "ada", "text": "hi" })).await;
    assert_eq!(response.status(), 429);
    app.shutdown().await;
}

#[tokio::test]
async fn streams_over_the_per_client_limit_get_429_on_new_and_reused_connections() {
    let app = spawn_app_with(|config| {
        config.streams_per_ip = StreamsPerIp::AtMost(NonZeroU32::new(2).expect("2"));
    })
    .await;
    let fresh = app.events_on_new_connection("", None).await;
    let reused = app.events("", None).await;

    let head = format!("GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    assert_eq!(
        status_line(app.addr, &head).await,
        "HTTP/1.1 429 Too Many Requests"
    );
    let refused = app
        .client
        .get(app.url("/api/events"))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 429);
    assert_eq!(
        error_body(refused).await["error"]["code"],
        "too_many_streams"
    );

    // A stream that ends gives its slot back.
    drop(fresh);
    drop(reused);
    // A guard against a hang, not a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = status_line(app.addr, &head).await;
        if status == "HTTP/1.0 200 OK" {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came back: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn request_bodies_that_never_finish_are_answered_and_closed() {
    // 10 s in service.
    let body_timeout = Duration::from_millis(500);
    let app = spawn_app_with(|config| config.timing.body_timeout = body_timeout).await;
    let started = Instant::now();
    let mut connections = Vec::new();
    for path in ["/api/messages", SEND, "/api/session"] {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        // A fifth of the body the head promises, then nothing.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"username\": ",
            app.addr
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        connections.push(stream);
    }
    // Meanwhile everyone else is served.
    app.send("ada", "not held up").await;
    for (stream, path) in connections
        .iter_mut()
        .zip(["/api/messages", SEND, "/api/session"])
    {
        let mut answer = Vec::new();
        // A guard against a hang, not a deadline.
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{path}: the connection was held open"))
            .expect("read");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(
            answer.contains("content-type: application/json"),
            "{path}: {answer}"
        );
    }
    assert!(started.elapsed() >= body_timeout, "{:?}", started.elapsed());
    assert_eq!(
        app.history("").await.len(),
        1,
        "nothing half-sent was stored"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn accounts_made_from_one_address_share_its_ceiling() {
    // 1 send a second (burst 2) per sender; so 5 a second (burst 10) per
    // address, whoever is signed in there.
    let app = spawn_app_with(|config| config.send_limit = RateLimit::per_second(1, 2)).await;
    let mut cookies = Vec::new();
    for i in 0..15 {
        cookies.push(app.signed_up(&format!("sender{i}")).await);
    }
    let started = Instant::now();
    let mut accepted = 0;
    let mut refused = 0;
    for cookie in &cookies {
        // Each account within its own burst.
        for n in 0..2 {
            let response = app
                .client
                .post(app.url("/api/messages"))
                .header(reqwest::header::COOKIE, cookie)
                .json(&json!({ "username": "x", "text": format!("{cookie} {n}") }))
                .send()
                .await
                .expect("request");
            match response.status().as_u16() {
                201 => accepted += 1,
                429 => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    // What the address's bucket can have held: its burst, and what
    // refilled while these were sent.
    let refilled = 5 * started.elapsed().as_secs().saturating_add(1);
    assert!(refused > 0, "30 sends from one address all accepted");
    assert!(
        accepted <= 10 + refilled,
        "{accepted} accepted in {:?}",
        started.elapsed()
    );
    assert_eq!(app.history("?limit=500").await.len(), accepted as usize);
    app.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_answered_503() {
    let app = spawn_app_with(|config| config.max_connections = Some(3)).await;
    // The client's pooled keep-alive connection from start-up holds one.
    let idle: Vec<TcpStream> =
        futures::future::join_all((0..2).map(|_| TcpStream::connect(app.addr)))
            .await
            .into_iter()
            .map(|stream| stream.expect("connect"))
            .collect();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    assert_eq!(
        status_line(app.addr, &head).await,
        "HTTP/1.1 503 Service Unavailable"
    );

    drop(idle);
    // A guard against a hang, not a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_line(app.addr, &head).await != "HTTP/1.1 200 OK" {
        assert!(Instant::now() < deadline, "the cap did not free up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn request_heads_over_16_kib_are_refused() {
    let app = spawn_app_with(|_| {}).await;
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nx-padding: {}\r\n\r\n",
        app.addr,
        "a".repeat(20 * 1024)
    );
    assert_eq!(
        status_line(app.addr, &head).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn connections_that_never_finish_their_request_head_are_closed() {
    // 10 s in service.
    let head_timeout = Duration::from_secs(1);
    let app = spawn_app_with(|config| config.timing.head_timeout = head_timeout).await;
    let started = Instant::now();
    let mut connections = Vec::new();
    for i in 0..30 {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        // A third send nothing, a third a head without its blank line, a
        // third a stream request without it.
        let partial = match i % 3 {
            0 => String::new(),
            1 => format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n", app.addr),
            _ => format!("GET /api/events HTTP/1.1\r\nHost: {}\r\n", app.addr),
        };
        stream.write_all(partial.as_bytes()).await.expect("write");
        connections.push(stream);
    }
    // Meanwhile everyone else is served.
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    assert_eq!(status_line(app.addr, &head).await, "HTTP/1.1 200 OK");

    let closed = futures::future::join_all(connections.iter_mut().map(|stream| async {
        let mut rest = Vec::new();
        // A guard against a hang, not a deadline.
        tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut rest))
            .await
            .map(|read| (read.is_ok(), rest.len()))
    }))
    .await;
    for (i, closed) in closed.into_iter().enumerate() {
        let (clean, answered) = closed.unwrap_or_else(|_| panic!("connection {i} was held open"));
        assert!(clean || answered == 0, "connection {i}");
    }
    // Closed by the head timeout, not at once.
    assert!(started.elapsed() >= head_timeout, "{:?}", started.elapsed());
    app.shutdown().await;
}
