//! Scenarios 1, 2 and 9: N subscribers, M messages from K senders at a
//! rate, to one room or (`--rooms`) spread over several. Every subscriber
//! must receive every acknowledged message exactly once, in id order
//! (the stream carries every room); anything else fails the run.
//!
//! With `--changes-percent`, that share of the operations are changes
//! instead of new messages (each sender, signed in as an account of its
//! own, edits its newest message or gives or takes back a reaction to it,
//! in turn): every change's entry must arrive exactly once too, in the
//! same order, and a few subscribers (`--kept-states`) keep the last JSON
//! of every message, which must equal the store's at the end. All
//! subscribers receive the same frames (the ids are checked for each), so
//! the sample's state stands for everyone's.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};
use serde_json::json;

use crate::{
    Report,
    sse::{self, Connect, Received},
    stats::{describe, percentiles, resident_kib},
    target::Target,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    #[arg(long, default_value_t = 5000)]
    messages: usize,
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Messages per second offered in total; 0 sends as fast as possible.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// How many connections are opened at once while connecting.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// How subscribers open their streams.
    #[arg(long, value_enum, default_value_t)]
    connect: Connect,
    /// How long subscribers may take after the last send.
    #[arg(long, default_value_t = 60)]
    drain_secs: u64,
    /// Spread the messages over this many rooms (`general` and rooms the
    /// run creates, signed in as an account of its own); message `i` goes
    /// to room `i % rooms`.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// The share of operations, in percent, that change a message (an
    /// edit or a reaction) instead of sending one (one room only).
    #[arg(long, default_value_t = 0)]
    changes_percent: usize,
    /// How many subscribers keep every message's last JSON, checked
    /// against the store at the end (with changes).
    #[arg(long, default_value_t = 10)]
    kept_states: usize,
    /// Makes every message's text this many bytes longer, to measure the
    /// fan-out of larger frames (the floor for a change's frame).
    #[arg(long, default_value_t = 0)]
    pad_bytes: usize,
}

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    anyhow::ensure!(
        args.changes_percent <= 100 && (args.changes_percent == 0 || args.rooms == 1),
        "--changes-percent is a percentage, with one room"
    );
    let rooms = room_paths(target, args.rooms).await?;
    let rss_before = resident_kib(target.server_pid);
    let connect_started = Instant::now();
    let responses: Vec<_> = stream::iter(0..args.subscribers)
        .map(|n| sse::connect(target, n, "/api/events", args.connect))
        .buffer_unordered(args.connect_concurrency)
        .collect()
        .await;
    let connect_time = connect_started.elapsed();
    let connect_errors = responses.iter().filter(|r| r.is_err()).count();
    let responses: Vec<_> = responses.into_iter().filter_map(Result::ok).collect();
    // Let the server settle before reading its memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = resident_kib(target.server_pid);

    let origin = Instant::now();
    // Generous bound for collectors; the scenario's own deadline is the hard one.
    let offered_secs = if args.rate == 0 {
        0
    } else {
        args.messages as u64 / u64::from(args.rate)
    };
    let until = tokio::time::Instant::now() + Duration::from_secs(offered_secs + args.drain_secs);
    let keep = if args.changes_percent > 0 {
        args.kept_states
    } else {
        0
    };
    let collectors: Vec<_> = responses
        .into_iter()
        .enumerate()
        .map(|(n, response)| {
            tokio::spawn(sse::collect_keeping(
                response,
                args.messages,
                origin,
                until,
                n < keep,
            ))
        })
        .collect();

    let Sent {
        entries: acked,
        changes: changes_sent,
        errors: send_errors,
    } = send_all(target, &args, &rooms, origin).await?;
    let send_secs = origin.elapsed().as_secs_f64();

    let mut received: Vec<Received> = Vec::with_capacity(collectors.len());
    for collector in collectors {
        received.push(collector.await?);
    }
    let delivery_secs = origin.elapsed().as_secs_f64();

    let mut expected = acked;
    expected.sort_unstable();
    let (mut lost, mut duplicated, mut out_of_order, mut exact) = (0usize, 0usize, 0usize, 0usize);
    let mut stream_errors = Vec::new();
    let mut latencies = Vec::new();
    let mut change_latencies = Vec::new();
    let mut deliveries = 0usize;
    for subscriber in &mut received {
        change_latencies.extend(subscriber.changes.iter().filter_map(|(id, arrived_us)| {
            changes_sent
                .get(id)
                .map(|sent_us| (arrived_us - sent_us) / 1000.0)
        }));
        deliveries += subscriber.ids.len();
        if subscriber.ids == expected {
            exact += 1;
        } else {
            let mut sorted = subscriber.ids.clone();
            if !subscriber.ids.is_sorted() {
                out_of_order += 1;
            }
            sorted.sort_unstable();
            let before = sorted.len();
            sorted.dedup();
            duplicated += before - sorted.len();
            lost += expected
                .iter()
                .filter(|id| sorted.binary_search(id).is_err())
                .count();
        }
        if let Some(err) = subscriber.error.take() {
            stream_errors.push(err);
        }
        latencies.append(&mut subscriber.latencies_ms);
    }
    let latency = percentiles(&mut latencies);
    let change_latency = percentiles(&mut change_latencies);
    let state_mismatches = if keep > 0 {
        states_differ(target, &received).await?
    } else {
        0
    };
    let per_connection_kib = match (rss_before, rss_connected) {
        (Some(before), Some(after)) if !received.is_empty() => {
            Some((after.saturating_sub(before)) as f64 / received.len() as f64)
        }
        _ => None,
    };
    let deliveries_per_sec = deliveries as f64 / delivery_secs;

    let failure =
        (connect_errors + send_errors + lost + duplicated + out_of_order + state_mismatches > 0
            || exact != received.len())
        .then(|| {
            format!(
                "{connect_errors} connect errors, {send_errors} send errors, {lost} lost, \
             {duplicated} duplicated, {out_of_order} subscribers out of order, \
             {exact}/{} exact, {state_mismatches} messages unlike the store's; \
             first stream errors: {:?}",
                received.len(),
                stream_errors.iter().take(3).collect::<Vec<_>>()
            )
        });
    let summary = format!(
        "fan-out: {subs} subscribers on {servers} server(s) connected ({how:?}) in {connect:.2} s ({connect_errors} errors)\n\
         sent {sent} entries ({changes} of them changes) to {rooms} room(s) in {send_secs:.2} s ({send_errors} errors) by {senders} senders at {rate}/s offered\n\
         {deliveries} deliveries in {delivery_secs:.2} s: {deliveries_per_sec:.0} deliveries/s\n\
         exactly once and in order: {exact}/{subs} subscribers\n\
         latency: {latency_line}\n\
         changes' latency: {change_latency_line}; {state_mismatches} messages unlike the store's in {keep} kept states\n\
         server memory: {rss_before:?} KiB before, {rss_connected:?} KiB connected, {per_connection:?} KiB per connection",
        subs = received.len(),
        servers = target.servers(),
        how = args.connect,
        connect = connect_time.as_secs_f64(),
        sent = expected.len(),
        rooms = rooms.len(),
        senders = args.senders,
        rate = args.rate,
        latency_line = describe(&latency, "ms"),
        changes = changes_sent.len(),
        change_latency_line = describe(&change_latency, "ms"),
        per_connection = per_connection_kib.map(|k| (k * 100.0).round() / 100.0),
    );
    let json = json!({
        "scenario": "fanout",
        "subscribers": received.len(),
        "servers": target.servers(),
        "connect": format!("{:?}", args.connect).to_lowercase(),
        "connect_secs": connect_time.as_secs_f64(),
        "connect_errors": connect_errors,
        "messages": expected.len(),
        "rooms": rooms.len(),
        "senders": args.senders,
        "rate_offered": args.rate,
        "send_errors": send_errors,
        "send_secs": send_secs,
        "deliveries": deliveries,
        "delivery_secs": delivery_secs,
        "deliveries_per_sec": deliveries_per_sec,
        "exact_subscribers": exact,
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order_subscribers": out_of_order,
        "latency_ms": latency,
        "changes": changes_sent.len(),
        "changes_percent": args.changes_percent,
        "change_latency_ms": change_latency,
        "kept_states": keep,
        "state_mismatches": state_mismatches,
        "server_rss_kib_before": rss_before,
        "server_rss_kib_connected": rss_connected,
        "server_kib_per_connection": per_connection_kib,
    });
    Ok(Report {
        summary,
        json,
        failure,
    })
}

/// Rooms each creator makes, within what one account and one address may.
const ROOMS_PER_CREATOR: usize = 15;

/// The paths messages are sent to: `general`'s, and with `rooms > 1`,
/// those of `rooms - 1` rooms created for this run.
async fn room_paths(target: &Target, rooms: usize) -> anyhow::Result<Vec<String>> {
    let mut paths = vec!["/api/messages".to_owned()];
    if rooms <= 1 {
        return Ok(paths);
    }
    let run = super::accounts::run_id();
    // An account creates at most 20 rooms, an address 30 a day: a creator
    // per 15 rooms, each from the next source address.
    let mut creator = None;
    for room in 1..rooms {
        let k = (room - 1) / ROOMS_PER_CREATOR;
        if (room - 1) % ROOMS_PER_CREATOR == 0 {
            anyhow::ensure!(
                k < target.source_addrs(),
                "{rooms} rooms need at least {} source addresses (--source-addrs)",
                (rooms - 1).div_ceil(ROOMS_PER_CREATOR)
            );
            let mut next = super::Sender::new(target, k);
            next.sign_in(&super::accounts::name(run, k), true).await?;
            creator = Some(next);
        }
        let name = format!("lg{run}r{room}");
        if let Some(creator) = creator.as_mut() {
            creator.create_room(&name).await?;
        }
        paths.push(format!("/api/rooms/{name}/messages"));
    }
    Ok(paths)
}

/// What the senders did.
struct Sent {
    /// The id of every entry they made: messages and changes.
    entries: Vec<i64>,
    /// Each change's entry id and when it was sent (µs since the origin).
    changes: HashMap<i64, f64>,
    errors: usize,
}

/// Sends `args.messages` operations from `args.senders` tasks, paced to
/// `args.rate`, message `i` to `rooms[i % rooms.len()]`; with changes,
/// every `100 / changes_percent`-th operation of a sender changes its
/// newest message instead: an edit, then a reaction given, then that
/// reaction taken back, in turn.
async fn send_all(
    target: &Target,
    args: &Args,
    rooms: &[String],
    origin: Instant,
) -> anyhow::Result<Sent> {
    let senders = args.senders.max(1);
    let run = super::accounts::run_id();
    let tasks = (0..senders).map(|sender| {
        let count = (sender..args.messages).step_by(senders).count();
        let interval =
            (args.rate > 0).then(|| Duration::from_secs_f64(senders as f64 / f64::from(args.rate)));
        async move {
            let mut sent = Sent {
                entries: Vec::with_capacity(count),
                changes: HashMap::new(),
                errors: 0,
            };
            let mut connection = super::Sender::new(target, sender);
            connection.pad_texts(args.pad_bytes);
            if args.changes_percent > 0 {
                connection
                    .sign_in(&format!("lg{run}c{sender}"), true)
                    .await?;
            }
            let mut ticker = interval.map(tokio::time::interval);
            let mut newest = None;
            let mut reacted_to = None;
            let mut changes = 0usize;
            for i in 0..count {
                if let Some(ticker) = &mut ticker {
                    ticker.tick().await;
                }
                let n = sender + i * senders;
                let change = (i + 1) * args.changes_percent / 100 != i * args.changes_percent / 100;
                if let (true, Some(id)) = (change, newest) {
                    let sent_us = origin.elapsed().as_micros() as f64;
                    let made = match (changes % 3, reacted_to) {
                        (0, _) => connection.edit_stamped(id, origin).await,
                        (2, Some(given)) => connection.react(given, "ok", false).await,
                        _ => {
                            reacted_to = Some(id);
                            connection.react(id, "ok", true).await
                        }
                    };
                    changes += 1;
                    match made {
                        Ok(Some(entry)) => {
                            sent.entries.push(entry);
                            sent.changes.insert(entry, sent_us);
                        }
                        Ok(None) | Err(_) => sent.errors += 1,
                    }
                    continue;
                }
                let path = &rooms[n % rooms.len()];
                match connection.send_stamped_to(path, n, origin).await {
                    Ok(id) => {
                        sent.entries.push(id);
                        newest = Some(id);
                    }
                    Err(_) => sent.errors += 1,
                }
            }
            anyhow::Ok(sent)
        }
    });
    let mut all = Sent {
        entries: Vec::with_capacity(args.messages),
        changes: HashMap::new(),
        errors: 0,
    };
    for sent in futures::future::join_all(tasks).await {
        let sent = sent?;
        all.entries.extend(sent.entries);
        all.changes.extend(sent.changes);
        all.errors += sent.errors;
    }
    Ok(all)
}

/// How many messages kept by the subscribers that kept states differ from
/// (or are missing in) the store's `general` as it now is.
async fn states_differ(target: &Target, received: &[Received]) -> anyhow::Result<usize> {
    let client = crate::watch::loopback_client()?;
    let oldest = received
        .iter()
        .filter_map(|r| r.states.as_ref())
        .flat_map(|states| states.keys().copied())
        .min()
        .unwrap_or(1);
    let mut stored: HashMap<i64, serde_json::Value> = HashMap::new();
    let mut after = oldest - 1;
    loop {
        let url = format!("{}?after={after}&limit=500", target.url("/api/messages"));
        let page: Vec<serde_json::Value> = client.get(url).send().await?.json().await?;
        let Some(last) = page.last().and_then(|m| m["id"].as_i64()) else {
            break;
        };
        after = last;
        for message in page {
            if let Some(id) = message["id"].as_i64() {
                stored.insert(id, message);
            }
        }
    }
    let mut differ = 0;
    for states in received.iter().filter_map(|r| r.states.as_ref()) {
        for (id, json) in states {
            let kept: serde_json::Value = serde_json::from_str(json)?;
            if stored.get(id) != Some(&kept) {
                differ += 1;
            }
        }
    }
    Ok(differ)
}
