//! How many event streams one client may hold open at once.
//!
//! Each open stream costs the server a connection and a little memory for
//! as long as it stays. One browser holds one (its tabs share it), a house
//! behind one address a few; `--streams-per-ip` (100 by default) leaves
//! room for them and stops one client from opening thousands. A stream
//! over the limit is refused with 429; its slot is given back when the
//! stream ends, however it ends.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    str::FromStr,
    sync::{Arc, Mutex},
};

use crate::edge::client::client_key;

/// `--streams-per-ip`: a number, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamsPerIp {
    Off,
    AtMost(NonZeroU32),
}

impl Default for StreamsPerIp {
    fn default() -> Self {
        Self::AtMost(NonZeroU32::new(100).expect("not zero"))
    }
}

impl FromStr for StreamsPerIp {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        value
            .trim()
            .parse()
            .map(Self::AtMost)
            .map_err(|_| format!("expected `off` or a number above 0, got `{value}`"))
    }
}

impl std::fmt::Display for StreamsPerIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::AtMost(n) => write!(f, "{n}"),
        }
    }
}

/// How many streams each client holds open; clients with none are absent.
type OpenStreams = Arc<Mutex<HashMap<IpAddr, u32>>>;

/// The open streams of every client; cheap to clone.
#[derive(Clone, Debug)]
pub struct StreamSlots {
    limit: StreamsPerIp,
    open: OpenStreams,
}

/// One open stream of one client; dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    /// `None` when there is no limit to count against.
    held: Option<(IpAddr, OpenStreams)>,
}

impl StreamSlots {
    pub fn new(limit: StreamsPerIp) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    /// A slot for one more stream of `client` (an IPv6 client: its /64),
    /// unless it holds the most it may.
    pub fn take(&self, client: IpAddr) -> Option<StreamSlot> {
        let StreamsPerIp::AtMost(limit) = self.limit else {
            return Some(StreamSlot { held: None });
        };
        let client = client_key(client);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let count = open.entry(client).or_default();
        if *count >= limit.get() {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            held: Some((client, Arc::clone(&self.open))),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let Some((client, open)) = self.held.take() else {
            return;
        };
        let mut open = open.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(count) = open.get_mut(&client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_limit_and_slots_come_back() {
        let slots = StreamSlots::new("2".parse().expect("limit"));
        let ada = IpAddr::from([10, 0, 0, 1]);
        let first = slots.take(ada).expect("first");
        let _second = slots.take(ada).expect("second");
        assert!(slots.take(ada).is_none(), "over the limit");
        assert!(
            slots.take(IpAddr::from([10, 0, 0, 2])).is_some(),
            "another client"
        );
        drop(first);
        assert!(slots.take(ada).is_some(), "a slot came back");
    }

    #[test]
    fn an_ipv6_client_is_its_64_prefix() {
        let slots = StreamSlots::new("2".parse().expect("limit"));
        let host =
            |suffix: &str| -> IpAddr { format!("2001:db8:1:2::{suffix}").parse().expect("ip") };
        let _first = slots.take(host("1")).expect("first");
        let _second = slots.take(host("2")).expect("second");
        assert!(slots.take(host("3")).is_none(), "the same /64");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert!(slots.take(other).is_some(), "another /64");
    }

    #[test]
    fn clients_with_no_streams_are_forgotten() {
        let slots = StreamSlots::new(StreamsPerIp::default());
        drop(slots.take(IpAddr::from([10, 0, 0, 1])));
        assert!(slots.open.lock().expect("lock").is_empty());
    }

    #[test]
    fn off_counts_nothing() {
        let slots = StreamSlots::new("off".parse().expect("off"));
        let held: Vec<_> = (0..1000)
            .map(|_| slots.take(IpAddr::from([10, 0, 0, 1])).expect("no limit"))
            .collect();
        assert_eq!(held.len(), 1000);
        assert!("0".parse::<StreamsPerIp>().is_err());
    }
}
