//! Scenario 13: fan-out where each stream may see only some rooms.
//! `--subscribers` accounts each hold a stream; `--rooms` private rooms
//! (made by owners who hold no stream) each have some of them as members,
//! every subscriber being in `--rooms-each` of them; `--direct` direct
//! conversations pair subscribers. `--messages` messages go round the
//! rooms and conversations in turn, each sent by a member (a room's
//! owner, a conversation's first person). Every stream must receive
//! exactly the messages of the rooms and conversations its account is in,
//! once each and in id order, and nothing else; anything else fails the
//! run. Needs a server with `--account-limit off --send-limit off`.

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde_json::json;

use super::Sender;
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
    /// Private rooms, each made by an owner (a room per owner up to 15,
    /// what one account and one address may make in a day).
    #[arg(long, default_value_t = 500)]
    rooms: usize,
    /// How many of the rooms each subscriber is a member of.
    #[arg(long, default_value_t = 10)]
    rooms_each: usize,
    /// Direct conversations, each of two subscribers.
    #[arg(long, default_value_t = 1000)]
    direct: usize,
    #[arg(long, default_value_t = 5000)]
    messages: usize,
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Messages per second offered in total; 0 sends as fast as possible.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// How many requests (sign-ups, members added, conversations opened,
    /// streams opened) are made at once while setting up.
    #[arg(long, default_value_t = 16)]
    setup_concurrency: usize,
    /// How long subscribers may take after the last send.
    #[arg(long, default_value_t = 60)]
    drain_secs: u64,
}

/// Rooms each owner makes, within what one account and one address may.
const ROOMS_PER_OWNER: usize = 15;

/// Where a message goes, and who may see it.
struct Place {
    /// `/api/rooms/<name>/messages`.
    path: String,
    /// The session of the member who sends there.
    sender: String,
    /// The subscribers who are in it.
    members: Vec<usize>,
}

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    anyhow::ensure!(
        args.subscribers >= 2 && args.rooms_each <= args.rooms && args.rooms + args.direct > 0,
        "two subscribers at least, and no more rooms each than rooms"
    );
    let owners = args.rooms.div_ceil(ROOMS_PER_OWNER);
    anyhow::ensure!(
        owners <= target.source_addrs(),
        "{} rooms need at least {owners} source addresses (--source-addrs)",
        args.rooms
    );
    let run = super::accounts::run_id();
    let setup_started = Instant::now();
    let concurrency = args.setup_concurrency.max(1);

    // The subscribers' accounts, and their sessions.
    let subscribers: Vec<String> = stream::iter(0..args.subscribers)
        .map(|n| async move {
            let mut sender = Sender::new(target, n);
            sender.sign_in(&format!("lg{run}s{n}"), true).await?;
            anyhow::Ok(sender.session().unwrap_or_default().to_owned())
        })
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;

    // The rooms: owner k makes rooms k*15.., from source address k, and
    // adds their members.
    let step = (args.rooms / args.rooms_each.max(1)).max(1);
    let mut members_of: Vec<Vec<usize>> = vec![Vec::new(); args.rooms];
    for subscriber in 0..args.subscribers {
        for j in 0..args.rooms_each {
            members_of[(subscriber + j * step) % args.rooms].push(subscriber);
        }
    }
    let names: Vec<String> = (0..args.rooms).map(|r| format!("lg{run}p{r}")).collect();
    let owner_sessions: Vec<String> = stream::iter(0..owners)
        .map(|k| {
            let (names, members_of) = (&names, &members_of);
            async move {
                let mut owner = Sender::new(target, k);
                owner.sign_in(&format!("lg{run}o{k}"), true).await?;
                let rooms = k * ROOMS_PER_OWNER..((k + 1) * ROOMS_PER_OWNER).min(names.len());
                for room in rooms {
                    owner.create_room_of(&names[room], true).await?;
                    for &member in &members_of[room] {
                        let path = format!("/api/rooms/{}/members", names[room]);
                        let body = json!({ "username": format!("lg{run}s{member}") });
                        owner.post_expecting(&path, &body, 200).await?;
                    }
                }
                anyhow::Ok(owner.session().unwrap_or_default().to_owned())
            }
        })
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let mut places: Vec<Place> = (0..args.rooms)
        .map(|room| Place {
            path: format!("/api/rooms/{}/messages", names[room]),
            sender: owner_sessions[room / ROOMS_PER_OWNER].clone(),
            members: std::mem::take(&mut members_of[room]),
        })
        .collect();

    // The conversations: d pairs subscriber d with the next one along
    // (further along for each round past the subscribers' number).
    let pairs: Vec<(usize, usize)> = (0..args.direct)
        .map(|d| {
            let first = d % args.subscribers;
            let skip = 1 + (d / args.subscribers) % (args.subscribers - 1);
            (first, (first + skip) % args.subscribers)
        })
        .collect();
    let direct: Vec<Place> = stream::iter(pairs)
        .map(|(first, second)| {
            let subscribers = &subscribers;
            async move {
                let mut opener = Sender::new(target, first);
                opener.act_as(&subscribers[first]);
                let body = json!({ "usernames": [format!("lg{run}s{second}")] });
                let room = opener.post_expecting("/api/direct", &body, 200).await?;
                let name = room["name"].as_str().unwrap_or_default();
                anyhow::Ok(Place {
                    path: format!("/api/rooms/{}/messages", name.replace('@', "%40")),
                    sender: subscribers[first].clone(),
                    members: vec![first, second],
                })
            }
        })
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    places.extend(direct);
    let setup_secs = setup_started.elapsed().as_secs_f64();

    // How many messages each subscriber is owed: message i goes to place
    // i % places.
    let mut owed = vec![0usize; args.subscribers];
    for i in 0..args.messages {
        for &member in &places[i % places.len()].members {
            owed[member] += 1;
        }
    }

    let rss_before = resident_kib(target.server_pid);
    let connect_started = Instant::now();
    let streams: Vec<_> = stream::iter(0..args.subscribers)
        .map(|n| {
            let session = subscribers[n].clone();
            async move {
                sse::connect_as(target, n, "/api/events", Connect::Browser, Some(&session)).await
            }
        })
        .buffered(concurrency * 8)
        .collect()
        .await;
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let streams: Vec<_> = streams.into_iter().collect::<anyhow::Result<_>>()?;
    // Let the server settle before reading its memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = resident_kib(target.server_pid);

    let origin = Instant::now();
    let offered_secs = if args.rate == 0 {
        0
    } else {
        args.messages as u64 / u64::from(args.rate)
    };
    let until = tokio::time::Instant::now() + Duration::from_secs(offered_secs + args.drain_secs);
    let collectors: Vec<_> = streams
        .into_iter()
        .zip(&owed)
        .map(|(events, &owed)| tokio::spawn(sse::collect(events, owed, origin, until)))
        .collect();

    let (acked, send_errors) = send_all(target, &args, &places, origin).await;
    let send_secs = origin.elapsed().as_secs_f64();
    let mut received: Vec<Received> = Vec::with_capacity(collectors.len());
    for collector in collectors {
        received.push(collector.await?);
    }
    let delivery_secs = origin.elapsed().as_secs_f64();

    // What each subscriber may see: the acknowledged ids of its places.
    let mut expected: Vec<Vec<i64>> = vec![Vec::new(); args.subscribers];
    for (i, id) in &acked {
        for &member in &places[i % places.len()].members {
            expected[member].push(*id);
        }
    }
    let (mut exact, mut missing, mut foreign, mut out_of_order) = (0, 0, 0, 0);
    let mut latencies = Vec::new();
    let mut deliveries = 0;
    let mut stream_errors = Vec::new();
    for (subscriber, got) in received.iter_mut().enumerate() {
        let owed = &mut expected[subscriber];
        owed.sort_unstable();
        deliveries += got.ids.len();
        if got.ids == *owed {
            exact += 1;
        } else {
            if !got.ids.is_sorted() {
                out_of_order += 1;
            }
            missing += owed.iter().filter(|id| !got.ids.contains(id)).count();
            foreign += got
                .ids
                .iter()
                .filter(|id| owed.binary_search(id).is_err())
                .count();
        }
        if let Some(err) = got.error.take() {
            stream_errors.push(err);
        }
        latencies.append(&mut got.latencies_ms);
    }
    let latency = percentiles(&mut latencies);
    let per_connection_kib = match (rss_before, rss_connected) {
        (Some(before), Some(after)) => {
            Some(after.saturating_sub(before) as f64 / args.subscribers as f64)
        }
        _ => None,
    };
    let deliveries_per_sec = deliveries as f64 / delivery_secs;
    let failure = (send_errors + missing + foreign + out_of_order > 0 || exact != args.subscribers)
        .then(|| {
            format!(
                "{send_errors} send errors, {missing} missing, {foreign} not theirs, \
                 {out_of_order} out of order, {exact}/{} exact; first stream errors: {:?}",
                args.subscribers,
                stream_errors.iter().take(3).collect::<Vec<_>>()
            )
        });
    let summary = format!(
        "private fan-out: {subs} subscribers, {rooms} private rooms ({each} each), {direct} direct conversations; set up in {setup_secs:.1} s, streams opened in {connect_secs:.2} s\n\
         sent {sent} messages in {send_secs:.2} s ({send_errors} errors) by {senders} senders at {rate}/s offered\n\
         {deliveries} deliveries in {delivery_secs:.2} s: {deliveries_per_sec:.0} deliveries/s\n\
         exactly what each may see, once and in order: {exact}/{subs} subscribers ({missing} missing, {foreign} not theirs)\n\
         latency: {latency_line}\n\
         server memory: {rss_before:?} KiB before, {rss_connected:?} KiB connected, {per_connection:?} KiB per connection",
        subs = args.subscribers,
        rooms = args.rooms,
        each = args.rooms_each,
        direct = args.direct,
        sent = acked.len(),
        senders = args.senders,
        rate = args.rate,
        latency_line = describe(&latency, "ms"),
        per_connection = per_connection_kib.map(|k| (k * 100.0).round() / 100.0),
    );
    let json = json!({
        "scenario": "private",
        "subscribers": args.subscribers,
        "rooms": args.rooms,
        "rooms_each": args.rooms_each,
        "direct": args.direct,
        "setup_secs": setup_secs,
        "connect_secs": connect_secs,
        "messages": acked.len(),
        "senders": args.senders,
        "rate_offered": args.rate,
        "send_errors": send_errors,
        "send_secs": send_secs,
        "deliveries": deliveries,
        "delivery_secs": delivery_secs,
        "deliveries_per_sec": deliveries_per_sec,
        "exact_subscribers": exact,
        "missing": missing,
        "not_theirs": foreign,
        "out_of_order_subscribers": out_of_order,
        "latency_ms": latency,
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

/// Sends message `i` to `places[i % places.len()]` as its member, from
/// `args.senders` tasks paced to `args.rate` in all: each acknowledged
/// message's number and id, and how many sends failed.
async fn send_all(
    target: &Target,
    args: &Args,
    places: &[Place],
    origin: Instant,
) -> (Vec<(usize, i64)>, usize) {
    let senders = args.senders.max(1);
    let tasks = (0..senders).map(|task| {
        let interval =
            (args.rate > 0).then(|| Duration::from_secs_f64(senders as f64 / f64::from(args.rate)));
        async move {
            let mut connection = Sender::new(target, task);
            let mut ticker = interval.map(tokio::time::interval);
            let (mut acked, mut errors) = (Vec::new(), 0);
            for i in (task..args.messages).step_by(senders) {
                if let Some(ticker) = &mut ticker {
                    ticker.tick().await;
                }
                let place = &places[i % places.len()];
                connection.act_as(&place.sender);
                match connection.send_stamped_to(&place.path, i, origin).await {
                    Ok(id) => acked.push((i, id)),
                    Err(_) => errors += 1,
                }
            }
            (acked, errors)
        }
    });
    let mut all = (Vec::with_capacity(args.messages), 0);
    for (acked, errors) in futures::future::join_all(tasks).await {
        all.0.extend(acked);
        all.1 += errors;
    }
    all
}
