//! Who a client is, for every per-address rule (sends, reads, streams,
//! sign-ins, presence): the peer of its connection, or, when that peer is
//! a proxy the operator trusts (`--trusted-proxy`), the address the proxy
//! says it serves.
//!
//! A proxy appends the address it was reached from to `X-Forwarded-For`
//! (or `Forwarded`); whatever a client wrote there itself stands to the
//! left of that. So the header is read from the right: past every trusted
//! proxy, the first address is the client. An address to the left of it
//! is the client's own claim and is never believed, and from a peer that
//! is not trusted the header is not read at all.

use std::{
    convert::Infallible,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    str::FromStr,
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderMap, request::Parts},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

/// The client's address (`0.0.0.0` when the router is served without
/// connection info, as in tests that call it directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_extensions(&parts.extensions))
    }
}

impl ClientIp {
    /// From a request's extensions: what [`find_client`] decided, else the
    /// peer the accept loop put there.
    pub fn from_extensions(extensions: &axum::http::Extensions) -> Self {
        if let Some(client) = extensions.get::<Self>() {
            return *client;
        }
        let ip = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Self(ip)
    }
}

/// Who a client is, for every per-address rule: its IPv4 address, or its
/// IPv6 /64 (one host usually holds a whole /64; an IPv4 address mapped
/// into IPv6 is that IPv4 address).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// `--trusted-proxy-header`: which header the trusted proxies write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1` (nginx's
    /// `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

impl ProxyHeader {
    fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The proxies whose word on the client is believed (none by default).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    networks: Arc<[IpNet]>,
    header: ProxyHeader,
}

impl TrustedProxies {
    pub fn new(networks: &[IpNet], header: ProxyHeader) -> Self {
        Self {
            networks: networks.iter().map(IpNet::trunc).collect(),
            header,
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = client_ip_form(ip);
        self.networks.iter().any(|network| network.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        // Every line of the header, in order, is one list.
        let entries = headers
            .get_all(self.header.name())
            .iter()
            .rev()
            .flat_map(|line| line.as_bytes().rsplit(|byte| *byte == b','));
        let mut nearest = peer;
        for entry in entries {
            let address = std::str::from_utf8(entry)
                .ok()
                .and_then(|entry| match self.header {
                    ProxyHeader::XForwardedFor => parse_node(entry),
                    ProxyHeader::Forwarded => forwarded_for(entry),
                });
            // A trusted proxy wrote every entry up to the client's, so a
            // malformed one means a proxy was misconfigured: the one that
            // passed it on is all that is known.
            let Some(address) = address else {
                return nearest;
            };
            if !self.trusts(address) {
                return address;
            }
            nearest = address;
        }
        // Only trusted proxies (or no header): the farthest one is the client.
        nearest
    }
}

/// An IPv4 address mapped into IPv6 is that IPv4 address.
fn client_ip_form(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One node of a forwarding header: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        let (address, _port) = rest.split_once(']')?;
        return Ipv6Addr::from_str(address).ok().map(IpAddr::V6);
    }
    if let Ok(address) = IpAddr::from_str(node) {
        return Some(client_ip_form(address));
    }
    let (address, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    IpAddr::from_str(address).ok().map(client_ip_form)
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.1;proto=https`,
/// `for="[2001:db8::1]:4711"`); `unknown` and obfuscated names are no address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|value| value.strip_suffix('"'))
            .unwrap_or(value);
        parse_node(value)
    })
}

/// Decides who the client of each request is, once, before any limit
/// counts it (see the module's documentation).
pub async fn find_client(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let ClientIp(peer) = ClientIp::from_extensions(request.extensions());
    let client = proxies.client(peer, request.headers());
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

/// `--trusted-proxy`'s values: an address (`10.0.0.5`) or a network
/// (`10.0.0.0/8`, `fd00::/8`).
pub fn parse_network(value: &str) -> Result<IpNet, String> {
    IpNet::from_str(value)
        .or_else(|_| IpAddr::from_str(value).map(IpNet::from))
        .map_err(|_| format!("`{value}` is neither an address nor a network (like 10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn proxies(networks: &[&str], header: ProxyHeader) -> TrustedProxies {
        let networks: Vec<IpNet> = networks
            .iter()
            .map(|network| parse_network(network).expect("network"))
            .collect();
        TrustedProxies::new(&networks, header)
    }

    fn headers(name: &'static str, lines: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(name, HeaderValue::from_static(line));
        }
        headers
    }

    #[test]
    fn an_ipv6_host_is_its_64_prefix() {
        let a = ip("2001:db8:1:2:aaaa::1");
        let b = ip("2001:db8:1:2:bbbb::2");
        let other = ip("2001:db8:1:3::1");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn without_trusted_proxies_the_header_is_not_read() {
        let none = TrustedProxies::default();
        let forged = headers("x-forwarded-for", &["192.0.2.9"]);
        assert_eq!(none.client(ip("10.0.0.5"), &forged), ip("10.0.0.5"));
        let trusted = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        assert_eq!(trusted.client(ip("192.0.2.1"), &forged), ip("192.0.2.1"));
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_entry() {
        let trusted = proxies(&["10.0.0.0/8", "fd00::/8"], ProxyHeader::XForwardedFor);
        let peer = ip("10.0.0.5");
        // The client's own claim (left) is not believed.
        let claimed = headers("x-forwarded-for", &["192.0.2.9, 198.51.100.7"]);
        assert_eq!(trusted.client(peer, &claimed), ip("198.51.100.7"));
        // Through two trusted proxies, across header lines.
        let chained = headers("x-forwarded-for", &["192.0.2.9, 198.51.100.7", "10.1.1.1"]);
        assert_eq!(trusted.client(peer, &chained), ip("198.51.100.7"));
        // Ports and brackets, and a mapped IPv4 peer.
        let ported = headers("x-forwarded-for", &["[2001:db8::7]:4711"]);
        assert_eq!(
            trusted.client(ip("::ffff:10.0.0.5"), &ported),
            ip("2001:db8::7")
        );
        let ported = headers("x-forwarded-for", &["198.51.100.7:80"]);
        assert_eq!(trusted.client(peer, &ported), ip("198.51.100.7"));
        // No header: the proxy is the client; only proxies: the farthest.
        assert_eq!(trusted.client(peer, &HeaderMap::new()), peer);
        let internal = headers("x-forwarded-for", &["10.9.9.9, 10.1.1.1"]);
        assert_eq!(trusted.client(peer, &internal), ip("10.9.9.9"));
        // Garbage where a trusted proxy should have written: the hop that
        // passed it on.
        let garbage = headers("x-forwarded-for", &["nonsense, 10.1.1.1"]);
        assert_eq!(trusted.client(peer, &garbage), ip("10.1.1.1"));
    }

    #[test]
    fn forwarded_is_read_when_the_proxies_write_it() {
        let trusted = proxies(&["10.0.0.5"], ProxyHeader::Forwarded);
        let peer = ip("10.0.0.5");
        let header = headers(
            "forwarded",
            &[r#"for=192.0.2.9, for="[2001:db8::7]:4711";proto=https;by=10.0.0.5"#],
        );
        assert_eq!(trusted.client(peer, &header), ip("2001:db8::7"));
        // X-Forwarded-For is then the client's to write, and ignored.
        let other = headers("x-forwarded-for", &["192.0.2.9"]);
        assert_eq!(trusted.client(peer, &other), peer);
        let unknown = headers("forwarded", &["for=unknown"]);
        assert_eq!(trusted.client(peer, &unknown), peer);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert_eq!(
            parse_network("10.0.0.5"),
            Ok("10.0.0.5/32".parse().expect("net"))
        );
        assert_eq!(
            parse_network("fd00::/8"),
            Ok("fd00::/8".parse().expect("net"))
        );
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("proxy.example").is_err());
    }
}
