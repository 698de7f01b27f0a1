//! An event stream behaves the same however it was requested: as a
//! connection's first request, or (as a browser's `EventSource` does) on a
//! keep-alive connection that carried other requests first. Either way the
//! connection leaves hyper once the head is out: the response is delimited
//! by the connection's end (`HTTP/1.0 200`, `connection: close`, no
//! length), not chunked by hyper.

mod support;

use std::time::Duration;

use support::{EventReader, assert_stream_headers, spawn_app, spawn_app_with};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Asserts that `events` was handed over: close-delimited, not chunked.
fn assert_handed_over(events: &EventReader) {
    let headers = &events.response_headers;
    assert_eq!(headers["connection"], "close");
    assert!(!headers.contains_key("transfer-encoding"), "{headers:?}");
    assert!(!headers.contains_key("content-length"), "{headers:?}");
    assert!(headers.contains_key("date"));
    assert_stream_headers(headers);
}

#[tokio::test]
async fn a_stream_on_a_new_connection_is_handed_over_with_the_stream_headers() {
    let app = spawn_app().await;
    let mut events = app.events_on_new_connection("", None).await;
    assert_handed_over(&events);

    let sent = app.send("ada", "hello").await;
    let received = events.take(1).await;
    assert_eq!(received[0].0, sent["id"].as_i64().expect("id"));
    assert_eq!(received[0].1, sent);
    app.shutdown().await;
}

#[tokio::test]
async fn a_stream_on_a_reused_connection_is_handed_over_alike() {
    let app = spawn_app().await;
    // spawn_app's health check left an idle connection in the client's pool.
    let mut events = app.events("", None).await;
    assert_handed_over(&events);

    let sent = app.send("ada", "hello").await;
    assert_eq!(events.take(1).await[0].1, sent);
    app.shutdown().await;
}

#[tokio::test]
async fn a_new_connection_resumes_after_its_last_event_id() {
    let app = spawn_app().await;
    let first = app.send("ada", "one").await;
    let second = app.send("ada", "two").await;
    let id = |m: &serde_json::Value| m["id"].as_i64().expect("id");

    let mut resumed = app
        .events_on_new_connection("?after=0", Some(id(&first)))
        .await;
    assert_handed_over(&resumed);
    assert_eq!(resumed.take(1).await[0].1, second);
    let third = app.send("ada", "three").await;
    assert_eq!(resumed.take(1).await[0].1, third);
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_split_over_packets_is_still_served() {
    let app = spawn_app().await;
    let mut socket = TcpStream::connect(app.addr).await.expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    let head = format!("GET /api/events HTTP/1.1\r\nHost: {}\r\n", app.addr);
    socket.write_all(head.as_bytes()).await.expect("first part");
    // Let the first part arrive on its own before the rest.
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket
        .write_all(b"Accept: text/event-stream\r\n\r\n")
        .await
        .expect("second part");

    let sent = app.send("ada", "split").await;
    let expected = format!("id: {}\n", sent["id"]);
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    let read_until_event = async {
        while !String::from_utf8_lossy(&received).contains(&expected) {
            let n = socket.read(&mut chunk).await.expect("read");
            assert!(n > 0, "stream ended early");
            received.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_until_event)
        .await
        .expect("the event within 10 s");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(text.contains("text/event-stream"), "{text}");
    app.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_streams_however_they_were_requested() {
    let app = spawn_app().await;
    let mut reused = app.events("", None).await;
    let mut fresh = app.events_on_new_connection("", None).await;

    tokio::time::timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("shutdown finishes while streams are open");
    assert!(
        reused.next().await.is_none(),
        "the reused connection's stream ended"
    );
    assert!(
        fresh.next().await.is_none(),
        "the new connection's stream ended"
    );
}

#[tokio::test]
async fn a_stream_on_a_reused_connection_outlives_the_request_head_timeout() {
    let head_timeout = Duration::from_millis(300);
    let app = spawn_app_with(|config| config.timing.head_timeout = head_timeout).await;
    // A browser's stream: on the keep-alive connection that carried the
    // health check. The head timeout must not end it once it is streaming.
    let mut events = app.events("", None).await;
    assert_handed_over(&events);
    tokio::time::sleep(head_timeout * 4).await;
    let sent = app.send("ada", "still live").await;
    assert_eq!(events.take(1).await[0].1, sent);
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_pipelined_behind_a_stream_request_ends_the_connection() {
    let app = spawn_app().await;
    let mut socket = TcpStream::connect(app.addr).await.expect("connect");
    // A stream's connection carries nothing after it; a client that sends
    // more is not an `EventSource`, and is not kept.
    let heads = format!(
        "GET /api/events HTTP/1.1\r\nHost: {0}\r\n\r\nGET /healthz HTTP/1.1\r\nHost: {0}\r\n\r\n",
        app.addr
    );
    socket.write_all(heads.as_bytes()).await.expect("requests");
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut received))
        .await
        .expect("closed within 5 s")
        .expect("read");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    // The stream's head only: the health check was never answered.
    assert_eq!(text.matches("HTTP/1.").count(), 1, "{text}");
    app.shutdown().await;
}
