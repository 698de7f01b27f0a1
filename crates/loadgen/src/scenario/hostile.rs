//! The third attack review's findings as scenarios (BENCHMARKS.md, scenario
//! 10): each attack comes from the load generator's source addresses
//! (`--source-addrs 1`: one address), at the scale the review measured it,
//! against a server with its default limits on. Each reports the server's
//! memory before, at its peak (sampled every 100 ms) and after, and a
//! bystander's experience meanwhile: from 127.0.0.1, an address no attacker
//! uses, `/healthz` must answer 200 and a send 201, and the bystander's
//! open event stream must deliver that message.
//!
//! - `signin-keys`: sign-ins with huge names no account could have
//!   (finding 1);
//! - `slow-bodies`: requests whose bodies never finish, with a made-up
//!   session cookie (finding 3);
//! - `presence-amp`: open pages with guest names, kept alive by
//!   heartbeats (findings 5 and 6);
//! - `rooms-exhaust`: accounts made from one address creating rooms until
//!   refused (finding 7);
//! - `accounts-budget`: accounts made from one address sending as fast as
//!   they are let (finding 8).

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::{
    Report,
    http::Connection,
    stats::{describe, percentiles},
    target::Target,
    watch::{Bystander, Memory, Statuses, loopback_client},
};

#[derive(Debug, clap::Args)]
pub struct SignInKeysArgs {
    /// How long to attack.
    #[arg(long, default_value_t = 40)]
    secs: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

#[derive(Debug, clap::Args)]
pub struct SlowBodiesArgs {
    /// How many requests whose bodies never finish.
    #[arg(long, default_value_t = 300)]
    connections: usize,
}

#[derive(Debug, clap::Args)]
pub struct PresenceArgs {
    /// Open pages per source address, each with its own guest name.
    #[arg(long, default_value_t = 456)]
    pages: usize,
    /// Heartbeats per second per source address.
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// How long to keep them open.
    #[arg(long, default_value_t = 60)]
    secs: u64,
}

#[derive(Debug, clap::Args)]
pub struct RoomsArgs {
    /// Accounts to make from the first source address, each then creating
    /// rooms until refused.
    #[arg(long, default_value_t = 10)]
    accounts: usize,
}

#[derive(Debug, clap::Args)]
pub struct BudgetArgs {
    /// Accounts to make from the first source address.
    #[arg(long, default_value_t = 30)]
    accounts: usize,
    /// How long they send.
    #[arg(long, default_value_t = 10)]
    secs: u64,
}

/// Finding 1: sign-ins with names no account could have (60,000 × `m`,
/// 21,000 × U+FDFA: bodies just under the 64 KiB limit), as fast as the
/// server answers, from the first source address.
pub async fn signin_keys(target: &Target, args: SignInKeysArgs) -> anyhow::Result<Report> {
    let mut bystander = Bystander::join(target).await?;
    let memory = Memory::watch(target.server_pid);
    let bodies: Vec<Vec<u8>> = ["m".repeat(60_000), "\u{FDFA}".repeat(21_000)]
        .into_iter()
        .map(|name| serde_json::to_vec(&json!({ "username": name, "password": "wrong password" })))
        .collect::<Result<_, _>>()?;
    let until = Instant::now() + Duration::from_secs(args.secs);
    let started = Instant::now();
    let workers = (0..args.concurrency.max(1)).map(|worker| {
        let bodies = &bodies;
        async move {
            let mut statuses = Statuses::default();
            let mut sender = super::Sender::new(target, 0);
            let mut k = worker;
            while Instant::now() < until {
                match sender.post_bytes("/api/session", &bodies[k % 2]).await {
                    Ok((head, _)) => statuses.count(head.status),
                    Err(err) => statuses.failed(err),
                }
                k += 1;
            }
            statuses
        }
    });
    let attack = futures::future::join_all(workers);
    let probe = async {
        tokio::time::sleep(Duration::from_secs(args.secs / 2)).await;
        bystander.probe().await
    };
    let (results, probe) = tokio::join!(attack, probe);
    let elapsed = started.elapsed().as_secs_f64();
    let mut statuses = Statuses::default();
    for one in results {
        statuses.merge(one);
    }
    let memory = memory.finish(Duration::from_secs(2)).await;
    let sent = statuses.total();
    let failure = memory
        .failure()
        .or_else(|| (!probe.served()).then(|| format!("the bystander was not served: {probe:?}")));
    Ok(Report {
        summary: format!(
            "signin-keys: {sent} sign-ins with huge names in {elapsed:.1} s ({:.0}/s): {}\n\
             {}; meanwhile {probe:?}",
            sent as f64 / elapsed,
            statuses.describe(),
            memory.describe(),
        ),
        json: json!({
            "scenario": "signin-keys",
            "requests": sent,
            "secs": elapsed,
            "statuses": statuses.json(),
            "memory": memory.json(),
            "bystander": probe.json(),
        }),
        failure,
    })
}

/// Finding 3: requests whose bodies never finish (half of a declared
/// 1,000 bytes), each with a made-up session cookie, from the first
/// source address. The server must answer or close each within its body
/// deadline and keep serving others meanwhile.
pub async fn slow_bodies(target: &Target, args: SlowBodiesArgs) -> anyhow::Result<Report> {
    let mut bystander = Bystander::join(target).await?;
    let memory = Memory::watch(target.server_pid);
    let started = Instant::now();
    let mut held = Vec::with_capacity(args.connections);
    let mut refused = 0_usize;
    for n in 0..args.connections {
        let Ok(mut connection) = Connection::open(target, 0).await else {
            refused += 1;
            continue;
        };
        let cookie: String = (0..64)
            .map(|i| if (i + n) % 2 == 0 { 'a' } else { '7' })
            .collect();
        let head = format!(
            "POST /api/messages HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Cookie: chat_session={cookie}\r\nContent-Length: 1000\r\n\r\n",
            target.host(0)
        );
        let half = format!("{{\"username\": \"slow\", \"text\": \"{}", "x".repeat(470));
        let written = async {
            connection.tcp.write_all(head.as_bytes()).await?;
            connection.tcp.write_all(&half.as_bytes()[..500]).await
        };
        if written.await.is_err() {
            refused += 1;
            continue;
        }
        held.push((Instant::now(), connection));
    }
    let opened = started.elapsed().as_secs_f64();
    let probe = bystander.probe().await;
    let ends = futures::future::join_all(held.iter_mut().map(|(opened, connection)| async {
        let read = async {
            let mut rest = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut connection.tcp, &mut rest).await;
            let status = std::str::from_utf8(&rest)
                .ok()
                .and_then(|text| text.split_whitespace().nth(1)?.parse::<u16>().ok())
                .unwrap_or(0);
            (status, opened.elapsed().as_secs_f64())
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .ok()
    }))
    .await;
    let still_open = ends.iter().filter(|end| end.is_none()).count();
    let mut statuses = Statuses::default();
    let mut close_secs = Vec::new();
    for (status, secs) in ends.into_iter().flatten() {
        statuses.count(status);
        close_secs.push(secs);
    }
    drop(held);
    let close = percentiles(&mut close_secs);
    let memory = memory.finish(Duration::from_secs(2)).await;
    let failure = memory
        .failure()
        .or_else(|| (still_open > 0).then(|| format!("{still_open} were held open for 30 s")))
        .or_else(|| (!probe.served()).then(|| format!("the bystander was not served: {probe:?}")));
    Ok(Report {
        summary: format!(
            "slow-bodies: {} half-sent bodies opened in {opened:.1} s ({refused} refused at once); answered {} and closed after (s): {}; {still_open} still open\n\
             {}; meanwhile {probe:?}",
            args.connections,
            statuses.describe(),
            describe(&close, "s"),
            memory.describe(),
        ),
        json: json!({
            "scenario": "slow-bodies",
            "connections": args.connections,
            "refused_at_once": refused,
            "statuses": statuses.json(),
            "close_secs": close,
            "still_open": still_open,
            "memory": memory.json(),
            "bystander": probe.json(),
        }),
        failure,
    })
}

/// Findings 5 and 6: every source address keeps `--pages` open pages in
/// `general`, each a guest with a name of its own, beating at `--rate`
/// per second (a page not heard from for 45 s has left). The bystander's
/// stream counts what presence costs every reader.
pub async fn presence_amp(target: &Target, args: PresenceArgs) -> anyhow::Result<Report> {
    let mut bystander = Bystander::join(target).await?;
    let memory = Memory::watch(target.server_pid);
    let bytes_before = bystander.bytes.load(Ordering::Relaxed);
    let started = Instant::now();
    let until = started + Duration::from_secs(args.secs);
    let run = super::accounts::run_id();
    let pace = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let workers = (0..target.source_addrs()).map(|address| async move {
        let mut statuses = Statuses::default();
        let mut ticks = tokio::time::interval(pace);
        let mut page = 0_usize;
        let mut sender = super::Sender::new(target, address);
        while Instant::now() < until {
            ticks.tick().await;
            let tab = format!("00000000-0000-4000-8000-{:04x}{:08x}", address, page);
            let browser = format!("00000000-0000-4000-9000-{:04x}{:08x}", address, page);
            let body = json!({
                "browser": browser,
                "tab": tab,
                "name": format!("g{run}a{address}p{page}"),
            });
            match sender
                .post_status("/api/rooms/general/presence", &body)
                .await
            {
                Ok(status) => statuses.count(status),
                Err(err) => statuses.failed(err),
            }
            page = (page + 1) % args.pages.max(1);
        }
        statuses
    });
    let attack = futures::future::join_all(workers);
    let probe = async {
        // Once the pages could all be open.
        let full = Duration::from_secs_f64(args.pages as f64 / f64::from(args.rate.max(1)));
        tokio::time::sleep(full.min(Duration::from_secs(args.secs * 3 / 4))).await;
        // A real page opening now: is it let in, and what does it see?
        let here = async {
            let response = bystander
                .client
                .post(format!("{}/api/rooms/general/presence", bystander.base))
                .json(&json!({
                    "browser": "00000000-0000-4000-a000-000000000001",
                    "tab": "00000000-0000-4000-a000-000000000002",
                }))
                .send()
                .await
                .ok()?;
            let status = response.status().as_u16();
            let mut seen: Value = response.json().await.unwrap_or_default();
            // The names are the attacker's; how many is what matters.
            if let Some(people) = seen.get_mut("people") {
                *people = json!(people.as_array().map_or(0, Vec::len));
            }
            Some(json!({ "status": status, "seen": seen }))
        }
        .await;
        (bystander.probe().await, here)
    };
    let (results, (probe, here)) = tokio::join!(attack, probe);
    let elapsed = started.elapsed().as_secs_f64();
    let streamed = bystander.bytes.load(Ordering::Relaxed) - bytes_before;
    let largest = bystander.largest_event.load(Ordering::Relaxed);
    let mut statuses = Statuses::default();
    for one in results {
        statuses.merge(one);
    }
    let memory = memory.finish(Duration::from_secs(2)).await;
    let failure = memory
        .failure()
        .or_else(|| (!probe.served()).then(|| format!("the bystander was not served: {probe:?}")));
    Ok(Report {
        summary: format!(
            "presence-amp: {} addresses × {} named pages at {}/s each for {elapsed:.0} s: heartbeats {}\n\
             to the bystander's stream: {:.1} KB/s, largest event {largest} bytes; its own page's heartbeat: {}\n\
             {}; meanwhile {probe:?}",
            target.source_addrs(),
            args.pages,
            args.rate,
            statuses.describe(),
            streamed as f64 / elapsed / 1000.0,
            here.as_ref()
                .map_or_else(|| "no answer".to_owned(), Value::to_string),
            memory.describe(),
        ),
        json: json!({
            "scenario": "presence-amp",
            "addresses": target.source_addrs(),
            "pages_per_address": args.pages,
            "rate_per_address": args.rate,
            "secs": elapsed,
            "statuses": statuses.json(),
            "stream_bytes_per_sec": streamed as f64 / elapsed,
            "largest_event_bytes": largest,
            "bystander_heartbeat": here,
            "memory": memory.json(),
            "bystander": probe.json(),
        }),
        failure,
    })
}

/// Finding 7: accounts made from the first source address create rooms
/// until refused. Afterwards someone else can still create one, and the
/// page's weight and render time say what the rooms cost every reader.
pub async fn rooms_exhaust(target: &Target, args: RoomsArgs) -> anyhow::Result<Report> {
    let run = super::accounts::run_id();
    let page_before = page_cost(target).await?;
    let memory = Memory::watch(target.server_pid);
    let started = Instant::now();
    let mut sign_ups = Statuses::default();
    let mut creates = Statuses::default();
    for account in 0..args.accounts {
        let mut sender = super::Sender::new(target, 0);
        let name = format!("lg{run}r{account}");
        match sender.sign_in(&name, true).await {
            Ok(()) => sign_ups.count(201),
            Err(err) => {
                sign_ups.failed(err);
                continue;
            }
        }
        // Until refused for good (a short 429 is waited out, as an
        // attacker would; five in a row is for good).
        let (mut room, mut waited) = (0, 0);
        while waited < 5 {
            let status = sender
                .create_room_status(&format!("lg{run}r{account}x{room}"))
                .await?;
            creates.count(status);
            match status {
                201 => (room, waited) = (room + 1, 0),
                429 => {
                    waited += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => break,
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let made = creates.get(201);
    // Someone else, from 127.0.0.1.
    let other_created = other_creates_a_room(target, run).await?;
    let page_after = page_cost(target).await?;
    let memory = memory.finish(Duration::from_secs(1)).await;
    let failure = (other_created != 201)
        .then(|| format!("another address's account could not create a room: {other_created}"));
    Ok(Report {
        summary: format!(
            "rooms-exhaust: in {elapsed:.1} s, sign-ups {} and {made} rooms made ({}); another address's room: {other_created}\n\
             the page: {} bytes in {:.1} ms before, {} bytes in {:.1} ms after; {}",
            sign_ups.describe(),
            creates.describe(),
            page_before.0,
            page_before.1,
            page_after.0,
            page_after.1,
            memory.describe(),
        ),
        json: json!({
            "scenario": "rooms-exhaust",
            "sign_ups": sign_ups.json(),
            "creates": creates.json(),
            "rooms_made": made,
            "other_address_created": other_created,
            "page_bytes_before": page_before.0,
            "page_ms_before": page_before.1,
            "page_bytes_after": page_after.0,
            "page_ms_after": page_after.1,
            "memory": memory.json(),
        }),
        failure,
    })
}

/// Signs up from 127.0.0.1 and creates a room: the status it got.
async fn other_creates_a_room(target: &Target, run: u64) -> anyhow::Result<u16> {
    let client = loopback_client()?;
    let signed_up = client
        .post(target.url("/api/accounts"))
        .json(&json!({ "username": format!("lg{run}other"), "password": super::PASSWORD }))
        .send()
        .await?;
    anyhow::ensure!(signed_up.status() == 201, "sign-up {}", signed_up.status());
    let cookie = signed_up
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok()?.split(';').next().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
    let created = client
        .post(target.url("/api/rooms"))
        .header("cookie", cookie)
        .json(&json!({ "name": format!("lg{run}other room") }))
        .send()
        .await?;
    Ok(created.status().as_u16())
}

/// The size of `/` and the median time to render it (of 5), from
/// 127.0.0.1.
async fn page_cost(target: &Target) -> anyhow::Result<(usize, f64)> {
    let client = loopback_client()?;
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let page = client.get(target.url("/")).send().await?.bytes().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        size = page.len();
    }
    times.sort_by(f64::total_cmp);
    Ok((size, times[times.len() / 2]))
}

/// Finding 8: accounts made from the first source address send as fast as
/// the server lets them, after a guest from there alone did.
pub async fn accounts_budget(target: &Target, args: BudgetArgs) -> anyhow::Result<Report> {
    let run = super::accounts::run_id();
    let window = Duration::from_secs(args.secs);
    let guest = send_flat_out(vec![super::Sender::new(target, 0)], window).await;
    // Let the address's buckets fill again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut senders = Vec::new();
    let mut sign_ups = Statuses::default();
    for account in 0..args.accounts {
        let mut sender = super::Sender::new(target, 0);
        match sender.sign_in(&format!("lg{run}b{account}"), true).await {
            Ok(()) => {
                sign_ups.count(201);
                senders.push(sender);
            }
            Err(err) => sign_ups.failed(err),
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let accounts = send_flat_out(senders, window).await;
    let secs = window.as_secs_f64();
    let (guest_rate, accounts_rate) = (
        guest.get(201) as f64 / secs,
        accounts.get(201) as f64 / secs,
    );
    // The address's ceiling: 50 a second after a burst of 100.
    let ceiling = 50.0 + 100.0 / secs;
    let failure = (accounts_rate > ceiling * 1.1).then(|| {
        format!("{accounts_rate:.0} sends/s were accepted from one address (ceiling {ceiling:.0})")
    });
    Ok(Report {
        summary: format!(
            "accounts-budget: one address, {:.0} s each: a guest {guest_rate:.1} sends/s accepted ({}); \
             {} accounts made ({}), together {accounts_rate:.1} sends/s accepted ({})",
            secs,
            guest.describe(),
            sign_ups.get(201),
            sign_ups.describe(),
            accounts.describe(),
        ),
        json: json!({
            "scenario": "accounts-budget",
            "secs": secs,
            "guest_statuses": guest.json(),
            "guest_accepted_per_sec": guest_rate,
            "sign_ups": sign_ups.json(),
            "accounts_statuses": accounts.json(),
            "accounts_accepted_per_sec": accounts_rate,
        }),
        failure,
    })
}

/// Every sender sends back to back for `window`, ignoring refusals.
async fn send_flat_out(senders: Vec<super::Sender<'_>>, window: Duration) -> Statuses {
    let until = Instant::now() + window;
    let results = futures::future::join_all(senders.into_iter().enumerate().map(
        |(n, mut sender)| async move {
            let mut statuses = Statuses::default();
            while Instant::now() < until {
                let status = sender
                    .send_status(&format!("budget {n}"))
                    .await
                    .unwrap_or(0);
                statuses.count(status);
            }
            statuses
        },
    ))
    .await;
    let mut all = Statuses::default();
    for one in results {
        all.merge(one);
    }
    all
}
