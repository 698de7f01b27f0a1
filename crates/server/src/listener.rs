//! The direct event-stream path: serves the simplest event-stream
//! requests without hyper.
//!
//! An idle event stream is most of what a chat server holds, one per open
//! tab. Served by hyper, each costs its connection's buffers (8 KiB to read
//! requests, 8 KiB to write response heads), the body's adapters and the
//! per-connection task; they are needed for other requests, not for a
//! stream that never reads again and writes ready-made bytes. So when a new
//! connection's first packet is a whole `GET /api/events` request (what an
//! `EventSource` or the load generator sends on a fresh connection), this
//! module answers it directly: it consumes the request head, writes the
//! response head and then each frame the subscriber's [`Feed`] yields,
//! straight to the socket, until the client leaves or the server shuts down.
//!
//! Everything else (other paths, a request split over packets, a request
//! this module does not fully understand, a client over its stream limit)
//! goes to hyper and axum untouched, as the bytes were only peeked at, and
//! axum's `/api/events` handler serves the same stream with the same
//! [`Feed`] and the same request rules ([`resume_after`], the site's host
//! names, the per-client stream slots).

use std::{io, net::SocketAddr};

use shared::MessageId;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

use crate::{
    chat::Chat,
    deadline::{WRITE_TIMEOUT, WriteDeadline},
    headers,
    site::Site,
    slots::StreamSlots,
    sse::{EVENTS_PATH, Feed, STREAM_HEADERS, resume_after},
};

/// The most request-head bytes looked at; longer heads go to hyper.
const PEEK_BYTES: usize = 4096;

/// What the direct path needs to serve a stream.
#[derive(Clone, Debug)]
pub struct DirectStreams {
    pub chat: Chat,
    pub site: Site,
    pub slots: StreamSlots,
}

impl DirectStreams {
    /// Waits for the connection's first bytes and looks at them without
    /// consuming them: `Some` if they are a whole stream request this
    /// module serves (then [`Self::serve`] it), else the connection is for
    /// hyper, untouched.
    pub async fn peek(&self, stream: &TcpStream) -> Option<EventsRequest> {
        // Allocated once bytes are there, on the heap, so that neither a
        // quiet connection nor the long-lived stream task holds it.
        stream.readable().await.ok()?;
        let mut buffer = vec![0; PEEK_BYTES];
        let peeked = stream.peek(&mut buffer).await.ok()?;
        parse_events_request(&buffer[..peeked], &self.site)
    }

    /// Serves the stream `request` asked for until it ends; or, when the
    /// client holds as many streams as it may, gives the connection back
    /// for axum to answer with the API's 429.
    pub async fn serve(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        request: EventsRequest,
        shutdown: &CancellationToken,
    ) -> Option<TcpStream> {
        let Some(slot) = self.slots.take(peer.ip()) else {
            return Some(stream);
        };
        tracing::debug!(%peer, resume_after = ?request.resume_after, "event stream");
        let feed = Feed::open(&self.chat, request.resume_after, slot);
        serve_stream(stream, request.head_len, feed, shutdown).await;
        None
    }
}

/// A request head this module serves: `GET /api/events` over HTTP/1.1,
/// with no body and nothing it would have to interpret differently.
#[derive(Debug, PartialEq, Eq)]
pub struct EventsRequest {
    /// The length of the request head, to be consumed before answering.
    head_len: usize,
    resume_after: Option<MessageId>,
}

/// The request in `bytes` if it is an events request this module serves.
/// One for another host name goes to axum, which refuses it.
fn parse_events_request(bytes: &[u8], site: &Site) -> Option<EventsRequest> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = request.parse(bytes).ok()? else {
        return None;
    };
    if request.method != Some("GET") || request.version != Some(1) {
        return None;
    }
    let (path, query) = match request.path?.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request.path?, None),
    };
    if path != EVENTS_PATH {
        return None;
    }
    let has_body_or_upgrade = request.headers.iter().any(|header| {
        ["content-length", "transfer-encoding", "upgrade", "expect"]
            .iter()
            .any(|name| header.name.eq_ignore_ascii_case(name))
    });
    if has_body_or_upgrade {
        return None;
    }
    let values = |name: &'static str| {
        request
            .headers
            .iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    };
    // axum answers a request for another host, or one it cannot read,
    // with its JSON error: the same rules, from the same functions.
    if !site.allows_hosts(values("host")) {
        return None;
    }
    let resume_after = resume_after(query, values("last-event-id")).ok()?;
    Some(EventsRequest {
        head_len,
        resume_after,
    })
}

/// Consumes the request head, then writes the stream until the client
/// closes it, the feed ends, or the server shuts down.
async fn serve_stream(
    mut stream: TcpStream,
    head_len: usize,
    mut feed: Feed,
    shutdown: &CancellationToken,
) {
    // Every frame is written whole; do not let Nagle hold small ones back.
    let _ = stream.set_nodelay(true);
    if discard(&mut stream, head_len).await.is_err()
        || stream.write_all(response_head().as_bytes()).await.is_err()
    {
        return;
    }
    let (mut reader, writer) = stream.into_split();
    // The same deadline as hyper's connections: a client that reads
    // nothing for this long is gone or hostile. (A timer only while a
    // write is blocked, not one per write.)
    let mut writer = WriteDeadline::new(writer, WRITE_TIMEOUT);
    let mut probe = [0; 1];
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            // An event stream's client sends nothing more: any read, end of
            // file included, means it is gone or not speaking our protocol.
            _ = reader.read(&mut probe) => break,
            frames = feed.next_frames() => match frames {
                Some(frames) if writer.write_all(&frames).await.is_ok() => {}
                _ => break,
            },
        }
    }
    let _ = writer.shutdown().await;
}

/// `200 OK` with the stream's headers; the body lasts until the
/// connection closes.
fn response_head() -> String {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    for (name, value) in STREAM_HEADERS.into_iter().chain(headers::EVERY_RESPONSE) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
    head.push_str(&format!("date: {date}\r\nconnection: close\r\n\r\n"));
    head
}

/// Reads and drops exactly `len` bytes: the request head peeked at before.
async fn discard(stream: &mut TcpStream, len: usize) -> io::Result<()> {
    let mut head = vec![0; len];
    stream.read_exact(&mut head).await.map(drop)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncBufReadExt;

    use std::time::Duration;

    use tokio::net::TcpListener;

    use super::*;
    use crate::{hub::Hub, testing::temp_store};

    /// The direct path over a fresh store, and a listener on `127.0.0.1:0`.
    async fn direct() -> (tempfile::TempDir, DirectStreams, TcpListener) {
        let (dir, store) = temp_store().await;
        let chat = Chat::start(store, Hub::default()).await.expect("chat");
        let slots = StreamSlots::new(crate::slots::StreamsPerIp::default());
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        (
            dir,
            DirectStreams {
                chat,
                site: site(),
                slots,
            },
            tcp,
        )
    }

    /// Connects to `tcp`, sends `head`, and hands the accepted side to the
    /// direct path; returns the client and what the path gave back.
    async fn connect_and_triage(
        direct: DirectStreams,
        tcp: &TcpListener,
        head: &'static [u8],
    ) -> (TcpStream, tokio::task::JoinHandle<Option<TcpStream>>) {
        let mut client = TcpStream::connect(tcp.local_addr().expect("addr"))
            .await
            .expect("connect");
        client.write_all(head).await.expect("request");
        let (accepted, peer) = tcp.accept().await.expect("accept");
        let triage = tokio::spawn(async move {
            match direct.peek(&accepted).await {
                Some(request) => {
                    direct
                        .serve(accepted, peer, request, &CancellationToken::new())
                        .await
                }
                None => Some(accepted),
            }
        });
        (client, triage)
    }

    /// Waits (at most 5 s) until the hub has `n` subscribers.
    async fn until_subscribers(chat: &Chat, n: usize) {
        let wait = async {
            while chat.hub().subscribers() != n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("expected {n} subscribers"));
    }

    #[tokio::test]
    async fn a_client_that_leaves_frees_its_subscription() {
        let (_dir, direct, tcp) = direct().await;
        let chat = direct.chat.clone();
        let (mut client, triage) =
            connect_and_triage(direct, &tcp, b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut status = String::new();
        tokio::io::BufReader::new(&mut client)
            .read_line(&mut status)
            .await
            .expect("status line");
        assert_eq!(status, "HTTP/1.1 200 OK\r\n");
        until_subscribers(&chat, 1).await;

        drop(client);
        until_subscribers(&chat, 0).await;
        assert!(triage.await.expect("task").is_none(), "served here");
    }

    #[tokio::test]
    async fn other_requests_are_passed_on_untouched() {
        let (_dir, direct, tcp) = direct().await;
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        let (_client, triage) = connect_and_triage(direct, &tcp, head).await;
        let mut passed = triage.await.expect("task").expect("passed on");
        let mut received = vec![0; head.len()];
        passed.read_exact(&mut received).await.expect("the request");
        assert_eq!(received, head);
    }

    /// The site the tests' requests name: `Host: x`.
    fn site() -> Site {
        Site::new(Some("http://x"), "127.0.0.1:80".parse().expect("addr")).expect("site")
    }

    fn parse(head: &str) -> Option<EventsRequest> {
        parse_events_request(head.as_bytes(), &site())
    }

    #[test]
    fn a_plain_stream_request_is_served_here() {
        let head = "GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
        assert_eq!(
            parse(head),
            Some(EventsRequest {
                head_len: head.len(),
                resume_after: None
            })
        );
    }

    #[test]
    fn the_resume_point_is_read_as_axum_reads_it() {
        let head = "GET /api/events?after=3 HTTP/1.1\r\nHost: x\r\nlast-event-id: 7\r\n\r\n";
        assert_eq!(parse(head).map(|r| r.resume_after), Some(Some(7)));
        let head = "GET /api/events?after=3 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(parse(head).map(|r| r.resume_after), Some(Some(3)));
    }

    #[test]
    fn anything_else_goes_to_axum() {
        for head in [
            // Not whole yet.
            "GET /api/events HTTP/1.1\r\nHost: x\r\n",
            // Other paths, methods and versions.
            "GET /api/messages HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /api/events/x HTTP/1.1\r\nHost: x\r\n\r\n",
            "POST /api/events HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /api/events HTTP/1.0\r\nHost: x\r\n\r\n",
            // A query axum rejects with its JSON error.
            "GET /api/events?after=abc HTTP/1.1\r\nHost: x\r\n\r\n",
            // A body, or an upgrade.
            "GET /api/events HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\n\r\nabc",
            "GET /api/events HTTP/1.1\r\nHost: x\r\nupgrade: h2c\r\n\r\n",
            // A resume point axum refuses.
            "GET /api/events HTTP/1.1\r\nHost: x\r\nlast-event-id: 1\r\nlast-event-id: 2\r\n\r\n",
            // Another host name, none, or two.
            "GET /api/events HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "GET /api/events HTTP/1.1\r\n\r\n",
            "GET /api/events HTTP/1.1\r\nHost: x\r\nHost: evil.example\r\n\r\n",
        ] {
            assert_eq!(parse(head), None, "{head:?}");
        }
    }
}
