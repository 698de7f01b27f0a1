//! How many sign-ins a client address may make, and how many may fail for
//! a name: past a count within [`WINDOW`], sign-ins are refused (429 with
//! `Retry-After`) until the window that counted them ends.
//!
//! - Per client address ([`PER_CLIENT`]): sign-ins, failed or not, and
//!   sign-ups. Each costs a hash and makes a session, so one address
//!   cannot make the server hash, or store sessions, without bound; and
//!   one address cannot guess many accounts' passwords.
//! - Per name and address ([`PER_NAME_FROM_CLIENT`]): failures, so one
//!   address cannot guess one account's password, and a stranger who
//!   fails on a name locks out only themselves, not its owner.
//! - Per name ([`PER_NAME`]), from every address together: failures, so
//!   guessing one password from many addresses stays slow; it takes at
//!   least `PER_NAME / PER_CLIENT` addresses to lock a name for everyone.
//! - Accounts made per client address, [`ACCOUNTS_PER_HOUR`] in an hour
//!   and [`ACCOUNTS_PER_DAY`] in a day: each is a row kept for good, and
//!   accounts are what budgets count (sends, rooms, presence pages), so
//!   one address cannot make them by the thousand a day.
//!
//! Each attempt is counted when it begins, before its hash, so that many
//! sent at once are counted as many (a sign-in that succeeds then gives
//! its name's counts back). The client is counted first: a refused client
//! makes the server keep nothing about the name it tried. Only names an
//! account could have (that pass the username rules, so of bounded length)
//! are counted per name, each table holds at most
//! [`crate::door::counts::MAX_KEYS`], and what a window no longer counts is
//! forgotten every minute ([`Attempts::forget_old`]).

use std::{net::IpAddr, sync::Arc, time::Duration};

use tokio::time::Instant;

#[cfg(test)]
use crate::door::counts::{FULL_WAIT, MAX_KEYS};
use crate::{door::counts::Counter, edge::client::client_key};

/// How long attempts are counted.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins per name within [`WINDOW`], from all addresses.
pub const PER_NAME: u32 = 100;
/// Failed sign-ins per name from one client address within [`WINDOW`].
pub const PER_NAME_FROM_CLIENT: u32 = 10;
/// Sign-ins (failed or not) and sign-ups per client address within [`WINDOW`].
pub const PER_CLIENT: u32 = 30;
/// Accounts made from one client address within an hour.
pub const ACCOUNTS_PER_HOUR: u32 = 20;
/// Accounts made from one client address within a day.
pub const ACCOUNTS_PER_DAY: u32 = 50;
pub const HOUR: Duration = Duration::from_secs(60 * 60);
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Why a sign-up may not begin, and how long until it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignUpRefused {
    /// The client's sign-ins and sign-ups of the last 15 minutes.
    TooManyAttempts(Duration),
    /// The accounts made from the client's address this hour or day.
    TooManyAccounts(Duration),
}

/// The counts; cheap to clone.
#[derive(Clone, Debug)]
pub struct Attempts {
    names: Arc<Counter<String>>,
    names_from_clients: Arc<Counter<(String, IpAddr)>>,
    clients: Arc<Counter<IpAddr>>,
    accounts_this_hour: Arc<Counter<IpAddr>>,
    accounts_this_day: Arc<Counter<IpAddr>>,
    /// Whether a client address's attempts and accounts are counted
    /// (`--account-limit off`: no, for test suites and load tests whose
    /// every client is one address; the per-name counts stay).
    per_address: bool,
}

impl Default for Attempts {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Attempts {
    /// The counts, with or without those per client address.
    pub fn new(per_address: bool) -> Self {
        Self {
            names: Arc::new(Counter::new(WINDOW)),
            names_from_clients: Arc::new(Counter::new(WINDOW)),
            clients: Arc::new(Counter::new(WINDOW)),
            accounts_this_hour: Arc::new(Counter::new(HOUR)),
            accounts_this_day: Arc::new(Counter::new(DAY)),
            per_address,
        }
    }

    /// Takes one of `client`'s attempts and, for a `name` an account
    /// could have (its key), one of its failures from this client and one
    /// of its failures in all, before a sign-in runs, so that sign-ins in
    /// flight at once count too; if any is used up, how long until it is
    /// not.
    pub fn begin_sign_in(&self, name: Option<&str>, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let client = client_key(client);
        if self.per_address {
            self.clients.take(&client, PER_CLIENT, now)?;
        }
        let Some(name) = name else {
            return Ok(());
        };
        let pair = (name.to_owned(), client);
        self.names_from_clients
            .take(&pair, PER_NAME_FROM_CLIENT, now)?;
        self.names
            .take(name, PER_NAME, now)
            .inspect_err(|_| self.names_from_clients.give_back(&pair))
    }

    /// A sign-in that succeeded: the name gets its failures back (the
    /// client's attempt stays counted).
    pub fn signed_in(&self, name: &str, client: IpAddr) {
        self.names.give_back(name);
        self.names_from_clients
            .give_back(&(name.to_owned(), client_key(client)));
    }

    /// Takes one of `client`'s attempts, and one of the accounts it may
    /// make this hour and this day, before a sign-up runs.
    pub fn begin_sign_up(&self, client: IpAddr) -> Result<(), SignUpRefused> {
        if !self.per_address {
            return Ok(());
        }
        let now = Instant::now();
        let client = client_key(client);
        self.clients
            .take(&client, PER_CLIENT, now)
            .map_err(SignUpRefused::TooManyAttempts)?;
        self.accounts_this_hour
            .take(&client, ACCOUNTS_PER_HOUR, now)
            .map_err(SignUpRefused::TooManyAccounts)?;
        self.accounts_this_day
            .take(&client, ACCOUNTS_PER_DAY, now)
            .map_err(SignUpRefused::TooManyAccounts)
            .inspect_err(|_| self.accounts_this_hour.give_back(&client))
    }

    /// A sign-up that made no account (its name was taken): the client
    /// gets back the account it took (the attempt stays counted).
    pub fn sign_up_failed(&self, client: IpAddr) {
        if !self.per_address {
            return;
        }
        let client = client_key(client);
        self.accounts_this_hour.give_back(&client);
        self.accounts_this_day.give_back(&client);
    }

    /// Forgets windows that have ended, so memory follows recent attempts.
    pub fn forget_old(&self) {
        let now = Instant::now();
        self.names.forget_old(now);
        self.names_from_clients.forget_old(now);
        self.clients.forget_old(now);
        self.accounts_this_hour.forget_old(now);
        self.accounts_this_day.forget_old(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA_HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    /// The `i`th of many addresses.
    fn address(i: u32) -> IpAddr {
        IpAddr::from((0x0a01_0000 + i).to_be_bytes())
    }

    #[test]
    fn without_per_address_limits_one_address_signs_up_freely_but_names_stay_counted() {
        let attempts = Attempts::new(false);
        let client = IpAddr::from([127, 0, 0, 1]);
        for _ in 0..=(PER_CLIENT + ACCOUNTS_PER_DAY) {
            assert_eq!(attempts.begin_sign_up(client), Ok(()));
        }
        for _ in 0..PER_NAME_FROM_CLIENT {
            assert_eq!(attempts.begin_sign_in(Some("ada"), client), Ok(()));
        }
        assert!(
            attempts.begin_sign_in(Some("ada"), client).is_err(),
            "a name's failures are counted either way"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_from_one_address_lock_out_only_that_address() {
        let attempts = Attempts::default();
        for _ in 0..PER_NAME_FROM_CLIENT {
            attempts
                .begin_sign_in(Some("ada"), ELSEWHERE)
                .expect("may try");
        }
        let wait = attempts
            .begin_sign_in(Some("ada"), ELSEWHERE)
            .expect_err("refused");
        assert_eq!(wait, WINDOW);
        // The owner, at home, is not locked out by a stranger.
        attempts
            .begin_sign_in(Some("ada"), ADA_HOME)
            .expect("the owner may");
        tokio::time::advance(WINDOW).await;
        attempts
            .begin_sign_in(Some("ada"), ELSEWHERE)
            .expect("a new window");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_from_many_addresses_lock_the_name_for_everyone() {
        let attempts = Attempts::default();
        let addresses = PER_NAME / PER_NAME_FROM_CLIENT;
        for i in 0..addresses {
            for _ in 0..PER_NAME_FROM_CLIENT {
                attempts
                    .begin_sign_in(Some("ada"), address(i))
                    .expect("may try");
            }
        }
        assert!(attempts.begin_sign_in(Some("ada"), ADA_HOME).is_err());
        attempts
            .begin_sign_in(Some("bob"), ADA_HOME)
            .expect("another name may");
        // The refusal took nothing from the owner's own count.
        assert_eq!(
            attempts.names_from_clients.lock()[&("ada".to_owned(), ADA_HOME)].1,
            0
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_client_leaves_nothing_behind_about_the_name() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts.begin_sign_in(None, ADA_HOME).expect("may try");
        }
        for i in 0..1000 {
            let name = format!("name{i}");
            assert!(attempts.begin_sign_in(Some(&name), ADA_HOME).is_err());
        }
        assert!(attempts.names.lock().is_empty());
        assert!(attempts.names_from_clients.lock().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_name_no_account_could_have_counts_against_the_client_only() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts.begin_sign_in(None, ADA_HOME).expect("may try");
        }
        assert!(attempts.begin_sign_in(None, ADA_HOME).is_err());
        assert!(attempts.names.lock().is_empty());
        assert!(attempts.names_from_clients.lock().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn sign_ins_in_flight_at_once_count_before_any_finishes() {
        let attempts = Attempts::default();
        // None of these has finished (no hash has run yet).
        for i in 0..PER_CLIENT {
            attempts
                .begin_sign_in(Some(&format!("name{i}")), ADA_HOME)
                .expect("may try");
        }
        assert!(attempts.begin_sign_in(Some("another"), ADA_HOME).is_err());
        assert!(attempts.begin_sign_up(ADA_HOME).is_err());
        attempts
            .begin_sign_in(Some("another"), ELSEWHERE)
            .expect("another client may");
        assert_eq!(attempts.names.lock()["another"].1, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn successful_sign_ins_count_against_the_client_not_the_name() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts
                .begin_sign_in(Some("ada"), ADA_HOME)
                .expect("may try");
            attempts.signed_in("ada", ADA_HOME);
        }
        assert!(attempts.begin_sign_in(Some("ada"), ADA_HOME).is_err());
        attempts
            .begin_sign_in(Some("ada"), ELSEWHERE)
            .expect("the name is not blamed");
    }

    #[tokio::test(start_paused = true)]
    async fn an_ipv6_client_is_its_64_prefix() {
        let attempts = Attempts::default();
        for i in 0..PER_CLIENT {
            let host: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().expect("ip");
            attempts.begin_sign_in(None, host).expect("may try");
        }
        let neighbour: IpAddr = "2001:db8:1:2:ffff::1".parse().expect("ip");
        assert!(attempts.begin_sign_up(neighbour).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_table_refuses_new_keys_and_keeps_counting_old_ones() {
        let attempts = Attempts::default();
        {
            let mut clients = attempts.clients.lock();
            for i in 0..MAX_KEYS as u32 {
                clients.insert(address(i), (Instant::now(), 1));
            }
        }
        assert_eq!(
            attempts.begin_sign_up(ELSEWHERE),
            Err(SignUpRefused::TooManyAttempts(FULL_WAIT))
        );
        attempts
            .begin_sign_up(address(0))
            .expect("a held key counts on");
        assert_eq!(attempts.clients.lock().len(), MAX_KEYS);
    }

    #[tokio::test(start_paused = true)]
    async fn counts_are_forgotten_once_their_window_ends() {
        let attempts = Attempts::default();
        for _ in 0..PER_CLIENT {
            attempts.begin_sign_in(None, ADA_HOME).expect("may try");
        }
        attempts
            .begin_sign_in(Some("ada"), ELSEWHERE)
            .expect("may try");
        assert!(attempts.begin_sign_up(ADA_HOME).is_err());
        tokio::time::advance(WINDOW).await;
        attempts.forget_old();
        assert!(attempts.clients.lock().is_empty());
        assert!(attempts.names.lock().is_empty());
        assert!(attempts.names_from_clients.lock().is_empty());
        attempts.begin_sign_up(ADA_HOME).expect("forgotten");
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_makes_a_few_accounts_an_hour_and_a_day() {
        let attempts = Attempts::default();
        let made_today = |attempts: &Attempts| {
            attempts
                .accounts_this_day
                .lock()
                .get(&ADA_HOME)
                .map_or(0, |(_, count)| *count)
        };
        // Spread out so that the 15-minute count never stops them.
        for hour in 0..ACCOUNTS_PER_DAY.div_ceil(ACCOUNTS_PER_HOUR) {
            for _ in 0..ACCOUNTS_PER_HOUR {
                if made_today(&attempts) == ACCOUNTS_PER_DAY {
                    break;
                }
                attempts.begin_sign_up(ADA_HOME).expect("may sign up");
                tokio::time::advance(Duration::from_secs(60)).await;
            }
            if made_today(&attempts) < ACCOUNTS_PER_DAY {
                assert!(attempts.begin_sign_up(ADA_HOME).is_err(), "hour {hour}");
                tokio::time::advance(HOUR).await;
            }
        }
        // The day's are used up, though this hour's are not.
        let refused = attempts.begin_sign_up(ADA_HOME).expect_err("refused");
        let SignUpRefused::TooManyAccounts(wait) = refused else {
            panic!("{refused:?}")
        };
        assert!(wait > HOUR, "{wait:?}");
        attempts
            .begin_sign_up(ELSEWHERE)
            .expect("another address may");
        tokio::time::advance(wait).await;
        attempts.begin_sign_up(ADA_HOME).expect("a new day");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sign_up_that_made_no_account_gives_the_account_back() {
        let attempts = Attempts::default();
        for _ in 0..ACCOUNTS_PER_HOUR {
            attempts.begin_sign_up(ADA_HOME).expect("may sign up");
            attempts.sign_up_failed(ADA_HOME);
        }
        attempts.begin_sign_up(ADA_HOME).expect("none was made");
        assert_eq!(attempts.accounts_this_hour.lock()[&ADA_HOME].1, 1);
    }
}
