//! Scenario 3: K senders store M messages as fast as the server
//! acknowledges them (each acknowledged only after its commit).

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
}

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    let senders = args.senders.max(1);
    let origin = Instant::now();
    let tasks = (0..senders).map(|sender| async move {
        let mut latencies = Vec::new();
        let mut errors = 0usize;
        let mut connection = super::Sender::new(target, sender);
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
            "durable send: {acked} acknowledged ({errors} errors) by {senders} senders on {} server(s) in {:.2} s: {per_sec:.0} messages/s\n\
             acknowledgement latency: {}",
            target.servers(),
            elapsed.as_secs_f64(),
            describe(&latency, "ms"),
        ),
        json: json!({
            "scenario": "send",
            "senders": senders,
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
