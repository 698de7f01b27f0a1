//! What a slow reader can make the server hold: a JSON response is built
//! whole (a page of 500 messages is up to 4 MB) and kept until the client
//! has read it, which a client that reads nothing makes 30 s per
//! connection (the write deadline). So every such body counts against a
//! budget of bytes in flight, per client and in all; a response beyond it
//! is `503 busy`, and what a body held is given back once it is written
//! out or its connection ends.
//!
//! Files (`/pkg/`) are read from disk as they are sent and pages are
//! written as they render: only JSON bodies are held whole.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use hyper::body::Body as _;

use crate::{
    edge::client::{ClientIp, client_key},
    edge::error::ApiError,
};

/// How many response bytes may wait for their readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// For one client (its address, or its IPv6 /64): two pages of the
    /// largest history.
    pub per_client: usize,
    /// For everyone together.
    pub total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_client: 8 << 20,
            total: 32 << 20,
        }
    }
}

/// The bytes in flight, per client and in all.
#[derive(Clone, Debug, Default)]
pub struct ResponseBudget {
    limits: Limits,
    held: Arc<Mutex<Held>>,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

impl ResponseBudget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            held: Arc::default(),
        }
    }

    /// `bytes` more for `client`, if both its share and the total have room.
    fn reserve(&self, client: IpAddr, bytes: usize) -> Option<Reservation> {
        let client = client_key(client);
        let mut held = self.held.lock().expect("budget lock");
        let mine = held.by_client.get(&client).copied().unwrap_or(0);
        if mine + bytes > self.limits.per_client || held.total + bytes > self.limits.total {
            return None;
        }
        held.total += bytes;
        *held.by_client.entry(client).or_default() += bytes;
        Some(Reservation {
            held: Arc::clone(&self.held),
            client,
            bytes,
        })
    }

    /// Bytes held now, in all (for tests and logs).
    pub fn held(&self) -> usize {
        self.held.lock().expect("budget lock").total
    }
}

/// Bytes counted for one body; given back when dropped.
#[derive(Debug)]
struct Reservation {
    held: Arc<Mutex<Held>>,
    client: IpAddr,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = self.held.lock().expect("budget lock");
        held.total -= self.bytes;
        if let Some(mine) = held.by_client.get_mut(&self.client) {
            *mine -= self.bytes;
            if *mine == 0 {
                held.by_client.remove(&self.client);
            }
        }
    }
}

/// Middleware: a JSON body of known size is sent only within the budget
/// (see the module's documentation).
pub async fn hold_within_budget(
    State(budget): State<ResponseBudget>,
    request: Request,
    next: Next,
) -> Response {
    let ClientIp(client) = ClientIp::from_extensions(request.extensions());
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    let Some(bytes) = response.body().size_hint().exact() else {
        return response;
    };
    if !is_json || bytes == 0 {
        return response;
    }
    let Some(reservation) = budget.reserve(client, usize::try_from(bytes).unwrap_or(usize::MAX))
    else {
        tracing::warn!(%client, bytes, "response budget spent; refusing a response");
        return ApiError::Busy.into_response();
    };
    let (parts, body) = response.into_parts();
    // Whole already: this only takes the bytes out.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::Busy.into_response();
    };
    // The bytes themselves carry the reservation: hyper may let go of
    // the body before it has written them out, never of the bytes.
    let body = Bytes::from_owner(Counted {
        bytes,
        _reservation: reservation,
    });
    Response::from_parts(parts, Body::from(body))
}

/// Bytes that keep their reservation until the last of them is gone.
struct Counted {
    bytes: Bytes,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn a_client_holds_its_share_and_everyone_the_total() {
        let budget = ResponseBudget::new(Limits {
            per_client: 100,
            total: 150,
        });
        let first = budget
            .reserve(ip("10.0.0.1"), 60)
            .expect("within the share");
        assert!(
            budget.reserve(ip("10.0.0.1"), 60).is_none(),
            "over the share"
        );
        let other = budget.reserve(ip("10.0.0.2"), 60).expect("another client");
        assert!(
            budget.reserve(ip("10.0.0.3"), 60).is_none(),
            "over the total"
        );
        assert_eq!(budget.held(), 120);
        drop(first);
        assert!(budget.reserve(ip("10.0.0.1"), 90).is_some(), "given back");
        drop(other);
        assert_eq!(budget.held(), 0);
        assert!(budget.held.lock().expect("lock").by_client.is_empty());
    }

    #[test]
    fn an_ipv6_host_has_one_share() {
        let budget = ResponseBudget::new(Limits {
            per_client: 100,
            total: 1_000,
        });
        let _first = budget.reserve(ip("2001:db8::1"), 60).expect("share");
        assert!(budget.reserve(ip("2001:db8::2"), 60).is_none(), "same /64");
    }
}
