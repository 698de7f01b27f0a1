//! Security headers: every response's, and the Content-Security-Policy of
//! pages.
//!
//! A page may run only the site's own scripts: the hydration script Leptos
//! inlines carries the nonce made for that one response, and the JS and
//! WASM it loads come from `/pkg/` on the same origin. No page may be
//! framed (click-jacking), no response is sniffed into another type, and
//! the page's address goes to the site itself only.

use std::sync::LazyLock;

use axum::{
    Router,
    http::{HeaderName, HeaderValue, header},
};
use leptos::{nonce::use_nonce, prelude::use_context};
use leptos_axum::ResponseOptions;
use tower_http::set_header::SetResponseHeaderLayer;

/// The headers every response carries, whoever made it.
const EVERY_RESPONSE: [(&str, &str); 3] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    // For browsers that predate `frame-ancestors`.
    ("x-frame-options", "DENY"),
];

/// `router` with [`EVERY_RESPONSE`] added to responses that lack them.
pub fn add_to_every_response<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    EVERY_RESPONSE
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ))
        })
}

/// Whether `cargo leptos watch` runs the server (it sets `LEPTOS_WATCH`);
/// read once, not on every page.
static WATCHING: LazyLock<bool> = LazyLock::new(|| std::env::var_os("LEPTOS_WATCH").is_some());

/// The policy of a page rendered with `nonce`. `cargo leptos watch` adds a
/// script that reloads the page over a WebSocket on its own port.
pub fn content_security_policy(nonce: &str, watching: bool) -> String {
    let reload = if watching { " ws: wss:" } else { "" };
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; \
         img-src 'self' data:; \
         connect-src 'self'{reload}; \
         object-src 'none'; \
         base-uri 'none'; \
         form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The policy of a page with no script at all (the moderators' pages):
/// the same as the chat's, with no script allowed.
pub const SCRIPT_FREE_POLICY: &str = "default-src 'self'; \
     script-src 'none'; \
     style-src 'self'; \
     img-src 'self' data:; \
     connect-src 'self'; \
     object-src 'none'; \
     base-uri 'none'; \
     form-action 'self'; \
     frame-ancestors 'none'";

/// For Leptos's render context: sets the page's policy with the nonce
/// Leptos made for this response, and keeps the page out of shared caches
/// (it shows who is signed in) and asks browsers to revalidate it. (Server
/// function calls get neither: they answer JSON, and Leptos makes no nonce
/// for them.)
pub fn provide_page_headers() {
    let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>()) else {
        return;
    };
    if let Ok(policy) = HeaderValue::from_str(&content_security_policy(&nonce, *WATCHING)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
    }
    response.insert_header(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_run_only_the_sites_scripts_and_are_never_framed() {
        let policy = content_security_policy("abc123", false);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(!policy.contains("ws:"));
        assert!(content_security_policy("abc123", true).contains("connect-src 'self' ws: wss:"));
    }
}
