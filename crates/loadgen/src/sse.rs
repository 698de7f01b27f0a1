//! One SSE subscriber: connects (on a fresh connection, or as a browser
//! does, after another request on the same one), then records the id and
//! latency of every message event until it has the expected number or
//! time runs out.

use std::time::Instant;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use http_body_util::{BodyExt, Empty};
use hyper::{Request, client::conn::http1::handshake, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

use crate::target::Target;

/// The prefix of every text the load generator sends: `lg <µs since origin>`.
pub const TEXT_PREFIX: &str = "lg ";

/// What one subscriber received, in order.
#[derive(Default)]
pub struct Received {
    pub ids: Vec<i64>,
    /// Send → receipt, in milliseconds.
    pub latencies_ms: Vec<f64>,
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

/// A stream's body, as it arrives.
pub type Chunks = BoxStream<'static, Result<Bytes, String>>;

/// Opens the stream at `path` for subscriber `n`; resolves once the
/// response headers arrived.
pub async fn connect(
    target: &Target,
    n: usize,
    path: &str,
    how: Connect,
) -> anyhow::Result<Chunks> {
    match how {
        Connect::Fresh => {
            let response = target.client(n).get(target.url(path)).send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "status {}",
                response.status()
            );
            Ok(response
                .bytes_stream()
                .map_err(|err| err.to_string())
                .boxed())
        }
        Connect::Browser => connect_after_a_request(target, n, path).await,
    }
}

/// One connection, two requests: a health check read to its end, then the
/// stream.
async fn connect_after_a_request(target: &Target, n: usize, path: &str) -> anyhow::Result<Chunks> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(target.source(n))?;
    let tcp = socket.connect(target.addr).await?;
    let (mut sender, connection) = handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let get = |path: &str| {
        Request::get(path)
            .header(header::HOST, target.host())
            .body(Empty::<Bytes>::new())
    };
    let first = sender.send_request(get("/healthz")?).await?;
    anyhow::ensure!(
        first.status().is_success(),
        "health check {}",
        first.status()
    );
    first.into_body().collect().await?;
    sender.ready().await?;
    let response = sender.send_request(get(path)?).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "status {}",
        response.status()
    );
    Ok(response
        .into_body()
        .into_data_stream()
        .map_err(|err| err.to_string())
        .boxed())
}

/// Reads message events until `expected` arrived or `until` passed.
pub async fn collect(
    mut body: Chunks,
    expected: usize,
    origin: Instant,
    until: tokio::time::Instant,
) -> Received {
    let mut received = Received {
        ids: Vec::with_capacity(expected),
        latencies_ms: Vec::with_capacity(expected),
        error: None,
    };
    let mut buffer: Vec<u8> = Vec::new();
    while received.ids.len() < expected {
        let chunk = match tokio::time::timeout_at(until, body.next()).await {
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(err))) => {
                received.error = Some(err.to_string());
                break;
            }
            Ok(None) => {
                received.error = Some("stream ended".into());
                break;
            }
            Err(_) => {
                received.error = Some("timed out".into());
                break;
            }
        };
        let now_us = origin.elapsed().as_micros() as f64;
        buffer.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = find(&buffer[start..], b"\n\n") {
            record(&buffer[start..start + end], now_us, &mut received);
            start += end + 2;
        }
        buffer.drain(..start);
    }
    received
}

fn record(block: &[u8], now_us: f64, received: &mut Received) {
    let Ok(block) = std::str::from_utf8(block) else {
        return;
    };
    let mut id = None;
    let mut sent_us = None;
    for line in block.lines() {
        if line.starts_with("event:") {
            return; // keep-alive ping
        } else if let Some(value) = line.strip_prefix("id:") {
            id = value.trim().parse().ok();
        } else if let Some(data) = line.strip_prefix("data:") {
            sent_us = sent_at(data);
        }
    }
    if let Some(id) = id {
        received.ids.push(id);
        if let Some(sent_us) = sent_us {
            received.latencies_ms.push((now_us - sent_us) / 1000.0);
        }
    }
}

/// The send time in a message's JSON, found without parsing all of it.
fn sent_at(data: &str) -> Option<f64> {
    let key = format!("\"text\":\"{TEXT_PREFIX}");
    let rest = &data[data.find(&key)? + key.len()..];
    rest[..rest.find('"')?].parse().ok()
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
        assert_eq!(received.ids, [7]);
        assert_eq!(received.latencies_ms, [2.5]);
    }
}
