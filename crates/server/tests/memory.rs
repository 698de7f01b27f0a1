//! Streams that never read cost little and do not stay: a small-scale run
//! of the attack the `loadgen` scenario `stalled` makes at full scale. In
//! a test binary of its own, so that no other test's memory is counted.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{spawn_app_with, temp_database};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

/// This process's resident memory, in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// A connection that reads (almost) nothing: a 4 KiB receive buffer.
async fn stalled(addr: std::net::SocketAddr, before: Option<&str>) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut stream = socket.connect(addr).await.expect("connect");
    if let Some(head) = before {
        // As a browser does: another request on the connection first.
        stream.write_all(head.as_bytes()).await.expect("request");
        let mut answer = vec![0; 4096];
        let n = stream.read(&mut answer).await.expect("answer");
        assert!(
            answer[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer[..n])
        );
    }
    let head = format!("GET /api/events?after=0 HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("stream request");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_reading_replay_streams_hold_little_and_end_after_the_write_timeout() {
    let (_dir, db) = temp_database();
    let app = spawn_app_with(db, |_| {}).await;
    // 600 messages of the largest size: 2,000 four-byte characters each.
    let text = "😀".repeat(2000);
    for _ in 0..600 {
        let response = app.post(&json!({ "username": "ada", "text": text })).await;
        assert_eq!(response.status(), 201);
    }
    let health = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    // Warm up both paths and every pooled database connection (each
    // caches pages of the file), so that what is allocated once for the
    // whole server is not counted per stream.
    let mut warm_up = Vec::new();
    for i in 0..16 {
        warm_up.push(stalled(app.addr, (i % 2 == 1).then_some(health.as_str())).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(warm_up);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = resident_bytes();

    let started = Instant::now();
    let mut streams = Vec::new();
    for i in 0..40 {
        let before = (i % 2 == 1).then_some(health.as_str());
        streams.push(stalled(app.addr, before).await);
    }
    // Let every stream write until its socket is full.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = resident_bytes().saturating_sub(idle);
    eprintln!("40 stalled streams: {} KiB above idle", held / 1024);
    // Each holds at most a page of the replay and one batch (~50 KB);
    // replaying privately would hold the whole 4.8 MB backlog each.
    assert!(
        held < 40 * 128 * 1024,
        "40 stalled streams hold {} KiB",
        held / 1024
    );

    // After the write timeout every stream has been cut off before its end.
    let ends = futures::future::join_all(streams.iter_mut().map(|stream| async {
        tokio::time::sleep(Duration::from_secs(32).saturating_sub(started.elapsed())).await;
        let mut received = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
        (
            read.is_ok(),
            received.windows(4).filter(|w| w == b"id: ").count(),
        )
    }))
    .await;
    for (i, (ended, events)) in ends.into_iter().enumerate() {
        assert!(ended, "stream {i} is still open");
        assert!(
            events < 600,
            "stream {i} got all {events} events: it was never cut off"
        );
    }
    app.shutdown().await;
}
