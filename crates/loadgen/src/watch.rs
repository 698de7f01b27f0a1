//! What the hostile-client scenarios watch while they attack: the
//! server's memory (idle, peak, after), a bystander's experience (an open
//! stream, `/healthz`, a send and its delivery) and the statuses the
//! attack got.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{stats::resident_kib, target::Target};

/// The memory growth a scenario's attack may cause, from idle to peak.
pub const MAX_GROWTH_MIB: u64 = 100;

/// The server's memory over a scenario: sampled in the background.
pub struct Memory {
    pid: Option<u32>,
    idle: Option<u64>,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Memory {
    pub fn watch(pid: Option<u32>) -> Self {
        let idle = resident_kib(pid);
        let peak = Arc::new(AtomicU64::new(idle.unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (sampled, stopped) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                if let Some(now) = resident_kib(pid) {
                    sampled.fetch_max(now, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self {
            pid,
            idle,
            peak,
            stop,
        }
    }

    /// Stops sampling, waits `settle` for what the attack held to go, and
    /// reads what is left.
    pub async fn finish(self, settle: Duration) -> MemoryReport {
        self.stop.store(true, Ordering::Relaxed);
        tokio::time::sleep(settle).await;
        MemoryReport {
            idle: self.idle,
            peak: self.idle.map(|_| self.peak.load(Ordering::Relaxed)),
            after: resident_kib(self.pid),
        }
    }
}

pub struct MemoryReport {
    idle: Option<u64>,
    peak: Option<u64>,
    after: Option<u64>,
}

impl MemoryReport {
    pub fn growth_mib(&self) -> Option<u64> {
        Some(self.peak?.saturating_sub(self.idle?) / 1024)
    }

    pub fn describe(&self) -> String {
        let mib = |kib: Option<u64>| {
            kib.map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
        };
        format!(
            "server RSS idle {} MiB, peak {} MiB, after {} MiB",
            mib(self.idle),
            mib(self.peak),
            mib(self.after)
        )
    }

    pub fn json(&self) -> Value {
        json!({ "rss_idle_kib": self.idle, "rss_peak_kib": self.peak, "rss_after_kib": self.after })
    }

    /// Why the run failed on memory, if it did.
    pub fn failure(&self) -> Option<String> {
        match self.growth_mib() {
            None => Some("needs --server-pid".to_owned()),
            Some(mib) if mib >= MAX_GROWTH_MIB => Some(format!(
                "the server grew by {mib} MiB (at most {MAX_GROWTH_MIB})"
            )),
            Some(_) => None,
        }
    }
}

/// Someone else using the chat meanwhile, from 127.0.0.1: an open event
/// stream (whose bytes and largest event are counted) and a client to ask
/// with.
pub struct Bystander {
    pub client: reqwest::Client,
    pub base: String,
    delivered: mpsc::UnboundedReceiver<u64>,
    pub bytes: Arc<AtomicU64>,
    pub largest_event: Arc<AtomicU64>,
    probes: u64,
}

/// A client whose connections come from 127.0.0.1, an address the
/// attacks (from 127.0.0.2 on) never use.
pub fn loopback_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .build()
}

/// What one probe found.
#[derive(Debug)]
pub struct Probe {
    health: u16,
    send: u16,
    /// How long the sent message took to arrive on the stream.
    delivered_ms: Option<f64>,
}

impl Probe {
    pub fn served(&self) -> bool {
        self.health == 200 && self.send == 201 && self.delivered_ms.is_some()
    }

    pub fn json(&self) -> Value {
        json!({ "healthz": self.health, "send": self.send, "delivered_ms": self.delivered_ms })
    }
}

impl Bystander {
    pub async fn join(target: &Target) -> anyhow::Result<Self> {
        let client = loopback_client()?;
        let base = target.url("/").trim_end_matches('/').to_owned();
        let mut stream = client
            .get(format!("{base}/api/events"))
            .header("accept", "text/event-stream")
            .send()
            .await?;
        anyhow::ensure!(stream.status() == 200, "stream {}", stream.status());
        let (found, delivered) = mpsc::unbounded_channel();
        let bytes = Arc::new(AtomicU64::new(0));
        let largest_event = Arc::new(AtomicU64::new(0));
        let (counted, largest) = (bytes.clone(), largest_event.clone());
        tokio::spawn(async move {
            let mut event = Vec::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                counted.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                event.extend_from_slice(&chunk);
                while let Some(end) = event.windows(2).position(|pair| pair == b"\n\n") {
                    let one: Vec<u8> = event.drain(..end + 2).collect();
                    largest.fetch_max(one.len() as u64, Ordering::Relaxed);
                    let text = String::from_utf8_lossy(&one);
                    if let Some(at) = text.find(PROBE) {
                        let digits: String = text[at + PROBE.len()..]
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect();
                        if let Ok(n) = digits.parse() {
                            let _ = found.send(n);
                        }
                    }
                }
            }
        });
        Ok(Self {
            client,
            base,
            delivered,
            bytes,
            largest_event,
            probes: 0,
        })
    }

    /// `/healthz`, then a send that the stream must deliver within 10 s.
    pub async fn probe(&mut self) -> Probe {
        self.probes += 1;
        let n = self.probes;
        let status = |response: reqwest::Result<reqwest::Response>| {
            response.map_or(0, |response| response.status().as_u16())
        };
        let health = status(
            self.client
                .get(format!("{}/healthz", self.base))
                .send()
                .await,
        );
        let started = Instant::now();
        let send = status(
            self.client
                .post(format!("{}/api/messages", self.base))
                .json(&json!({ "username": "bystander", "text": format!("{PROBE}{n}") }))
                .send()
                .await,
        );
        let delivered_ms = if send == 201 {
            tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(found) = self.delivered.recv().await {
                    if found == n {
                        return Some(started.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                None
            })
            .await
            .ok()
            .flatten()
        } else {
            None
        };
        Probe {
            health,
            send,
            delivered_ms,
        }
    }
}

/// What a bystander's probe text starts with.
pub const PROBE: &str = "bystander probe ";

/// The status of each answer, counted (0: no answer, the connection
/// failed), with the first failure's reason.
#[derive(Default)]
pub struct Statuses(std::collections::BTreeMap<u16, u64>, Option<String>);

impl Statuses {
    pub fn count(&mut self, status: u16) {
        *self.0.entry(status).or_default() += 1;
    }

    /// A request that got no answer.
    pub fn failed(&mut self, why: impl std::fmt::Display) {
        self.count(0);
        self.1.get_or_insert_with(|| why.to_string());
    }

    pub fn merge(&mut self, other: Statuses) {
        for (status, count) in other.0 {
            *self.0.entry(status).or_default() += count;
        }
        if self.1.is_none() {
            self.1 = other.1;
        }
    }

    /// How many answers (and failures) in all.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn get(&self, status: u16) -> u64 {
        self.0.get(&status).copied().unwrap_or(0)
    }

    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .0
            .iter()
            .map(|(status, count)| format!("{count} × {status}"))
            .collect();
        if let Some(why) = &self.1 {
            parts.push(format!("(0: no answer, the first: {why})"));
        }
        parts.join(", ")
    }

    pub fn json(&self) -> Value {
        self.0
            .iter()
            .map(|(status, count)| (status.to_string(), json!(count)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}
