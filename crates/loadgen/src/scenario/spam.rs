//! Scenario 12, a spam wave: guests under many names from many addresses
//! send as fast as their addresses' send limit lets them, while ordinary
//! senders talk and subscribers follow the stream; after a while a
//! moderator blocks them (half by address, half by every name they use).
//! Every spam message sent after its block was acknowledged must be
//! refused (`403 blocked`), and the ordinary messages' fan-out latency is
//! what the report gives.
//!
//! The moderator is an account the run signs in as (`--moderator`, with
//! the load generator's password), made a moderator beforehand with the
//! server's `admin grant` (see BENCHMARKS.md, "How to run").

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde_json::json;

use crate::{
    Report,
    sse::{self, Connect},
    stats::{describe, percentiles},
    target::Target,
};

#[derive(Debug, clap::Args)]
pub struct SpamArgs {
    /// The moderator's account name (password: the load generator's).
    #[arg(long)]
    moderator: String,
    /// Source addresses the spam comes from (the first ones).
    #[arg(long, default_value_t = 20)]
    spam_addrs: usize,
    /// Guest names the spam uses, spread over its addresses.
    #[arg(long, default_value_t = 100)]
    names: usize,
    /// Messages per second each spam address sends (its send limit is 10).
    #[arg(long, default_value_t = 10)]
    spam_rate: u32,
    /// How long the spam goes on.
    #[arg(long, default_value_t = 10)]
    spam_secs: u64,
    /// When the moderator blocks it, from the start.
    #[arg(long, default_value_t = 3)]
    block_after_secs: u64,
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Ordinary senders (guests from addresses of their own, after the
    /// spam's).
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Ordinary messages per second, in all.
    #[arg(long, default_value_t = 40)]
    rate: u32,
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// How long subscribers may take after the last message.
    #[arg(long, default_value_t = 5)]
    drain_secs: u64,
}

/// One spam send: when it started (µs since the origin), under which
/// name, from which address, and its answer's status.
struct SpamSend {
    started_us: u128,
    name: usize,
    address: usize,
    status: u16,
}

pub async fn wave(target: &Target, args: SpamArgs) -> anyhow::Result<Report> {
    let spam_addrs = args.spam_addrs.max(1);
    anyhow::ensure!(
        target.source_addrs() >= spam_addrs + args.senders,
        "--source-addrs must give the spam's addresses and the senders' their own ({})",
        spam_addrs + args.senders
    );
    let run = super::accounts::run_id();
    let name = |k: usize| format!("spam{run}n{k}");
    let mut moderator = super::Sender::new(target, spam_addrs);
    moderator.sign_in(&args.moderator, false).await?;

    let origin = Instant::now();
    let streams: Vec<_> = stream::iter(0..args.subscribers)
        .map(|n| sse::connect(target, n, "/api/events", Connect::Browser))
        .buffer_unordered(args.connect_concurrency)
        .collect()
        .await;
    let connect_errors = streams.iter().filter(|s| s.is_err()).count();
    let until = tokio::time::Instant::now() + Duration::from_secs(args.spam_secs + args.drain_secs);
    // At most this many entries (every send accepted); the streams are
    // read until `until`, since how many spam messages get in is the
    // server's to decide.
    let most = (spam_addrs as u64 * u64::from(args.spam_rate) + u64::from(args.rate))
        * (args.spam_secs + 1);
    let most = usize::try_from(most).unwrap_or(usize::MAX / 2);
    let collectors: Vec<_> = streams
        .into_iter()
        .filter_map(Result::ok)
        .map(|stream| tokio::spawn(sse::collect(stream, most, origin, until)))
        .collect();

    let spam_started = Instant::now();
    let spam_for = Duration::from_secs(args.spam_secs);
    let spammers = (0..spam_addrs).map(|address| {
        let names: Vec<usize> = (address..args.names).step_by(spam_addrs).collect();
        let mut sender = super::Sender::new(target, address);
        let every = Duration::from_secs_f64(1.0 / f64::from(args.spam_rate.max(1)));
        let name = &name;
        async move {
            let mut sends = Vec::new();
            let mut ticker = tokio::time::interval(every);
            let mut i = 0;
            while spam_started.elapsed() < spam_for && !names.is_empty() {
                ticker.tick().await;
                let k = names[i % names.len()];
                i += 1;
                let started_us = origin.elapsed().as_micros();
                let body = json!({ "username": name(k), "text": format!("buy now {i}") });
                let status = sender
                    .post_status("/api/messages", &body)
                    .await
                    .unwrap_or(0);
                sends.push(SpamSend {
                    started_us,
                    name: k,
                    address,
                    status,
                });
            }
            sends
        }
    });
    let per_sender =
        Duration::from_secs_f64(args.senders.max(1) as f64 / f64::from(args.rate.max(1)));
    let ordinary = (0..args.senders).map(|k| {
        let mut sender = super::Sender::new(target, spam_addrs + k);
        async move {
            let (mut ids, mut errors) = (Vec::new(), 0usize);
            let mut ticker = tokio::time::interval(per_sender);
            let mut n = k;
            while spam_started.elapsed() < spam_for {
                ticker.tick().await;
                match sender.send_stamped(n, origin).await {
                    Ok(id) => ids.push(id),
                    Err(_) => errors += 1,
                }
                n += args.senders;
            }
            (ids, errors)
        }
    });
    // The moderator: half the addresses blocked by address, the other
    // half by every name they use; when each block was acknowledged. A
    // moderator's actions count against its send limit too: refused for
    // that, a block is asked again a moment later.
    let blocking = async {
        tokio::time::sleep(Duration::from_secs(args.block_after_secs)).await;
        let mut block = async |body: serde_json::Value| loop {
            match moderator.post_status("/api/blocks", &body).await {
                Ok(429) => tokio::time::sleep(Duration::from_millis(50)).await,
                answer => break answer,
            }
        };
        let mut by_address = vec![None; spam_addrs];
        let mut by_name = vec![None; args.names];
        let mut refused = 0usize;
        for (address, blocked) in by_address.iter_mut().enumerate() {
            if address % 2 == 0 {
                let ip = target.source(address).ip().to_string();
                let body = json!({ "address": ip, "reason": "spam wave" });
                match block(body).await {
                    Ok(201) => *blocked = Some(origin.elapsed().as_micros()),
                    _ => refused += 1,
                }
            } else {
                for k in (address..args.names).step_by(spam_addrs) {
                    let body = json!({ "guest_name": name(k), "reason": "spam wave" });
                    match block(body).await {
                        Ok(201) => by_name[k] = Some(origin.elapsed().as_micros()),
                        _ => refused += 1,
                    }
                }
            }
        }
        (by_address, by_name, refused, origin.elapsed())
    };
    let (spam, ordinary, (by_address, by_name, blocks_refused, blocked_at)) = tokio::join!(
        futures::future::join_all(spammers),
        futures::future::join_all(ordinary),
        blocking
    );
    let spam: Vec<SpamSend> = spam.into_iter().flatten().collect();
    let mut ordinary_ids = Vec::new();
    let mut send_errors = 0;
    for (ids, errors) in ordinary {
        ordinary_ids.extend(ids);
        send_errors += errors;
    }
    ordinary_ids.sort_unstable();

    let blocked_before = |send: &SpamSend| {
        by_address[send.address]
            .or(by_name[send.name])
            .is_some_and(|at| send.started_us > at)
    };
    let after_block: Vec<&SpamSend> = spam.iter().filter(|send| blocked_before(send)).collect();
    let leaked = after_block.iter().filter(|send| send.status != 403).count();
    let accepted = spam.iter().filter(|send| send.status == 201).count();
    let limited = spam.iter().filter(|send| send.status == 429).count();

    let mut latencies = Vec::new();
    let (mut complete, subscribers) = (0usize, collectors.len());
    for collector in collectors {
        let received = collector.await?;
        let got: std::collections::HashSet<i64> = received.ids.iter().copied().collect();
        if ordinary_ids.iter().all(|id| got.contains(id)) {
            complete += 1;
        }
        latencies.extend(received.latencies_ms);
    }
    let latency = percentiles(&mut latencies);
    let failure = (leaked + connect_errors + send_errors + blocks_refused > 0
        || complete < subscribers)
        .then(|| {
            format!(
                "{leaked} spam messages not refused after their block, {blocks_refused} blocks \
                 refused, {send_errors} ordinary sends failed, {connect_errors} connect errors, \
                 {} subscribers missing ordinary messages",
                subscribers - complete
            )
        });
    let summary = format!(
        "spam wave: {spam_addrs} addresses, {names} names, {sent} spam sends in {secs} s \
         ({accepted} accepted, {limited} refused by the send limit, {after} after their block \
         of which {leaked} not refused); blocks in place {blocked:.2} s after the start\n\
         ordinary: {ordinary} messages from {senders} senders; {complete}/{subscribers} \
         subscribers got them all ({connect_errors} connect errors)\n\
         ordinary messages' latency: {latency_line}",
        names = args.names,
        sent = spam.len(),
        secs = args.spam_secs,
        after = after_block.len(),
        blocked = blocked_at.as_secs_f64(),
        ordinary = ordinary_ids.len(),
        senders = args.senders,
        latency_line = describe(&latency, "ms"),
    );
    let json = json!({
        "scenario": "spam-wave",
        "spam_addrs": spam_addrs,
        "names": args.names,
        "spam_sends": spam.len(),
        "spam_accepted": accepted,
        "spam_rate_limited": limited,
        "spam_after_block": after_block.len(),
        "spam_leaked": leaked,
        "blocks_refused": blocks_refused,
        "blocked_at_secs": blocked_at.as_secs_f64(),
        "ordinary_messages": ordinary_ids.len(),
        "subscribers": subscribers,
        "complete_subscribers": complete,
        "connect_errors": connect_errors,
        "latency_ms": latency,
    });
    Ok(Report {
        summary,
        json,
        failure,
    })
}
