//! One SSE subscriber: connects (on a fresh connection, or as a browser
//! does, after another request on the same one), then records the id and
//! latency of every message event until it has the expected number or
//! time runs out.

use std::time::Instant;

use tokio::{io::AsyncReadExt, net::TcpStream};

use crate::{http::Connection, target::Target};

/// The prefix of every text the load generator sends: `lg <µs since origin>`.
pub const TEXT_PREFIX: &str = "lg ";

/// What one subscriber received, in order.
#[derive(Default)]
pub struct Received {
    /// The id of every entry of the log (a new message or a change).
    pub ids: Vec<i64>,
    /// Send → receipt of each new message, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// Each change's entry id and when it arrived (µs since the origin);
    /// its latency is reckoned against when it was sent.
    pub changes: Vec<(i64, f64)>,
    /// With state kept: the last JSON received for each message id.
    pub states: Option<std::collections::HashMap<i64, String>>,
    pub error: Option<String>,
}

/// How a subscriber opens its stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Connect {
    /// As a browser's `EventSource` does: on a keep-alive connection that
    /// carried another request (`GET /healthz`) first.
    #[default]
    Browser,
    /// On a connection of its own, the stream its first request.
    Fresh,
}

/// An open stream: its connection, what was read past the response head,
/// and how the body is framed.
pub struct EventStream {
    tcp: TcpStream,
    body: Body,
    unread: Vec<u8>,
}

/// How a response body is delimited: by the connection's end (how the
/// server hands streams over), or in chunks (how a streaming body leaves
/// hyper, as older builds served streams).
enum Body {
    Close,
    Chunked(Chunks),
}

/// Opens the stream at `path` for subscriber `n`; resolves once the
/// response head arrived. Speaks HTTP/1.1 over its own socket, one task and
/// one read per arrival, so that the load generator costs as little per
/// delivery as it can.
pub async fn connect(
    target: &Target,
    n: usize,
    path: &str,
    how: Connect,
) -> anyhow::Result<EventStream> {
    connect_as(target, n, path, how, None).await
}

/// Like [`connect`], as the holder of the session `cookie`, if any.
pub async fn connect_as(
    target: &Target,
    n: usize,
    path: &str,
    how: Connect,
    cookie: Option<&str>,
) -> anyhow::Result<EventStream> {
    let mut connection = Connection::open(target, n).await?;
    if how == Connect::Browser {
        connection.health_check().await?;
    }
    let head = connection.get_as(path, "text/event-stream", cookie).await?;
    anyhow::ensure!(head.status == 200, "status {}", head.status);
    let body = if head.chunked {
        Body::Chunked(Chunks::default())
    } else {
        Body::Close
    };
    Ok(EventStream {
        tcp: connection.tcp,
        body,
        unread: connection.unread,
    })
}

/// A chunked body's decoder: where in the framing the next byte falls.
#[derive(Default)]
struct Chunks {
    /// Data bytes left in the current chunk.
    data_left: usize,
    /// The size line (or the CRLF after a chunk's data) read so far.
    line: Vec<u8>,
    /// Whether `line` is the CRLF that ends a chunk's data.
    after_data: bool,
}

impl Chunks {
    /// Appends the body bytes in `input` to `out`.
    fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        while !input.is_empty() {
            if self.data_left > 0 {
                let take = self.data_left.min(input.len());
                out.extend_from_slice(&input[..take]);
                self.data_left -= take;
                input = &input[take..];
                self.after_data = self.data_left == 0;
                continue;
            }
            let (byte, rest) = (input[0], &input[1..]);
            input = rest;
            self.line.push(byte);
            if !self.line.ends_with(b"\r\n") {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if std::mem::take(&mut self.after_data) {
                continue; // the CRLF after a chunk's data
            }
            let size = std::str::from_utf8(&line[..line.len() - 2])
                .ok()
                .and_then(|line| usize::from_str_radix(line.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                return Err("stream ended".into());
            }
            self.data_left = size;
        }
        Ok(())
    }
}

/// Reads message events until `expected` arrived or `until` passed.
pub async fn collect(
    stream: EventStream,
    expected: usize,
    origin: Instant,
    until: tokio::time::Instant,
) -> Received {
    collect_keeping(stream, expected, origin, until, false).await
}

/// Like [`collect`]; with `keep_state`, also the last JSON of each message.
pub async fn collect_keeping(
    mut stream: EventStream,
    expected: usize,
    origin: Instant,
    until: tokio::time::Instant,
    keep_state: bool,
) -> Received {
    let mut received = Received {
        ids: Vec::with_capacity(expected),
        latencies_ms: Vec::with_capacity(expected),
        changes: Vec::new(),
        states: keep_state.then(std::collections::HashMap::new),
        error: None,
    };
    let mut buffer: Vec<u8> = Vec::new();
    let mut pending = std::mem::take(&mut stream.unread);
    let mut chunk = vec![0; 16 * 1024];
    // One timer for the whole run: a timeout per read would add and remove
    // a timer entry for every delivery, under the timer wheel's lock.
    let deadline = tokio::time::sleep_until(until);
    tokio::pin!(deadline);
    loop {
        let decoded = match &mut stream.body {
            Body::Close => {
                buffer.extend_from_slice(&pending);
                Ok(())
            }
            Body::Chunked(chunks) => chunks.decode(&pending, &mut buffer),
        };
        let now_us = origin.elapsed().as_micros() as f64;
        let mut start = 0;
        while let Some(end) = find(&buffer[start..], b"\n\n") {
            record(&buffer[start..start + end], now_us, &mut received);
            start += end + 2;
        }
        buffer.drain(..start);
        if let Err(err) = decoded {
            received.error = Some(err);
            break;
        }
        if received.ids.len() >= expected {
            break;
        }
        pending.clear();
        let read = tokio::select! {
            read = stream.tcp.read(&mut chunk) => read,
            () = &mut deadline => {
                received.error = Some("timed out".into());
                break;
            }
        };
        match read {
            Ok(0) => {
                received.error = Some("stream ended".into());
                break;
            }
            Ok(read) => pending.extend_from_slice(&chunk[..read]),
            Err(err) => {
                received.error = Some(err.to_string());
                break;
            }
        }
    }
    received
}

fn record(block: &[u8], now_us: f64, received: &mut Received) {
    let Ok(block) = std::str::from_utf8(block) else {
        return;
    };
    let mut id = None;
    let mut sent_us = None;
    let mut change = false;
    let mut json = None;
    for line in block.lines() {
        if let Some(kind) = line.strip_prefix("event:") {
            if kind.trim() != "change" {
                return; // a keep-alive ping, or a passing event
            }
            change = true;
        } else if let Some(value) = line.strip_prefix("id:") {
            id = value.trim().parse().ok();
        } else if let Some(data) = line.strip_prefix("data:") {
            if !change {
                sent_us = sent_at(data);
            }
            json = Some(data.trim_start());
        }
    }
    let Some(id) = id else {
        return;
    };
    received.ids.push(id);
    if change {
        received.changes.push((id, now_us));
    } else if let Some(sent_us) = sent_us {
        received.latencies_ms.push((now_us - sent_us) / 1000.0);
    }
    if let (Some(states), Some(json)) = (&mut received.states, json)
        && let Some(message) = message_id(json)
    {
        states.insert(message, json.to_owned());
    }
}

/// The `"id"` a message's JSON starts with.
fn message_id(json: &str) -> Option<i64> {
    let rest = json.strip_prefix("{\"id\":")?;
    rest[..rest.find(|c: char| !c.is_ascii_digit())?]
        .parse()
        .ok()
}

/// The send time in a message's JSON, found without parsing all of it.
fn sent_at(data: &str) -> Option<f64> {
    // `"text":"` then the prefix, without a key built for every delivery.
    const KEY: &str = "\"text\":\"";
    let at = data.find(KEY)? + KEY.len();
    let rest = data[at..].strip_prefix(TEXT_PREFIX)?;
    rest[..rest.find(|c: char| !c.is_ascii_digit())?]
        .parse()
        .ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_message_events_and_skips_pings() {
        let mut received = Received::default();
        record(
            br#"id: 7
data: {"id":7,"username":"u","text":"lg 1500","timestamp":"t"}"#,
            4_000.0,
            &mut received,
        );
        record(b"event: ping\ndata: keep-alive", 5_000.0, &mut received);
        record(
            br#"event: change
id: 9
data: {"id":7,"username":"u","text":"lg 1500 edited","timestamp":"t"}"#,
            6_000.0,
            &mut received,
        );
        assert_eq!(received.ids, [7, 9]);
        assert_eq!(received.latencies_ms, [2.5]);
        assert_eq!(received.changes, [(9, 6_000.0)]);
    }

    #[test]
    fn chunked_bodies_are_decoded_across_reads() {
        let wire = b"6\r\nid: 1\n\r\nc;ext=1\r\ndata: x\n\nid:\r\n0\r\n\r\n";
        let mut chunks = Chunks::default();
        let mut out = Vec::new();
        // Fed one byte at a time: every boundary falls inside some read.
        let mut result = Ok(());
        for byte in wire {
            result = chunks.decode(std::slice::from_ref(byte), &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(out, b"id: 1\ndata: x\n\nid:");
        assert_eq!(result, Err("stream ended".to_owned()));
    }
}
