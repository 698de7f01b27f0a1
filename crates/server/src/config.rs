//! Start-up configuration: command-line flags with environment fallbacks.
//!
//! | flag | environment | default |
//! | --- | --- | --- |
//! | `--addr` | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` |
//! | `--database-url` | `DATABASE_URL` | `sqlite://data/chat.db` |
//! | `--site-root` | `LEPTOS_SITE_ROOT` | `target/site` (where `cargo leptos build` puts the site) |
//! | `--public-url` | `CHAT_PUBLIC_URL` | `http://<addr>` (and `http://localhost:<port>` when `addr` is a loopback address): the only origin allowed to change state, and the only host name answered (see [`crate::edge::site`]) |
//! | `--send-limit` | `CHAT_SEND_LIMIT` | `10,20`: messages per second and burst per client, or `off` (see [`crate::edge::rate`]) |
//! | `--streams-per-ip` | `CHAT_STREAMS_PER_IP` | `100` open event streams per client address, or `off` (see [`crate::edge::slots`]) |
//! | `--max-connections` | `CHAT_MAX_CONNECTIONS` | the open-file limit (raised to its hard maximum at start) less 64; connections over it get 503 |
//! | `--guests` | `CHAT_GUESTS` | `on`: people without an account may send under a name no account holds; `off`: only accounts may send (reading stays open) |
//! | `--trusted-proxy` | `CHAT_TRUSTED_PROXY` | none: the addresses or networks (comma-separated, `10.0.0.5,fd00::/8`) of the proxies in front, from which `X-Forwarded-For` is believed (see [`crate::edge::client`]) |
//! | `--trusted-proxy-header` | `CHAT_TRUSTED_PROXY_HEADER` | `x-forwarded-for`, or `forwarded` (RFC 7239) when the proxies write that |
//! | `--account-limit` | `CHAT_ACCOUNT_LIMIT` | `on`: sign-ins and sign-ups per client address (30 in 15 minutes) and accounts made (20 an hour, 50 a day) are counted; `off` for test suites and load tests from one address |
//! | `--audit-keeps-text` | `CHAT_AUDIT_KEEPS_TEXT` | off: a message a moderator removes is gone; on: the audit log keeps its text as evidence |
//! | `--durability` | `CHAT_DURABILITY` | `full`: a send is acknowledged once its commit is on disk; `normal`: once it is in the WAL (see [`Durability`]) |
//!
//! The log filter comes from `RUST_LOG` (default `info`). The other
//! `LEPTOS_*` variables that `cargo leptos watch` sets (reload port,
//! environment) are read by Leptos itself.

use std::{net::SocketAddr, time::Duration};

use leptos::config::LeptosOptions;

use ipnet::IpNet;

use crate::{
    edge::client::{self, ProxyHeader, TrustedProxies},
    edge::rate::RateLimit,
    edge::site::{BadPublicUrl, Site},
    edge::slots::StreamsPerIp,
    log::store::Durability,
};

#[derive(Clone, Debug, clap::Parser)]
#[command(name = "server", about = "The chat server", version)]
pub struct Config {
    /// The address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The address browsers reach the chat at, `http(s)://host[:port]`
    /// (behind a proxy, the proxy's): requests from other origins may not
    /// change state, and requests for other host names are refused.
    #[arg(long, env = "CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How fast one client may send: `<per second>,<burst>`, or `off`
    /// (load tests from one address turn it off).
    #[arg(long, env = "CHAT_SEND_LIMIT", default_value_t = RateLimit::SENDS)]
    pub send_limit: RateLimit,

    /// How fast one client address may read through the API (history
    /// pages, the room list, the session, the page's reading server
    /// functions) and load pages: `<per second>,<burst>`, or `off`.
    #[arg(long, env = "CHAT_READ_LIMIT", default_value_t = RateLimit::READS)]
    pub read_limit: RateLimit,

    /// How many event streams one client address may hold open: a
    /// number, or `off`.
    #[arg(long, env = "CHAT_STREAMS_PER_IP", default_value_t = StreamsPerIp::default())]
    pub streams_per_ip: StreamsPerIp,

    /// The most connections open at once; more are answered 503. By
    /// default the open-file limit (raised to its hard maximum) less a
    /// reserve for the database.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Whether people without an account may send (under a name no
    /// account holds): `on` or `off`. Reading is open either way.
    #[arg(long, env = "CHAT_GUESTS", value_enum, default_value_t = Guests::On)]
    pub guests: Guests,

    /// The proxies in front of this server (addresses or networks,
    /// comma-separated): only from them is the client's address taken
    /// from `--trusted-proxy-header`; every other peer is its own client.
    #[arg(long, env = "CHAT_TRUSTED_PROXY", value_delimiter = ',', value_parser = client::parse_network)]
    pub trusted_proxy: Vec<IpNet>,

    /// The header the trusted proxies write the client's address in.
    #[arg(long, env = "CHAT_TRUSTED_PROXY_HEADER", value_enum, default_value_t = ProxyHeader::XForwardedFor)]
    pub trusted_proxy_header: ProxyHeader,

    /// The database: `sqlite://<path>` (the file and its folder are
    /// created) or `postgres://…` (several servers on one chat).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/chat.db")]
    pub database_url: String,

    /// The folder holding the built site (`pkg/` with the WASM, JS and CSS).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// When a send is acknowledged: `full` once its commit is on disk
    /// (survives power loss), `normal` once it is in the write-ahead log
    /// (survives a server crash or restart, not a power loss).
    #[arg(long, env = "CHAT_DURABILITY", value_enum, default_value_t = Durability::Full)]
    pub durability: Durability,

    /// Whether each client address's sign-ins and sign-ups are counted
    /// (30 in 15 minutes) and the accounts it makes (20 an hour, 50 a
    /// day): `on`, or `off` for test suites and load tests whose every
    /// client is one address. A name's failed sign-ins are counted either
    /// way.
    #[arg(long, env = "CHAT_ACCOUNT_LIMIT", value_enum, default_value_t = AccountLimit::On)]
    pub account_limit: AccountLimit,

    /// Keep the text of every message a moderator removes in the audit
    /// log, as evidence (otherwise a removal leaves no copy of it).
    #[arg(long, env = "CHAT_AUDIT_KEEPS_TEXT")]
    pub audit_keeps_text: bool,

    /// What to do instead of serving: the operator's tools.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The server's own timers; not flags (see [`Timing`]).
    #[arg(skip)]
    pub timing: Timing,

    /// How many response bytes may wait for slow readers; not flags (see
    /// [`crate::edge::budget`]).
    #[arg(skip)]
    pub response_budget: crate::edge::budget::Limits,
}

/// How long the server waits for a client, and how often it speaks on a
/// quiet stream. Operators get [`Timing::default`]; tests shorten a timer
/// so that they wait for what it does rather than for the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a client has to send a whole request head (see [`crate::edge::serve`]).
    pub head_timeout: Duration,
    /// How long a client has to send a whole request body, from its head
    /// (see [`crate::edge::deadline`]).
    pub body_timeout: Duration,
    /// How long a write may make no progress before the connection ends
    /// (see [`crate::edge::deadline`]).
    pub write_timeout: Duration,
    /// How often a stream with nothing to say sends a `ping` event.
    pub keep_alive: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(shared::KEEP_ALIVE_SECS),
        }
    }
}

/// The operator's tools, run on the configured database instead of
/// serving.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Accounts' roles.
    #[command(subcommand)]
    Admin(Admin),
}

/// `server admin …`.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Admin {
    /// Gives the account NAME a role (the first admin is made so),
    /// recorded in the audit log. Safe while servers run on the same
    /// database, SQLite included: it writes one row through SQLite's own
    /// locking, and a running server reads an account's role afresh on
    /// every request.
    Grant {
        /// The account's name (any spelling that names it).
        name: String,
        /// `admin`, `moderator` or `member`.
        #[arg(long)]
        role: shared::account::Role,
    },
}

/// `--account-limit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AccountLimit {
    #[default]
    On,
    Off,
}

/// `--guests`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Guests {
    #[default]
    On,
    Off,
}

impl Config {
    /// Whose word on the client is believed.
    pub fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies::new(&self.trusted_proxy, self.trusted_proxy_header)
    }

    /// The site's origins: `--public-url`, else the address listened on.
    pub fn site(&self) -> Result<Site, BadPublicUrl> {
        Site::new(self.public_url.as_deref(), self.addr)
    }

    /// Leptos's options: those `cargo leptos` compiled in or set in the
    /// environment, with our address and site root.
    pub fn leptos_options(&self) -> LeptosOptions {
        let built_by_cargo_leptos = option_env!("LEPTOS_OUTPUT_NAME").is_some()
            || std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
        let configured = built_by_cargo_leptos
            .then(|| leptos::config::get_configuration(None).ok())
            .flatten()
            .map(|conf| conf.leptos_options);
        // Built by plain `cargo` (tests): the output name is the one in Cargo.toml.
        let mut options =
            configured.unwrap_or_else(|| LeptosOptions::builder().output_name("chat").build());
        options.site_addr = self.addr;
        options.site_root = self.site_root.as_str().into();
        // `cargo leptos serve` says so in the environment; a binary started
        // by itself knows from the hash file the build put beside it.
        options.hash_files |= hash_file_beside_executable(&options.hash_file);
        options
    }
}

/// Whether the build that made this executable hashed the site's file
/// names (`hash-files` in Cargo.toml): it then writes the hashes into a
/// file next to the executable, where Leptos reads them.
fn hash_file_beside_executable(name: &str) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(name)))
        .is_some_and(|path| path.is_file())
}
