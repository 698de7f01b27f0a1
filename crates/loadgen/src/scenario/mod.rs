//! The benchmark scenarios (see BENCHMARKS.md).

pub mod abuse;
pub mod fanout;
pub mod history;
pub mod page_weight;
pub mod send;

use std::time::Instant;

use serde_json::json;

use crate::{sse::TEXT_PREFIX, target::Target};

/// Sends one message stamped with its send time; returns the stored id.
pub async fn send_stamped(target: &Target, n: usize, origin: Instant) -> anyhow::Result<i64> {
    let body = json!({
        "username": format!("loadgen{}", n % 100),
        "text": format!("{TEXT_PREFIX}{}", origin.elapsed().as_micros()),
    });
    let response = target
        .client(n)
        .post(target.url("/api/messages"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 201,
        "send answered {}",
        response.status()
    );
    let message: serde_json::Value = response.json().await?;
    message["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no id in {message}"))
}
