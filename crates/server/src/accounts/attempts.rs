//! How many failed sign-ins a name and a client address may have: at most
//! [`PER_NAME`] and [`PER_CLIENT`] within [`WINDOW`]; past that, sign-ins
//! are refused (429 with `Retry-After`) until the window that counted them
//! ends. Sign-ups and successful sign-ins count against the client too:
//! each costs a hash and makes a session, so one address cannot make the
//! server hash, or store sessions, without bound.
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
    /// Whether `name` (its key) and `client` may try again; if not, how
    /// long until they may.
    pub fn check(&self, name: &str, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let name_wait = self.names.wait(name, PER_NAME, now);
        let client_wait = self.clients.wait(&client, PER_CLIENT, now);
        match name_wait.max(client_wait) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Whether `client` may sign up now.
    pub fn check_client(&self, client: IpAddr) -> Result<(), Duration> {
        match self.clients.wait(&client, PER_CLIENT, Instant::now()) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, name: &str, client: IpAddr) {
        let now = Instant::now();
        self.names.count(name.to_owned(), now);
        self.clients.count(client, now);
    }

    /// Counts a sign-up or a successful sign-in against the client.
    pub fn succeeded(&self, client: IpAddr) {
        self.clients.count(client, Instant::now());
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

    fn wait<Q>(&self, key: &Q, max: u32, now: Instant) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let counts = self.lock();
        let (began, count) = counts.get(key)?;
        let ends = *began + WINDOW;
        (*count >= max && ends > now).then(|| ends - now)
    }

    fn count(&self, key: K, now: Instant) {
        let mut counts = self.lock();
        let entry = counts.entry(key).or_insert((now, 0));
        if entry.0 + WINDOW <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
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
            attempts.check("ada", ADA_HOME).expect("may try");
            // From different addresses: the name's count is what stops it.
            attempts.failed("ada", IpAddr::from([10, 1, 0, i as u8]));
        }
        let wait = attempts.check("ada", ELSEWHERE).expect_err("refused");
        assert_eq!(wait, WINDOW);
        attempts.check("bob", ELSEWHERE).expect("another name may");
        tokio::time::advance(WINDOW).await;
        attempts.check("ada", ELSEWHERE).expect("a new window");
    }

    #[tokio::test(start_paused = true)]
    async fn successful_sign_ins_count_against_the_client_not_the_name() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts.check("ada", ADA_HOME).expect("may try");
            attempts.succeeded(ADA_HOME);
        }
        assert!(attempts.check("ada", ADA_HOME).is_err());
        attempts
            .check("ada", ELSEWHERE)
            .expect("the name is not blamed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_is_refused_after_its_failures_on_any_names() {
        let attempts = Attempts::default();
        for i in 0..PER_CLIENT {
            attempts.failed(&format!("name{i}"), ADA_HOME);
        }
        assert!(attempts.check("fresh", ADA_HOME).is_err());
        assert!(attempts.check_client(ADA_HOME).is_err());
        attempts
            .check("fresh", ELSEWHERE)
            .expect("another client may");
        tokio::time::advance(WINDOW).await;
        attempts.forget_old();
        assert!(attempts.names.lock().is_empty());
        attempts.check("fresh", ADA_HOME).expect("forgotten");
    }
}
