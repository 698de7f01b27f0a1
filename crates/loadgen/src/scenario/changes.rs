//! Scenario 11, a reaction storm: many accounts give and take back a
//! reaction to one message, together at a rate, while subscribers follow
//! the stream. Every change's entry must reach every subscriber exactly
//! once, in order; the report gives the changes' latency and the server's
//! memory (sampled) while the storm lasts.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};
use serde_json::json;

use crate::{
    Report,
    sse::{self, Connect},
    stats::{describe, percentiles},
    target::Target,
    watch::Memory,
};

#[derive(Debug, clap::Args)]
pub struct StormArgs {
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Accounts that react (spread over the source addresses: an address
    /// makes at most 20 accounts an hour).
    #[arg(long, default_value_t = 50)]
    reactors: usize,
    /// Reactions given or taken back per second, in all.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// How many reactions in all.
    #[arg(long, default_value_t = 10_000)]
    reactions: usize,
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// How long subscribers may take after the last reaction.
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,
}

pub async fn storm(target: &Target, args: StormArgs) -> anyhow::Result<Report> {
    let run = super::accounts::run_id();
    let reactors = args.reactors.max(1);
    let mut accounts = Vec::with_capacity(reactors);
    for k in 0..reactors {
        let mut reactor = super::Sender::new(target, k);
        reactor.sign_in(&format!("lg{run}s{k}"), true).await?;
        accounts.push(reactor);
    }
    let origin = Instant::now();
    let message = accounts[0].send_stamped(0, origin).await?;

    let path = format!("/api/events?after={message}");
    let streams: Vec<_> = stream::iter(0..args.subscribers)
        .map(|n| sse::connect(target, n, &path, Connect::Browser))
        .buffer_unordered(args.connect_concurrency)
        .collect()
        .await;
    let connect_errors = streams.iter().filter(|s| s.is_err()).count();
    let memory = Memory::watch(target.server_pid);
    let until = tokio::time::Instant::now()
        + Duration::from_secs(
            args.reactions as u64 / u64::from(args.rate.max(1)) + args.drain_secs,
        );
    let collectors: Vec<_> = streams
        .into_iter()
        .filter_map(Result::ok)
        .map(|stream| tokio::spawn(sse::collect(stream, args.reactions, origin, until)))
        .collect();

    let storm_started = origin.elapsed();
    let per_reactor = Duration::from_secs_f64(reactors as f64 / f64::from(args.rate.max(1)));
    let tasks = accounts.into_iter().enumerate().map(|(k, mut reactor)| {
        let count = (k..args.reactions).step_by(reactors).count();
        async move {
            let mut sent = HashMap::with_capacity(count);
            let mut errors = 0usize;
            let mut ticker = tokio::time::interval(per_reactor);
            for i in 0..count {
                ticker.tick().await;
                let sent_us = origin.elapsed().as_micros() as f64;
                // Given, taken back, given: each one a change.
                match reactor.react(message, "ok", i % 2 == 0).await {
                    Ok(Some(entry)) => {
                        sent.insert(entry, sent_us);
                    }
                    Ok(None) | Err(_) => errors += 1,
                }
            }
            (sent, errors)
        }
    });
    let mut sent: HashMap<i64, f64> = HashMap::with_capacity(args.reactions);
    let mut send_errors = 0;
    for (made, errors) in futures::future::join_all(tasks).await {
        sent.extend(made);
        send_errors += errors;
    }
    let storm_secs = (origin.elapsed() - storm_started).as_secs_f64();

    let mut expected: Vec<i64> = sent.keys().copied().collect();
    expected.sort_unstable();
    let (mut exact, mut wrong) = (0usize, 0usize);
    let mut latencies = Vec::new();
    let mut stream_errors = Vec::new();
    let subscribers = collectors.len();
    for collector in collectors {
        let mut received = collector.await?;
        if received.ids == expected {
            exact += 1;
        } else {
            wrong += 1;
        }
        latencies.extend(
            received
                .changes
                .iter()
                .filter_map(|(id, at)| sent.get(id).map(|sent_us| (at - sent_us) / 1000.0)),
        );
        if let Some(err) = received.error.take() {
            stream_errors.push(err);
        }
    }
    let memory = memory.finish(Duration::from_secs(2)).await;
    let latency = percentiles(&mut latencies);
    let rate = expected.len() as f64 / storm_secs;
    let failure = (connect_errors + send_errors + wrong > 0).then(|| {
        format!(
            "{connect_errors} connect errors, {send_errors} reactions refused or failed, \
             {wrong} subscribers without every change exactly once in order; \
             first stream errors: {:?}",
            stream_errors.iter().take(3).collect::<Vec<_>>()
        )
    });
    let summary = format!(
        "reaction storm: {reactors} accounts gave or took back {made} reactions to one message \
         in {storm_secs:.2} s ({rate:.0}/s; {send_errors} errors)\n\
         {subscribers} subscribers ({connect_errors} connect errors): exactly once and in order: \
         {exact}/{subscribers}\n\
         change latency: {latency_line}\n\
         server memory: {memory_line}",
        made = expected.len(),
        latency_line = describe(&latency, "ms"),
        memory_line = memory.describe(),
    );
    let json = json!({
        "scenario": "reaction-storm",
        "reactors": reactors,
        "reactions": expected.len(),
        "storm_secs": storm_secs,
        "reactions_per_sec": rate,
        "send_errors": send_errors,
        "subscribers": subscribers,
        "connect_errors": connect_errors,
        "exact_subscribers": exact,
        "latency_ms": latency,
        "memory": memory.json(),
    });
    Ok(Report {
        summary,
        json,
        failure,
    })
}
