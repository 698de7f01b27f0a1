//! `loadgen`: measures the chat server under load, on this machine only.
//!
//! Every scenario targets a server URL on a loopback address (127.0.0.0/8;
//! anything else is refused), bounds every loop by a count and a deadline,
//! prints a summary and, with `--json`, writes the numbers to a file. See
//! BENCHMARKS.md for the scenarios and how to run them.
//!
//! - [`target`]: the server's URL and the loopback source addresses;
//! - [`http`]: a minimal HTTP/1.1 client over one keep-alive connection;
//! - [`sse`]: one SSE subscriber that records what it receives;
//! - [`scenario`]: the scenarios;
//! - [`stats`]: percentiles, and the server's memory from `/proc`;
//! - [`watch`]: what the hostile-client scenarios watch while they attack.

mod http;
mod scenario;
mod sse;
mod stats;
mod target;
mod watch;

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "Load generator for the chat server")]
struct Cli {
    /// The server, e.g. http://127.0.0.1:3000 (loopback only); several,
    /// comma-separated, for servers sharing one database: connections take
    /// turns among them.
    #[arg(
        long,
        default_value = "http://127.0.0.1:3000",
        value_delimiter = ',',
        global = true
    )]
    url: Vec<String>,
    /// The server's pid, to read its memory from /proc/<pid>/status.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Spread connections over this many source addresses 127.0.0.2, .3, …
    #[arg(long, default_value_t = 4, global = true)]
    source_addrs: u8,
    /// Give up (and fail) after this many seconds.
    #[arg(long, default_value_t = 300, global = true)]
    deadline_secs: u64,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Subscribers receive messages from concurrent senders (scenarios 1 and 2).
    Fanout(scenario::fanout::Args),
    /// Concurrent senders as fast as the server acknowledges (scenario 3).
    Send(scenario::send::Args),
    /// Concurrent readers of the latest page and a deep page (scenario 4).
    History(scenario::history::Args),
    /// The bytes a browser transfers for the first load of the page (scenario 5).
    PageWeight(scenario::page_weight::Args),
    /// Streams that never read: what the server holds, and until when (scenario 6).
    Stalled(scenario::abuse::StalledArgs),
    /// Connections that never finish their request head (scenario 7).
    SlowHeads(scenario::abuse::SlowHeadsArgs),
    /// Sign-ins per second (scenario 8).
    SignIns(scenario::accounts::Args),
    /// Sign-ins with huge names no account could have (scenario 10a).
    SigninKeys(scenario::hostile::SignInKeysArgs),
    /// Requests whose bodies never finish (scenario 10b).
    SlowBodies(scenario::hostile::SlowBodiesArgs),
    /// Open pages with guest names, kept alive (scenario 10c).
    PresenceAmp(scenario::hostile::PresenceArgs),
    /// Accounts from one address creating rooms until refused (scenario 10d).
    RoomsExhaust(scenario::hostile::RoomsArgs),
    /// Accounts from one address sending flat out (scenario 10e).
    AccountsBudget(scenario::hostile::BudgetArgs),
    /// Many accounts reacting to one message at a rate (scenario 11).
    ReactionStorm(scenario::changes::StormArgs),
    /// A spam wave from many guest names and addresses, blocked by a
    /// moderator while others talk (scenario 12).
    SpamWave(scenario::spam::SpamArgs),
    /// Fan-out where each stream sees only its private rooms and direct
    /// conversations (scenario 13).
    Private(scenario::private::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let target = target::Target::new(&cli.url, cli.source_addrs, cli.server_pid)?;
    let deadline = Duration::from_secs(cli.deadline_secs);
    let report = tokio::time::timeout(deadline, async {
        match cli.scenario {
            Scenario::Fanout(args) => scenario::fanout::run(&target, args).await,
            Scenario::Send(args) => scenario::send::run(&target, args).await,
            Scenario::History(args) => scenario::history::run(&target, args).await,
            Scenario::PageWeight(args) => scenario::page_weight::run(&target, args).await,
            Scenario::Stalled(args) => scenario::abuse::stalled(&target, args).await,
            Scenario::SlowHeads(args) => scenario::abuse::slow_heads(&target, args).await,
            Scenario::SignIns(args) => scenario::accounts::run(&target, args).await,
            Scenario::SigninKeys(args) => scenario::hostile::signin_keys(&target, args).await,
            Scenario::SlowBodies(args) => scenario::hostile::slow_bodies(&target, args).await,
            Scenario::PresenceAmp(args) => scenario::hostile::presence_amp(&target, args).await,
            Scenario::RoomsExhaust(args) => scenario::hostile::rooms_exhaust(&target, args).await,
            Scenario::AccountsBudget(args) => {
                scenario::hostile::accounts_budget(&target, args).await
            }
            Scenario::ReactionStorm(args) => scenario::changes::storm(&target, args).await,
            Scenario::SpamWave(args) => scenario::spam::wave(&target, args).await,
            Scenario::Private(args) => scenario::private::run(&target, args).await,
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("gave up after {} s", cli.deadline_secs))??;

    println!("{}", report.summary);
    if let Some(path) = cli.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report.json)?)?;
        println!("wrote {}", path.display());
    }
    if let Some(failure) = report.failure {
        anyhow::bail!("FAILED: {failure}");
    }
    Ok(())
}

/// What a scenario found.
pub struct Report {
    /// For people.
    pub summary: String,
    /// For machines.
    pub json: serde_json::Value,
    /// Loss, duplicates, reordering or errors: the run failed.
    pub failure: Option<String>,
}
