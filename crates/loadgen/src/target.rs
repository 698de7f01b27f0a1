//! The servers under test (one, or several sharing one database), and the
//! loopback addresses connections come from.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, bail};
use url::{Host, Url};

pub struct Target {
    /// Connection number `n` goes to server `n % servers.len()`.
    servers: Vec<Server>,
    /// The first server's pid, to read its memory.
    pub server_pid: Option<u32>,
    /// One HTTP client per source address, so that many connections do not
    /// run out of ephemeral ports on a single address pair.
    clients: Vec<reqwest::Client>,
}

/// One server under test.
struct Server {
    base: Url,
    /// For scenarios that speak TCP themselves.
    addr: SocketAddr,
}

impl Server {
    /// Refuses any server that is not on 127.0.0.0/8.
    fn new(url: &str) -> anyhow::Result<Self> {
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
        Ok(Self { base, addr })
    }
}

impl Target {
    /// Refuses any server that is not on 127.0.0.0/8.
    pub fn new(urls: &[String], source_addrs: u8, server_pid: Option<u32>) -> anyhow::Result<Self> {
        let servers = urls
            .iter()
            .map(|url| Server::new(url))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!servers.is_empty(), "--url names no server");
        let clients = (0..source_addrs.max(1))
            .map(|i| {
                reqwest::Client::builder()
                    .local_address(IpAddr::V4(source_ip(i)))
                    .pool_max_idle_per_host(64)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            servers,
            server_pid,
            clients,
        })
    }

    fn server(&self, n: usize) -> &Server {
        &self.servers[n % self.servers.len()]
    }

    /// How many servers share the load.
    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    /// The address of the server raw connection number `n` goes to.
    pub fn addr(&self, n: usize) -> SocketAddr {
        self.server(n).addr
    }

    /// The `Host` header a raw request on connection number `n` names its
    /// server with.
    pub fn host(&self, n: usize) -> String {
        self.server(n).base[url::Position::BeforeHost..url::Position::AfterPort].to_owned()
    }

    /// How many source addresses connections spread over.
    pub fn source_addrs(&self) -> usize {
        self.clients.len()
    }

    /// The source address of raw connection number `n`.
    pub fn source(&self, n: usize) -> SocketAddr {
        let i = u8::try_from(n % self.clients.len()).unwrap_or(0);
        SocketAddr::from((source_ip(i), 0))
    }

    /// `path` on the first server.
    pub fn url(&self, path: &str) -> String {
        let mut url = self.servers[0].base.clone();
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
        let target = |urls: &[&str]| {
            let urls: Vec<String> = urls.iter().map(|url| (*url).to_owned()).collect();
            Target::new(&urls, 1, None)
        };
        assert!(target(&["http://127.0.0.1:3000"]).is_ok());
        assert!(target(&["http://127.5.6.7:3000"]).is_ok());
        assert!(target(&["http://localhost:3000"]).is_ok());
        for url in [
            "http://10.0.0.1:3000",
            "http://example.com",
            "http://[::1]:3000",
        ] {
            assert!(target(&[url]).is_err(), "{url}");
            assert!(target(&["http://127.0.0.1:3000", url]).is_err(), "{url}");
        }
        assert!(target(&[]).is_err());
    }

    #[test]
    fn connections_take_turns_among_the_servers() {
        let urls = [
            "http://127.0.0.1:3001".to_owned(),
            "http://127.0.0.1:3002".to_owned(),
        ];
        let target = Target::new(&urls, 1, None).expect("loopback");
        let ports: Vec<u16> = (0..4).map(|n| target.addr(n).port()).collect();
        assert_eq!(ports, [3001, 3002, 3001, 3002]);
        assert_eq!(target.host(1), "127.0.0.1:3002");
    }
}
