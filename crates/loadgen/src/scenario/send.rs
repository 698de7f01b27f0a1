//! Scenario 3: K senders store M messages as fast as the server
//! acknowledges them (each acknowledged only after its commit), as guests
//! or (`--accounts`) each signed in as an account of its own.

use std::time::Instant;

use serde_json::json;

use crate::{
    Report,
    stats::{describe, percentiles},
    target::Target,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 8)]
    senders: usize,
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Each sender signs up an account first and sends signed in.
    #[arg(long)]
    accounts: bool,
}

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    let senders = args.senders.max(1);
    let mut connections = Vec::new();
    let run = super::accounts::run_id();
    for sender in 0..senders {
        let mut connection = super::Sender::new(target, sender);
        if args.accounts {
            connection
                .sign_in(&super::accounts::name(run, sender), true)
                .await?;
        }
        connections.push(connection);
    }
    let origin = Instant::now();
    let tasks = connections
        .into_iter()
        .enumerate()
        .map(|(sender, mut connection)| async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            for n in (sender..args.messages).step_by(senders) {
                let started = Instant::now();
                match connection.send_stamped(n, origin).await {
                    Ok(_) => latencies.push(started.elapsed().as_secs_f64() * 1000.0),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        });
    let results = futures::future::join_all(tasks).await;
    let elapsed = origin.elapsed();
    let errors: usize = results.iter().map(|(_, e)| e).sum();
    let mut latencies: Vec<f64> = results.into_iter().flat_map(|(l, _)| l).collect();
    let acked = latencies.len();
    let per_sec = acked as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    let latency = percentiles(&mut latencies);
    Ok(Report {
        summary: format!(
            "durable send: {acked} acknowledged ({errors} errors) by {senders} {} on {} server(s) in {:.2} s: {per_sec:.0} messages/s\n\
             acknowledgement latency: {}",
            if args.accounts {
                "signed-in senders"
            } else {
                "guest senders"
            },
            target.servers(),
            elapsed.as_secs_f64(),
            describe(&latency, "ms"),
        ),
        json: json!({
            "scenario": "send",
            "senders": senders,
            "accounts": args.accounts,
            "servers": target.servers(),
            "acknowledged": acked,
            "errors": errors,
            "secs": elapsed.as_secs_f64(),
            "messages_per_sec": per_sec,
            "latency_ms": latency,
        }),
        failure: (errors > 0).then(|| format!("{errors} sends failed")),
    })
}
