//! Streams that never read cost little and do not stay: a small-scale run
//! of the attack the `loadgen` scenario `stalled` makes at full scale. In
//! a test binary of its own, so that no other test's memory is counted.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::spawn_app_with;
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

/// The server's side of its connections to the clients at `ports`, as the
/// kernel lists them: (TCP state, bytes queued to send) for each.
fn server_sockets(server_port: u16, ports: &[u16]) -> Vec<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("the kernel's TCP table");
    let hex_port = |address: &str| {
        let (_, port) = address.rsplit_once(':')?;
        u16::from_str_radix(port, 16).ok()
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, remote) = (hex_port(fields.get(1)?)?, hex_port(fields.get(2)?)?);
            if local != server_port || !ports.contains(&remote) {
                return None;
            }
            let state = u8::from_str_radix(fields.get(3)?, 16).ok()?;
            let (queued, _) = fields.get(4)?.split_once(':')?;
            Some((state, u64::from_str_radix(queued, 16).ok()?))
        })
        .collect()
}

/// `/proc/net/tcp`'s number for an established connection.
const ESTABLISHED: u8 = 0x01;

/// Waits until `done` holds for the server's side of the connections to
/// `ports`, checking every 50 ms; panics after two minutes (a guard
/// against a hang, not a deadline).
async fn wait_for_sockets(
    server_port: u16,
    ports: &[u16],
    what: &str,
    mut done: impl FnMut(&[(u8, u64)]) -> bool,
) {
    let guard = Instant::now() + Duration::from_secs(120);
    while !done(&server_sockets(server_port, ports)) {
        assert!(Instant::now() < guard, "still waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every connection to `ports` is open on the server's side
/// and has stopped sending: its send queue is not empty and has not moved
/// for two checks in a row (the client reads nothing, so it is full).
async fn wait_until_stalled(server_port: u16, ports: &[u16]) {
    let mut last = Vec::new();
    wait_for_sockets(server_port, ports, "every stream to stall", |sockets| {
        let stalled = sockets.len() == ports.len()
            && sockets
                .iter()
                .all(|&(state, queued)| state == ESTABLISHED && queued > 0)
            && sockets == last.as_slice();
        last = sockets.to_vec();
        stalled
    })
    .await;
}

/// Waits until the server has closed its side of every connection to `ports`.
async fn wait_until_closed(server_port: u16, ports: &[u16], what: &str) {
    wait_for_sockets(server_port, ports, what, |sockets| {
        sockets.iter().all(|&(state, _)| state != ESTABLISHED)
    })
    .await;
}

fn local_ports(streams: &[TcpStream]) -> Vec<u16> {
    streams
        .iter()
        .map(|stream| stream.local_addr().expect("local address").port())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_reading_replay_streams_hold_little_and_end_after_the_write_timeout() {
    // 30 s in service; the test waits for the cut, however long it takes.
    let app = spawn_app_with(|config| config.timing.write_timeout = Duration::from_secs(5)).await;
    let port = app.addr.port();
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
    let warm_ports = local_ports(&warm_up);
    wait_until_stalled(port, &warm_ports).await;
    drop(warm_up);
    wait_until_closed(port, &warm_ports, "the warm-up streams to end").await;
    let idle = resident_bytes();

    let mut streams = Vec::new();
    for i in 0..40 {
        let before = (i % 2 == 1).then_some(health.as_str());
        streams.push(stalled(app.addr, before).await);
    }
    let ports = local_ports(&streams);
    wait_until_stalled(port, &ports).await;
    let held = resident_bytes().saturating_sub(idle);
    eprintln!("40 stalled streams: {} KiB above idle", held / 1024);
    // Each holds at most a page of the replay and one batch (~50 KB);
    // replaying privately would hold the whole 4.8 MB backlog each.
    assert!(
        held < 40 * 128 * 1024,
        "40 stalled streams hold {} KiB",
        held / 1024
    );

    // The write timeout cuts every stream off before its end: the server
    // closes its side without the client reading anything.
    wait_until_closed(port, &ports, "the server to cut the streams off").await;
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.expect("read");
        let events = received.windows(4).filter(|w| w == b"id: ").count();
        assert!(
            events < 600,
            "stream {i} got all {events} events: it was never cut off"
        );
    }
    app.shutdown().await;
}
