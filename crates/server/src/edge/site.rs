//! The site's own origin, and the two rules that follow from it.
//!
//! - **Only the site changes state.** A browser says where a request comes
//!   from: `Origin` on every cross-site request and on same-site `POST`s,
//!   `Sec-Fetch-Site` on everything in current browsers. A state-changing
//!   request (any method but `GET`, `HEAD` and `OPTIONS`) whose `Origin` is
//!   not the site's, or that has no `Origin` and a `Sec-Fetch-Site` other
//!   than `same-origin` or `none`, is refused with 403: another page cannot
//!   post through a visitor's browser. A request with neither header is not
//!   a browser's (curl, the load generator, a bot with its own address) and
//!   may do only what it could do anyway.
//! - **Only the site's names are answered.** A request whose `Host` is not
//!   the site's gets 421: a hostile page whose DNS name was rebound to this
//!   server's address cannot read from it as if it were its own origin.
//!
//! The site's origins come from `--public-url`, else from the address the
//! server listens on (and `localhost` with its port when that is a loopback
//! address, as a developer types it).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::edge::error::ApiError;

/// The origins (`scheme://host[:port]`, lower case) the site is served at.
#[derive(Clone, Debug)]
pub struct Site {
    origins: Arc<[Origin]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    /// `http://127.0.0.1:3000`: what a browser sends in `Origin`.
    serialized: String,
    /// `127.0.0.1:3000`: what it sends in `Host`.
    authority: String,
    /// The authority without the scheme's default port, which a browser
    /// leaves out of `Host` (`example.com` for `https://example.com:443`).
    default_port: bool,
}

/// Why a public URL cannot name the site.
#[derive(Debug, thiserror::Error)]
#[error("the public URL must look like http(s)://host[:port], without a path: {0}")]
pub struct BadPublicUrl(String);

impl Site {
    /// The site at `public_url` if given, else at `addr` (and `localhost`
    /// when `addr` is a loopback address).
    pub fn new(public_url: Option<&str>, addr: SocketAddr) -> Result<Self, BadPublicUrl> {
        let origins = match public_url {
            Some(url) => vec![Origin::parse(url)?],
            None => {
                let mut origins = vec![Origin::parse(&format!("http://{addr}"))?];
                if addr.ip().is_loopback() {
                    let localhost = format!("http://localhost:{}", addr.port());
                    origins.push(Origin::parse(&localhost)?);
                }
                origins
            }
        };
        Ok(Self {
            origins: origins.into(),
        })
    }

    /// The origin pages are served at: the first one.
    pub fn origin(&self) -> &str {
        &self.origins[0].serialized
    }

    /// Whether pages are served over https (cookies are then `Secure`).
    pub fn is_https(&self) -> bool {
        self.origin().starts_with("https://")
    }

    /// Whether a `Host` header's value names this site.
    pub fn allows_host(&self, host: &[u8]) -> bool {
        let Ok(host) = std::str::from_utf8(host) else {
            return false;
        };
        let host = host.trim();
        self.origins.iter().any(|origin| {
            host.eq_ignore_ascii_case(&origin.authority)
                || (origin.default_port
                    && origin
                        .authority
                        .rsplit_once(':')
                        .is_some_and(|(name, _)| host.eq_ignore_ascii_case(name)))
        })
    }

    /// Whether a request's `Host` headers name this site: exactly one, and
    /// ours. Two would let a proxy and this server disagree about which
    /// site a request is for.
    pub fn allows_hosts<'a>(&self, mut hosts: impl Iterator<Item = &'a [u8]>) -> bool {
        match (hosts.next(), hosts.next()) {
            (Some(host), None) => self.allows_host(host),
            _ => false,
        }
    }

    /// Whether a request with these headers may change state: it comes
    /// from this site's own pages, or from no browser at all.
    pub fn allows_state_change(&self, headers: &HeaderMap) -> bool {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            return self
                .origins
                .iter()
                .any(|own| origin.eq_ignore_ascii_case(&own.serialized));
        }
        match headers.get("sec-fetch-site") {
            Some(site) => matches!(site.as_bytes(), b"same-origin" | b"none"),
            None => true,
        }
    }
}

impl Origin {
    fn parse(url: &str) -> Result<Self, BadPublicUrl> {
        let bad = || BadPublicUrl(url.to_owned());
        let trimmed = url.trim().trim_end_matches('/');
        let (scheme, rest) = trimmed.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad()),
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad());
        }
        // A port is the digits after the last colon outside an IPv6 literal.
        let (authority, port) = match rest.rsplit_once(':') {
            Some((_, port)) if !port.contains(']') => {
                let port: u16 = port.parse().map_err(|_| bad())?;
                (rest.to_owned(), port)
            }
            _ => (format!("{rest}:{default_port}"), default_port),
        };
        let authority = authority.to_ascii_lowercase();
        // Browsers leave the default port out of both `Origin` and `Host`.
        let serialized = if port == default_port {
            let name = authority.rsplit_once(':').map_or(&*authority, |(n, _)| n);
            format!("{scheme}://{name}")
        } else {
            format!("{scheme}://{authority}")
        };
        Ok(Self {
            serialized,
            authority,
            default_port: port == default_port,
        })
    }
}

/// Middleware: answers requests for a foreign `Host` with 421, and
/// cross-site state changes with 403, before any handler runs.
pub async fn guard(State(site): State<Site>, request: Request, next: Next) -> Response {
    let hosts = request.headers().get_all(header::HOST).iter();
    if !site.allows_hosts(hosts.map(|host| host.as_bytes())) {
        return ApiError::WrongHost.into_response();
    }
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !site.allows_state_change(request.headers()) {
        tracing::warn!(
            method = %request.method(),
            path = request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            "refused a cross-site request"
        );
        return ApiError::CrossSite.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn local() -> Site {
        Site::new(None, "127.0.0.1:3000".parse().expect("addr")).expect("site")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn a_loopback_site_answers_its_address_and_localhost() {
        let site = local();
        assert_eq!(site.origin(), "http://127.0.0.1:3000");
        assert!(site.allows_host(b"127.0.0.1:3000"));
        assert!(site.allows_host(b"LOCALHOST:3000"));
        assert!(!site.allows_host(b"evil.example:3000"));
        assert!(!site.allows_host(b"127.0.0.1:3001"));
        assert!(!site.allows_host(b"127.0.0.1"));
    }

    #[test]
    fn a_public_url_is_the_only_name() {
        let site = Site::new(
            Some("https://Chat.Example.org/"),
            "0.0.0.0:3000".parse().expect("addr"),
        )
        .expect("site");
        assert_eq!(site.origin(), "https://chat.example.org");
        assert!(site.allows_host(b"chat.example.org"));
        assert!(site.allows_host(b"chat.example.org:443"));
        assert!(!site.allows_host(b"0.0.0.0:3000"));
        assert!(site.allows_state_change(&headers(&[("origin", "https://chat.example.org")])));
        assert!(!site.allows_state_change(&headers(&[("origin", "http://chat.example.org")])));
    }

    #[test]
    fn a_public_url_with_a_port_keeps_it() {
        let site = Site::new(
            Some("http://[::1]:8080"),
            "[::1]:8080".parse().expect("addr"),
        )
        .expect("site");
        assert_eq!(site.origin(), "http://[::1]:8080");
        assert!(site.allows_host(b"[::1]:8080"));
        assert!(!site.allows_host(b"[::1]"));
    }

    #[test]
    fn public_urls_with_paths_or_other_schemes_are_refused() {
        let addr = "127.0.0.1:3000".parse().expect("addr");
        for url in [
            "chat.example.org",
            "ftp://x",
            "https://x/chat",
            "https://",
            "http://x:port",
        ] {
            assert!(Site::new(Some(url), addr).is_err(), "{url}");
        }
    }

    #[test]
    fn state_changes_come_from_the_site_or_from_no_browser() {
        let site = local();
        assert!(site.allows_state_change(&headers(&[("origin", "http://127.0.0.1:3000")])));
        assert!(site.allows_state_change(&headers(&[("origin", "http://localhost:3000")])));
        assert!(site.allows_state_change(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(site.allows_state_change(&HeaderMap::new()));

        assert!(!site.allows_state_change(&headers(&[("origin", "http://evil.example")])));
        assert!(!site.allows_state_change(&headers(&[("origin", "null")])));
        assert!(!site.allows_state_change(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!site.allows_state_change(&headers(&[("sec-fetch-site", "same-site")])));
        // `Origin` decides when both are there.
        assert!(!site.allows_state_change(&headers(&[
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ])));
    }
}
