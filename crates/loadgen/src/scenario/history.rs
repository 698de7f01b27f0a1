//! Scenario 4: R concurrent readers of the latest page and of a page deep
//! in history (just after the oldest message).

use std::time::Instant;

use futures::{StreamExt, stream};
use serde_json::{Value, json};

use crate::{
    Report,
    stats::{describe, percentiles},
    target::Target,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 16)]
    readers: usize,
    /// Requests of each kind (latest, deep).
    #[arg(long, default_value_t = 5_000)]
    requests: usize,
}

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    let first: Vec<Value> = target
        .client(0)
        .get(target.url("/api/messages"))
        .query(&[("after", "0"), ("limit", "1")])
        .send()
        .await?
        .json()
        .await?;
    let latest: Vec<Value> = target
        .client(0)
        .get(target.url("/api/messages"))
        .send()
        .await?
        .json()
        .await?;
    let (Some(oldest), Some(newest)) = (
        first.first().and_then(|m| m["id"].as_i64()),
        latest.last().and_then(|m| m["id"].as_i64()),
    ) else {
        anyhow::bail!("the server holds no messages: run `loadgen send` first");
    };
    // The page just after the oldest message: as far back as history goes.
    let deep_before = (oldest + 51).to_string();

    let mut results = json!({ "scenario": "history", "readers": args.readers, "oldest_id": oldest, "newest_id": newest });
    let mut summary = format!("history: ids {oldest}..={newest}, {} readers", args.readers);
    let mut errors = 0;
    for (name, query) in [
        ("latest", vec![]),
        ("deep", vec![("before", deep_before.as_str())]),
    ] {
        let started = Instant::now();
        let outcomes: Vec<Result<f64, ()>> = stream::iter(0..args.requests)
            .map(|n| {
                let query = query.clone();
                async move {
                    let begun = Instant::now();
                    let response = target
                        .client(n)
                        .get(target.url("/api/messages"))
                        .query(&query)
                        .send()
                        .await
                        .map_err(drop)?;
                    if !response.status().is_success() {
                        return Err(());
                    }
                    response.bytes().await.map_err(drop)?;
                    Ok(begun.elapsed().as_secs_f64() * 1000.0)
                }
            })
            .buffer_unordered(args.readers)
            .collect()
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        errors += outcomes.iter().filter(|o| o.is_err()).count();
        let mut latencies: Vec<f64> = outcomes.into_iter().filter_map(Result::ok).collect();
        let per_sec = latencies.len() as f64 / elapsed;
        let latency = percentiles(&mut latencies);
        summary.push_str(&format!(
            "\n{name} page: {per_sec:.0} requests/s, {}",
            describe(&latency, "ms")
        ));
        results[name] = json!({ "requests_per_sec": per_sec, "latency_ms": latency });
    }
    results["errors"] = json!(errors);
    Ok(Report {
        summary,
        json: results,
        failure: (errors > 0).then(|| format!("{errors} requests failed")),
    })
}
