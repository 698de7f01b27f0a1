//! Percentiles and the server's resident memory.

use serde_json::{Value, json};

/// p50 / p90 / p99 / max of `samples` (sorted in place), in the samples' unit.
pub fn percentiles(samples: &mut [f64]) -> Value {
    if samples.is_empty() {
        return json!(null);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    json!({
        "count": samples.len(),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": samples[samples.len() - 1],
    })
}

/// One line: `p50 a / p90 b / p99 c / max d unit`.
pub fn describe(percentiles: &Value, unit: &str) -> String {
    if percentiles.is_null() {
        return "no samples".to_owned();
    }
    format!(
        "p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} {unit}",
        percentiles["p50"].as_f64().unwrap_or_default(),
        percentiles["p90"].as_f64().unwrap_or_default(),
        percentiles["p99"].as_f64().unwrap_or_default(),
        percentiles["max"].as_f64().unwrap_or_default(),
    )
}

/// The resident memory (`VmRSS`) of process `pid`, in KiB.
pub fn resident_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How many files process `pid` holds open (its connections among them).
pub fn open_files(pid: Option<u32>) -> Option<usize> {
    Some(
        std::fs::read_dir(format!("/proc/{}/fd", pid?))
            .ok()?
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let p = percentiles(&mut samples);
        assert_eq!(p["p50"], 51.0);
        assert_eq!(p["p99"], 99.0);
        assert_eq!(p["max"], 100.0);
        assert_eq!(p["count"], 100);
    }
}
