//! How fast one client may send, and read: a token bucket per client (GCRA,
//! from `governor`).
//!
//! - Sends: 10 messages a second with a burst of 20 by default. Without it
//!   one client could store thousands of maximum-size messages a second
//!   and push them to every open tab. A send over the limit is refused with
//!   429 and `Retry-After` before its body is read; nothing is stored, and
//!   the page's outbox waits that long and sends it again under the same
//!   `client_id`.
//! - Reads: every other request to the API (history pages, the room list,
//!   the session, the server functions that read) and every page may go
//!   to the database;
//!   50 a second with a burst of 100 per client address by default, far
//!   above what pages ask for, so that one client cannot keep the database
//!   busy. The event stream has its own limit (see [`crate::edge::slots`]).
//!
//! A client is its IP address (an IPv6 client, its /64: one host usually
//! holds a whole /64); a signed-in sender is its account instead, wherever
//! it sends from (see [`crate::door::caller`]): a request with a session cookie
//! is counted once its account is known. Every send from an address also
//! counts, before its body is read and whatever cookie it carries, against
//! the address's ceiling of [`ADDRESS_CEILING`] senders' worth: accounts
//! multiply a person's budget, not an address's.
//!
//! Each route says which it is where it is routed ([`sends`], [`reads`];
//! the pages and server functions by [`limit_pages_and_server_fns`]): the
//! event stream, the site's files and the health check are neither.

use std::{net::IpAddr, num::NonZeroU32, str::FromStr, sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::MethodRouter,
};
use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};
use leptos::server_fn::ServerFn;
use tokio_util::sync::CancellationToken;

use axum_extra::extract::CookieJar;

use crate::{
    AppState,
    door::accounts::session_token,
    edge::client::{ClientIp, client_key},
    edge::error::ApiError,
};

/// How many senders' worth one address may send in all, whoever is signed
/// in there (a household or an office behind one address has a few
/// people; thirty accounts made by one client do not get thirty budgets).
pub const ADDRESS_CEILING: u32 = 5;

/// How often clients that have not sent for a while are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// `--send-limit`, `--read-limit`: requests per second and burst, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimit {
    Off,
    PerSecond { rate: NonZeroU32, burst: NonZeroU32 },
}

impl RateLimit {
    /// Sends per client by default.
    pub const SENDS: Self = Self::per_second(10, 20);
    /// Reads per client address by default.
    pub const READS: Self = Self::per_second(50, 100);

    /// `rate` a second with bursts of `burst`; no limit (`Off`) if either
    /// is zero, as the flag's `off` (which refuses `0,…` and `…,0`).
    pub const fn per_second(rate: u32, burst: u32) -> Self {
        match (NonZeroU32::new(rate), NonZeroU32::new(burst)) {
            (Some(rate), Some(burst)) => Self::PerSecond { rate, burst },
            _ => Self::Off,
        }
    }

    /// `factor` times this limit, in rate and burst.
    fn times(self, factor: NonZeroU32) -> Self {
        match self {
            Self::Off => Self::Off,
            Self::PerSecond { rate, burst } => Self::PerSecond {
                rate: rate.saturating_mul(factor),
                burst: burst.saturating_mul(factor),
            },
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        let bad =
            || format!("expected `off` or `<per second>,<burst>` such as `10,20`, got `{value}`");
        let (rate, burst) = value.split_once(',').ok_or_else(bad)?;
        Ok(Self::PerSecond {
            rate: rate.trim().parse().map_err(|_| bad())?,
            burst: burst.trim().parse().map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::PerSecond { rate, burst } => write!(f, "{rate},{burst}"),
        }
    }
}

/// A token bucket per key with one limit (none when the limit is off);
/// cheap to clone.
#[derive(Clone, Debug)]
struct Buckets<K: Clone + Eq + std::hash::Hash>(Option<Arc<DefaultKeyedRateLimiter<K>>>);

impl<K: Clone + Eq + std::hash::Hash + Send + Sync + 'static> Buckets<K> {
    /// Buckets for `limit`. Until `shutdown`, a task forgets every minute
    /// the keys whose buckets are full again, so that memory follows the
    /// clients of the last minute, not every client ever seen.
    fn start(limit: RateLimit, shutdown: CancellationToken) -> Self {
        let RateLimit::PerSecond { rate, burst } = limit else {
            return Self(None);
        };
        let quota = Quota::per_second(rate).allow_burst(burst);
        let buckets = Arc::new(DefaultKeyedRateLimiter::keyed(quota));
        let forget = Arc::clone(&buckets);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(FORGET_EVERY);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = every.tick() => {
                        forget.retain_recent();
                        forget.shrink_to_fit();
                    }
                }
            }
        });
        Self(Some(buckets))
    }

    /// Takes one request from `key`'s bucket, or says how long until one
    /// is there.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(buckets) = &self.0 else {
            return Ok(());
        };
        buckets
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The send limit of every client; cheap to clone.
#[derive(Clone, Debug)]
pub struct SendLimiter {
    clients: Buckets<IpAddr>,
    /// The same limit per signed-in account.
    accounts: Buckets<i64>,
    /// [`ADDRESS_CEILING`] times the limit per address, over every send.
    addresses: Buckets<IpAddr>,
}

impl SendLimiter {
    /// A limiter for `limit` (idle clients forgotten until `shutdown`).
    pub fn start(limit: RateLimit, shutdown: CancellationToken) -> Self {
        let ceiling = NonZeroU32::new(ADDRESS_CEILING).unwrap_or(NonZeroU32::MIN);
        Self {
            clients: Buckets::start(limit, shutdown.clone()),
            accounts: Buckets::start(limit, shutdown.clone()),
            addresses: Buckets::start(limit.times(ceiling), shutdown),
        }
    }

    /// Takes one send from the ceiling of `client`'s address, or says how
    /// long until one is there.
    pub fn check_address(&self, client: IpAddr) -> Result<(), Duration> {
        self.addresses.check(&client_key(client))
    }

    /// Takes one send from the account's bucket, or says how long until
    /// one is there.
    pub fn check_account(&self, account: i64) -> Result<(), Duration> {
        self.accounts.check(&account)
    }

    /// Takes one send from `client`'s bucket, or says how long until one is there.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.clients.check(&client_key(client))
    }
}

/// The read limit of every client address; cheap to clone.
#[derive(Clone, Debug)]
pub struct ReadLimiter {
    clients: Buckets<IpAddr>,
}

impl ReadLimiter {
    /// A limiter for `limit` (idle clients forgotten until `shutdown`).
    pub fn start(limit: RateLimit, shutdown: CancellationToken) -> Self {
        Self {
            clients: Buckets::start(limit, shutdown),
        }
    }

    /// Takes one read from `client`'s bucket, or says how long until one is there.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.clients.check(&client_key(client))
    }
}

/// Middleware of every send route: refuses a send over its client's limit
/// with 429, before its body is read.
pub async fn limit_sends(
    State(limiter): State<SendLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let ClientIp(client) = ClientIp::from_extensions(request.extensions());
    // Every send, whoever it is from; then a guest's (no cookie) against
    // the address. A signed-in sender is counted per account once it is
    // known.
    let no_session = session_token(&CookieJar::from_headers(request.headers())).is_none();
    let allowed = limiter.check_address(client).and_then(|()| {
        if no_session {
            limiter.check(client)
        } else {
            Ok(())
        }
    });
    if let Err(wait) = allowed {
        return ApiError::RateLimited(wait).into_response();
    }
    next.run(request).await
}

/// Middleware of every read route: refuses a read over its client
/// address's limit with 429.
pub async fn limit_reads(
    State(limiter): State<ReadLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let ClientIp(client) = ClientIp::from_extensions(request.extensions());
    if let Err(wait) = limiter.check(client) {
        return ApiError::RateLimited(wait).into_response();
    }
    next.run(request).await
}

/// `route` as a send: counted against the send limits before its body is
/// read.
pub fn sends(state: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(middleware::from_fn_with_state(
        state.send_limiter.clone(),
        limit_sends,
    ))
}

/// `route` as a read: counted against the read limit.
pub fn reads(state: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(middleware::from_fn_with_state(
        state.read_limiter.clone(),
        limit_reads,
    ))
}

/// Middleware of the pages and the page's server functions: every one is
/// a read (each page is rendered from the database: its history, the
/// rooms, the counts), but the server function that sends a message,
/// which is a send.
pub async fn limit_pages_and_server_fns(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == <app::api::SendMessage as ServerFn>::PATH {
        limit_sends(State(state.send_limiter.clone()), request, next).await
    } else {
        limit_reads(State(state.read_limiter.clone()), request, next).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, burst: u32) -> SendLimiter {
        let limit = format!("{rate},{burst}").parse().expect("limit");
        SendLimiter::start(limit, CancellationToken::new())
    }

    #[test]
    fn limits_are_read_from_the_flag() {
        assert_eq!("off".parse(), Ok(RateLimit::Off));
        assert_eq!("10,20".parse::<RateLimit>(), Ok(RateLimit::SENDS));
        assert_eq!(RateLimit::SENDS.to_string(), "10,20");
        assert_eq!(RateLimit::READS.to_string(), "50,100");
        for bad in ["", "10", "0,20", "10,0", "ten,20", "-1,2"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_burst_passes_then_the_next_send_must_wait() {
        let limiter = limiter(10, 20);
        let ada = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..20 {
            limiter.check(ada).expect("within the burst");
        }
        let wait = limiter.check(ada).expect_err("over the burst");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Another client has a bucket of its own.
        limiter
            .check(IpAddr::from([10, 0, 0, 2]))
            .expect("own bucket");
    }

    #[tokio::test]
    async fn an_address_sends_at_most_its_ceiling_whoever_is_signed_in() {
        let limiter = limiter(1, 2);
        let office = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..2 * ADDRESS_CEILING {
            limiter.check_address(office).expect("within the ceiling");
        }
        limiter.check_address(office).expect_err("over the ceiling");
        limiter
            .check_address(IpAddr::from([10, 0, 0, 2]))
            .expect("another address has its own");
    }

    #[tokio::test]
    async fn off_never_refuses() {
        let limiter = SendLimiter::start(RateLimit::Off, CancellationToken::new());
        for _ in 0..1000 {
            let client = IpAddr::from([10, 0, 0, 1]);
            limiter.check(client).expect("no limit");
            limiter.check_address(client).expect("no ceiling");
        }
    }
}
