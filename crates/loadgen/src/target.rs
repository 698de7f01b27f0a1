//! The server under test, and the loopback addresses connections come from.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, bail};
use url::{Host, Url};

pub struct Target {
    pub base: Url,
    pub server_pid: Option<u32>,
    /// One HTTP client per source address, so that many connections do not
    /// run out of ephemeral ports on a single address pair.
    clients: Vec<reqwest::Client>,
    /// The server's address, for scenarios that speak TCP themselves.
    pub addr: SocketAddr,
}

impl Target {
    /// Refuses any server that is not on 127.0.0.0/8.
    pub fn new(url: &str, source_addrs: u8, server_pid: Option<u32>) -> anyhow::Result<Self> {
        let base = Url::parse(url).context("--url")?;
        let loopback = match base.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Domain("localhost")) => true,
            _ => false,
        };
        if !loopback {
            bail!("refusing to load {url}: only 127.0.0.0/8 may be targeted");
        }
        let ip = match base.host() {
            Some(Host::Ipv4(ip)) => ip,
            _ => Ipv4Addr::LOCALHOST,
        };
        let addr = SocketAddr::from((ip, base.port_or_known_default().unwrap_or(80)));
        let clients = (0..source_addrs.max(1))
            .map(|i| {
                reqwest::Client::builder()
                    .local_address(IpAddr::V4(source_ip(i)))
                    .pool_max_idle_per_host(64)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            base,
            server_pid,
            clients,
            addr,
        })
    }

    /// The `Host` header a raw request names the server with.
    pub fn host(&self) -> String {
        self.base[url::Position::BeforeHost..url::Position::AfterPort].to_owned()
    }

    /// The source address of raw connection number `n`.
    pub fn source(&self, n: usize) -> SocketAddr {
        let i = u8::try_from(n % self.clients.len()).unwrap_or(0);
        SocketAddr::from((source_ip(i), 0))
    }

    pub fn url(&self, path: &str) -> String {
        let mut url = self.base.clone();
        url.set_path(path);
        url.to_string()
    }

    /// The client for connection number `n`, spreading them over the
    /// source addresses.
    pub fn client(&self, n: usize) -> &reqwest::Client {
        &self.clients[n % self.clients.len()]
    }
}

/// Source address number `i`: 127.0.0.2, .3, …
fn source_ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_may_be_targeted() {
        assert!(Target::new("http://127.0.0.1:3000", 1, None).is_ok());
        assert!(Target::new("http://127.5.6.7:3000", 1, None).is_ok());
        assert!(Target::new("http://localhost:3000", 1, None).is_ok());
        for url in [
            "http://10.0.0.1:3000",
            "http://example.com",
            "http://[::1]:3000",
        ] {
            assert!(Target::new(url, 1, None).is_err(), "{url}");
        }
    }
}
