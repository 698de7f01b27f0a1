//! Counts per key within a fixed window (a key's window begins with its
//! first count): sign-in attempts per name and address, accounts and rooms
//! made per address. Each table holds at most [`MAX_KEYS`] keys; a full
//! table first forgets the keys whose window ended, then refuses new keys
//! for [`FULL_WAIT`], so memory stays bounded whoever asks.

use std::{collections::HashMap, hash::Hash, sync::Mutex, time::Duration};

use tokio::time::Instant;

/// The most keys a table holds: a new key past it is refused for
/// [`FULL_WAIT`] (the tables fill only from thousands of addresses).
pub const MAX_KEYS: usize = 100_000;
/// How long a request waits when a table is full.
pub const FULL_WAIT: Duration = Duration::from_secs(60);

/// Per key: when its window began and how many it has counted.
#[derive(Debug)]
pub struct Counter<K> {
    counts: Mutex<HashMap<K, (Instant, u32)>>,
    /// How long a key's count lasts from its first.
    window: Duration,
}

impl<K: Hash + Eq> Counter<K> {
    pub fn new(window: Duration) -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
            window,
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, u32)>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one for `key` unless it has counted `max` in its window;
    /// then, how long until the window ends. A key not held yet is
    /// refused while the table holds [`MAX_KEYS`].
    pub fn take<Q>(&self, key: &Q, max: u32, now: Instant) -> Result<(), Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut counts = self.lock();
        if counts.len() >= MAX_KEYS {
            Self::forget_ended(&mut counts, self.window, now);
        }
        let full = counts.len() >= MAX_KEYS;
        let entry = match counts.get_mut(key) {
            Some(entry) => entry,
            None if full => return Err(FULL_WAIT),
            None => counts.entry(key.to_owned()).or_insert((now, 0)),
        };
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        if entry.1 >= max {
            return Err(entry.0 + self.window - now);
        }
        entry.1 += 1;
        Ok(())
    }

    /// Uncounts one for `key`, taken by an attempt that did not fail.
    pub fn give_back<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some((_, count)) = self.lock().get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }

    pub fn forget_old(&self, now: Instant) {
        let mut counts = self.lock();
        Self::forget_ended(&mut counts, self.window, now);
        counts.shrink_to_fit();
    }

    fn forget_ended(counts: &mut HashMap<K, (Instant, u32)>, window: Duration, now: Instant) {
        counts.retain(|_, (began, count)| *count > 0 && *began + window > now);
    }
}
