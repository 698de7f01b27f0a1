//! The benchmark scenarios (see BENCHMARKS.md).

pub mod abuse;
pub mod fanout;
pub mod history;
pub mod page_weight;
pub mod send;

use std::time::Instant;

use serde_json::json;

use crate::{http::Connection, sse::TEXT_PREFIX, target::Target};

/// One sender: a keep-alive connection of its own (opened again after an
/// error), as a page's `fetch` reuses its connection.
pub struct Sender<'a> {
    target: &'a Target,
    n: usize,
    connection: Option<Connection>,
}

impl<'a> Sender<'a> {
    /// Sender number `n`, connecting from that source address.
    pub fn new(target: &'a Target, n: usize) -> Self {
        Self {
            target,
            n,
            connection: None,
        }
    }

    /// Sends message number `n`, stamped with its send time; returns the
    /// stored id.
    pub async fn send_stamped(&mut self, n: usize, origin: Instant) -> anyhow::Result<i64> {
        let body = serde_json::to_vec(&json!({
            "username": format!("loadgen{}", n % 100),
            "text": format!("{TEXT_PREFIX}{}", origin.elapsed().as_micros()),
        }))?;
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self
                .connection
                .insert(Connection::open(self.target, self.n).await?),
        };
        let (head, response) = match connection.post_json("/api/messages", &body).await {
            Ok(answer) => answer,
            Err(err) => {
                self.connection = None;
                return Err(err);
            }
        };
        anyhow::ensure!(head.status == 201, "send answered {}", head.status);
        let message: serde_json::Value = serde_json::from_slice(&response)?;
        message["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no id in {message}"))
    }
}
