//! How many failed sign-ins a name and a client address may have: at most
//! [`PER_NAME`] and [`PER_CLIENT`] within [`WINDOW`]; past that, sign-ins
//! are refused (429 with `Retry-After`) until the window that counted them
//! ends. Sign-ups and successful sign-ins count against the client too:
//! each costs a hash and makes a session, so one address cannot make the
//! server hash, or store sessions, without bound. Each attempt is counted
//! when it begins, before its hash, so that many sent at once are counted
//! as many (a sign-in that succeeds then gives its name's count back).
//!
//! Counting failures per name stops guessing one account's password from
//! many addresses; per client, guessing many accounts' from one.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

/// How long failures are counted.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins per name within [`WINDOW`].
pub const PER_NAME: u32 = 10;
/// Sign-ins (failed or not) and sign-ups per client address within [`WINDOW`].
pub const PER_CLIENT: u32 = 30;

/// The counts; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Attempts {
    names: Arc<Counter<String>>,
    clients: Arc<Counter<IpAddr>>,
}

impl Attempts {
    /// Takes one of `client`'s attempts and one of `name`'s (its key's)
    /// failures before a sign-in runs, so that sign-ins in flight at once
    /// count too; if either is used up, how long until it is not.
    pub fn begin_sign_in(&self, name: &str, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        self.names.take(name, PER_NAME, now)?;
        self.clients
            .take(&client, PER_CLIENT, now)
            .inspect_err(|_| {
                self.names.give_back(name);
            })
    }

    /// A sign-in that succeeded: the name gets its failure back (the
    /// client's attempt stays counted).
    pub fn signed_in(&self, name: &str) {
        self.names.give_back(name);
    }

    /// Takes one of `client`'s attempts before a sign-up runs.
    pub fn begin_sign_up(&self, client: IpAddr) -> Result<(), Duration> {
        self.clients.take(&client, PER_CLIENT, Instant::now())
    }

    /// Forgets windows that have ended, so memory follows recent failures.
    pub fn forget_old(&self) {
        let now = Instant::now();
        self.names.forget_old(now);
        self.clients.forget_old(now);
    }
}

/// Per key: when its window began and how many it has counted.
#[derive(Debug)]
struct Counter<K>(Mutex<HashMap<K, (Instant, u32)>>);

impl<K> Default for Counter<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq> Counter<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, u32)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one for `key` unless it has counted `max` in its window;
    /// then, how long until the window ends.
    fn take<Q>(&self, key: &Q, max: u32, now: Instant) -> Result<(), Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut counts = self.lock();
        let entry = match counts.get_mut(key) {
            Some(entry) => entry,
            None => counts.entry(key.to_owned()).or_insert((now, 0)),
        };
        if entry.0 + WINDOW <= now {
            *entry = (now, 0);
        }
        if entry.1 >= max {
            return Err(entry.0 + WINDOW - now);
        }
        entry.1 += 1;
        Ok(())
    }

    /// Uncounts one for `key`, taken by an attempt that did not fail.
    fn give_back<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some((_, count)) = self.lock().get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }

    fn forget_old(&self, now: Instant) {
        self.lock().retain(|_, (began, _)| *began + WINDOW > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA_HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[tokio::test(start_paused = true)]
    async fn a_name_is_refused_after_its_failures_until_the_window_ends() {
        let attempts = Attempts::default();
        for i in 0..PER_NAME {
            // From different addresses: the name's count is what stops it.
            attempts
                .begin_sign_in("ada", IpAddr::from([10, 1, 0, i as u8]))
                .expect("may try");
        }
        let wait = attempts
            .begin_sign_in("ada", ELSEWHERE)
            .expect_err("refused");
        assert_eq!(wait, WINDOW);
        attempts
            .begin_sign_in("bob", ELSEWHERE)
            .expect("another name may");
        tokio::time::advance(WINDOW).await;
        attempts
            .begin_sign_in("ada", ELSEWHERE)
            .expect("a new window");
    }

    #[tokio::test(start_paused = true)]
    async fn sign_ins_in_flight_at_once_count_before_any_finishes() {
        let attempts = Attempts::default();
        // None of these has finished (no hash has run yet).
        for i in 0..PER_CLIENT {
            attempts
                .begin_sign_in(&format!("name{i}"), ADA_HOME)
                .expect("may try");
        }
        assert!(attempts.begin_sign_in("another", ADA_HOME).is_err());
        assert!(attempts.begin_sign_up(ADA_HOME).is_err());
        // The refused attempt took nothing from its name.
        attempts
            .begin_sign_in("another", ELSEWHERE)
            .expect("another client may");
        assert_eq!(attempts.names.lock()["another"].1, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn successful_sign_ins_count_against_the_client_not_the_name() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts.begin_sign_in("ada", ADA_HOME).expect("may try");
            attempts.signed_in("ada");
        }
        assert!(attempts.begin_sign_in("ada", ADA_HOME).is_err());
        attempts
            .begin_sign_in("ada", ELSEWHERE)
            .expect("the name is not blamed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_is_refused_after_its_attempts_until_forgotten() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts.begin_sign_up(ADA_HOME).expect("may sign up");
        }
        assert!(attempts.begin_sign_in("fresh", ADA_HOME).is_err());
        assert!(attempts.begin_sign_up(ADA_HOME).is_err());
        attempts
            .begin_sign_up(ELSEWHERE)
            .expect("another client may");
        tokio::time::advance(WINDOW).await;
        attempts.forget_old();
        assert!(attempts.clients.lock().is_empty());
        attempts.begin_sign_up(ADA_HOME).expect("forgotten");
    }
}
