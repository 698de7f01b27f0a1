//! Scenario 8: sign-ins per second. Signs up `--accounts` accounts, then
//! `--concurrency` clients sign in `--sign-ins` times in all, each sign-in
//! on a fresh connection (a browser signing in carries no session worth
//! keeping), taking turns over the source addresses: the server allows an
//! address 30 sign-ins and sign-ups per 15 minutes.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::{
    Report,
    stats::{describe, percentiles},
    target::Target,
};

/// Sign-ins and sign-ups the server allows one address per 15 minutes.
const PER_ADDRESS: usize = 30;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 8)]
    accounts: usize,
    #[arg(long, default_value_t = 400)]
    sign_ins: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

/// A number for this run's account names: digits only, so that no two
/// names of different runs look alike to the server's confusable check.
pub fn run_id() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64 % 1_000_000_000)
}

/// The name of account `n` of run `run`.
pub fn name(run: u64, n: usize) -> String {
    format!("lg{run}n{n}")
}

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    let accounts = args.accounts.max(1);
    let concurrency = args.concurrency.max(1);
    let attempts = accounts + args.sign_ins;
    anyhow::ensure!(
        attempts <= target.source_addrs() * PER_ADDRESS,
        "{attempts} sign-ups and sign-ins need at least {} source addresses (--source-addrs)",
        attempts.div_ceil(PER_ADDRESS)
    );
    let run = run_id();
    for n in 0..accounts {
        super::Sender::new(target, n)
            .sign_in(&name(run, n), true)
            .await?;
    }

    let origin = Instant::now();
    let workers = (0..concurrency).map(|worker| async move {
        let mut latencies = Vec::new();
        let mut errors = Vec::new();
        for k in (worker..args.sign_ins).step_by(concurrency) {
            let started = Instant::now();
            let mut client = super::Sender::new(target, accounts + k);
            match client.sign_in(&name(run, k % accounts), false).await {
                Ok(()) => latencies.push(started.elapsed().as_secs_f64() * 1000.0),
                Err(err) => errors.push(err.to_string()),
            }
        }
        (latencies, errors)
    });
    let results = futures::future::join_all(workers).await;
    let elapsed = origin.elapsed();
    let errors: Vec<String> = results.iter().flat_map(|(_, e)| e.clone()).collect();
    let mut latencies: Vec<f64> = results.into_iter().flat_map(|(l, _)| l).collect();
    let signed_in = latencies.len();
    let per_sec = signed_in as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    let latency = percentiles(&mut latencies);
    Ok(Report {
        summary: format!(
            "sign-ins: {signed_in} ({} errors) by {concurrency} clients in {:.2} s: {per_sec:.1} sign-ins/s\n\
             sign-in latency: {}",
            errors.len(),
            elapsed.as_secs_f64(),
            describe(&latency, "ms"),
        ),
        json: json!({
            "scenario": "sign-ins",
            "accounts": accounts,
            "concurrency": concurrency,
            "signed_in": signed_in,
            "errors": errors.len(),
            "secs": elapsed.as_secs_f64(),
            "sign_ins_per_sec": per_sec,
            "latency_ms": latency,
        }),
        failure: errors
            .first()
            .map(|first| format!("{} sign-ins failed, the first: {first}", errors.len())),
    })
}
