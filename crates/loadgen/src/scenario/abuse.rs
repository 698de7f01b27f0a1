//! The hostile-client scenarios: what the server holds, and for how long,
//! while clients misbehave at full scale (the tests run them small).
//!
//! - `stalled`: streams that replay the whole chat (`?after=0`) and never
//!   read (a 4 KiB receive buffer). The server must hold little per
//!   stream, close each after its write timeout (its open files back to
//!   idle), and give the memory back.
//! - `slow-heads`: connections that never finish their request head. The
//!   server must close each within its head timeout and keep serving.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    Report,
    http::Connection,
    stats::{describe, open_files, percentiles, resident_kib},
    target::Target,
};

#[derive(Debug, clap::Args)]
pub struct StalledArgs {
    /// How many never-reading streams.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// How many maximum-size messages to store first (0: use what is there).
    #[arg(long, default_value_t = 600)]
    seed: usize,
    /// Send one ordinary request on each connection before its stream, as
    /// a browser does.
    #[arg(long)]
    browser: bool,
    /// What each connection asks for and never reads: the event stream
    /// replaying everything, or a large response such as
    /// `/api/messages?limit=500` (finding 2 of the third attack review).
    #[arg(long, default_value = "/api/events?after=0")]
    path: String,
    /// How long after opening the streams the server must have closed
    /// them all: its 30 s write timeout counts from a stream's last
    /// progress, and a keep-alive ping may still fit in a nearly full
    /// socket buffer once or twice before nothing does.
    #[arg(long, default_value_t = 90)]
    hold_secs: u64,
}

#[derive(Debug, clap::Args)]
pub struct SlowHeadsArgs {
    /// How many connections that never finish their request head.
    #[arg(long, default_value_t = 2000)]
    connections: usize,
}

/// A receive buffer small enough that the server's writes block soon.
const STALLED_RECEIVE_BUFFER: u32 = 4096;

pub async fn stalled(target: &Target, args: StalledArgs) -> anyhow::Result<Report> {
    // 2,000 four-byte characters: the largest text there is.
    let text = "😀".repeat(2000);
    for n in 0..args.seed {
        let response = target
            .client(n)
            .post(target.url("/api/messages"))
            .json(&json!({ "username": "loadgen", "text": text }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 201,
            "seeding answered {}",
            response.status()
        );
    }
    // Concurrent deep reads first, so that the server's database pool is
    // open in full before its open files are counted.
    let reads = (0..16).map(|n| {
        target
            .client(n)
            .get(target.url("/api/messages"))
            .query(&[("before", i64::MAX)])
            .send()
    });
    futures::future::try_join_all(reads).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = resident_kib(target.server_pid);
    let files_idle = open_files(target.server_pid);
    let started = Instant::now();
    let mut streams = Vec::with_capacity(args.streams);
    for n in 0..args.streams {
        let mut connection = Connection::open_with(target, n, Some(STALLED_RECEIVE_BUFFER)).await?;
        if args.browser {
            connection.health_check().await?;
        }
        let accept = if args.path.starts_with("/api/events") {
            "text/event-stream"
        } else {
            "application/json"
        };
        connection.send_get(&args.path, accept).await?;
        streams.push(connection);
    }
    let opened = started.elapsed();
    // Every stream writes until its socket is full, then blocks.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_held = resident_kib(target.server_pid);
    let files_held = open_files(target.server_pid);
    // Everyone else is still served meanwhile.
    let health = target
        .client(0)
        .get(target.url("/healthz"))
        .send()
        .await?
        .status();
    let sent = target
        .client(1)
        .post(target.url("/api/messages"))
        .json(&json!({ "username": "bystander", "text": "still here" }))
        .send()
        .await?
        .status();
    let others_served = health == 200 && sent == 201;

    // Past the 30 s write timeout the server must have closed every one
    // (its descriptors are back to idle; what the kernel still has to
    // send is no longer the server's), and given back their memory.
    tokio::time::sleep(Duration::from_secs(args.hold_secs).saturating_sub(started.elapsed())).await;
    let files_after = open_files(target.server_pid);
    let rss_after = resident_kib(target.server_pid);
    let still_open = match (files_idle, files_after) {
        (Some(idle), Some(after)) => after.saturating_sub(idle),
        _ => 0,
    };
    drop(streams);

    let per_stream = match (rss_idle, rss_held) {
        (Some(idle), Some(held)) => Some(held.saturating_sub(idle) as f64 / args.streams as f64),
        _ => None,
    };
    let above_idle = |rss: Option<u64>| Some(rss?.saturating_sub(rss_idle?) / 1024);
    let failure = if files_idle.is_none() {
        Some("needs --server-pid".to_owned())
    } else if still_open > 0 {
        Some(format!(
            "{still_open} streams were still open after the write timeout"
        ))
    } else if !others_served {
        Some(format!(
            "while they were held, /healthz answered {health} and a send {sent}"
        ))
    } else if above_idle(rss_held).is_some_and(|mib| mib >= 100) {
        Some("the stalled streams held 100 MiB or more".to_owned())
    } else {
        None
    };
    Ok(Report {
        summary: format!(
            "stalled requests for {}: {} opened in {:.1} s ({} mode); server RSS idle {:?} KiB, while held {:?} KiB ({:.1?} KiB per stream), {} s after opening {:?} KiB\n\
             server's open files: idle {:?}, while held {:?}, {} s after opening {:?} ({still_open} streams still open); meanwhile /healthz {health}, a send {sent}",
            args.path,
            args.streams,
            opened.as_secs_f64(),
            if args.browser {
                "browser"
            } else {
                "fresh connection"
            },
            rss_idle,
            rss_held,
            per_stream,
            args.hold_secs,
            rss_after,
            files_idle,
            files_held,
            args.hold_secs,
            files_after,
        ),
        json: json!({
            "scenario": "stalled",
            "path": args.path,
            "streams": args.streams,
            "browser": args.browser,
            "healthz_status": health.as_u16(),
            "send_status": sent.as_u16(),
            "seed": args.seed,
            "rss_idle_kib": rss_idle,
            "rss_held_kib": rss_held,
            "rss_after_kib": rss_after,
            "kib_per_stream": per_stream,
            "files_idle": files_idle,
            "files_held": files_held,
            "files_after": files_after,
            "still_open": still_open,
        }),
        failure,
    })
}

pub async fn slow_heads(target: &Target, args: SlowHeadsArgs) -> anyhow::Result<Report> {
    let rss_idle = resident_kib(target.server_pid);
    let started = Instant::now();
    let mut connections = Vec::with_capacity(args.connections);
    for n in 0..args.connections {
        let mut stream = Connection::open(target, n).await?.tcp;
        // Thirds: nothing at all, a head without its end, a stream
        // request without its end.
        let partial = match n % 3 {
            0 => String::new(),
            1 => format!(
                "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
                target.host(n)
            ),
            _ => format!("GET /api/events HTTP/1.1\r\nHost: {}\r\n", target.host(n)),
        };
        stream.write_all(partial.as_bytes()).await?;
        connections.push((Instant::now(), stream));
    }
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_held = resident_kib(target.server_pid);
    // Meanwhile an ordinary request is served.
    let probe_started = Instant::now();
    let probe = target.client(0).get(target.url("/healthz")).send().await;
    let probe_ms = probe_started.elapsed().as_secs_f64() * 1000.0;
    let probe_ok = probe.is_ok_and(|response| response.status().is_success());

    let closed = futures::future::join_all(connections.iter_mut().map(|(opened, stream)| async {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest))
            .await
            .ok()
            .map(|_| opened.elapsed().as_secs_f64())
    }))
    .await;
    let held_open = closed.iter().filter(|closed| closed.is_none()).count();
    let mut close_secs: Vec<f64> = closed.into_iter().flatten().collect();
    let close = percentiles(&mut close_secs);
    drop(connections);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = resident_kib(target.server_pid);
    let failure = if held_open > 0 {
        Some(format!("{held_open} connections were held open for 20 s"))
    } else if !probe_ok {
        Some("an ordinary request failed meanwhile".to_owned())
    } else {
        None
    };
    Ok(Report {
        summary: format!(
            "slow heads: {} connections opened in {:.1} s; server RSS idle {:?} KiB, while held {:?} KiB, after {:?} KiB\n\
             closed by the server after (s): {}; {held_open} held open; a health check meanwhile: {} in {probe_ms:.1} ms",
            args.connections,
            opened.as_secs_f64(),
            rss_idle,
            rss_held,
            rss_after,
            describe(&close, "s"),
            if probe_ok { "200" } else { "failed" },
        ),
        json: json!({
            "scenario": "slow-heads",
            "connections": args.connections,
            "rss_idle_kib": rss_idle,
            "rss_held_kib": rss_held,
            "rss_after_kib": rss_after,
            "close_secs": close,
            "held_open": held_open,
            "probe_ok": probe_ok,
            "probe_ms": probe_ms,
        }),
        failure,
    })
}
