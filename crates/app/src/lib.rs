//! The chat page, rendered on the server and hydrated in the browser.
//!
//! - [`App`] / [`shell`]: the document and its routes (`/`, `/r/<name>`);
//! - [`components`]: the page (`ChatPage`) and its parts;
//! - [`start`]: what a page starts from, read by the server and sent in
//!   the page;
//! - [`state`]: the page's signals and the rules for changing them;
//! - [`link`]: the live link's decisions (tab leadership, the stream's
//!   reconnects) as a plain state machine;
//! - [`outbox`]: which message goes out next and what a reply does to it,
//!   so each is sent once, in order;
//! - [`unread`]: each room's count and how far the reader has read it;
//! - [`typing`]: when the reader's typing is told, and who shows as typing;
//! - `live` (browser only): carries both machines' decisions out with web
//!   APIs;
//! - [`error`]: why a call to the server failed ([`error::CallError`]);
//! - [`codec`]: how server functions' arguments and replies travel;
//! - [`api`]: the server functions the page calls (`get_messages`,
//!   `send_message`), compiled into both the server and the WASM bundle;
//! - [`service`] (server only): the interface through which the server crate
//!   hands its storage and broadcast hub to those server functions, via
//!   Leptos context, so that this crate never depends on the server crate;
//! - `browser` (browser only): the few web APIs the page uses.
//!
//! The crate has exactly two features: `ssr` (server) and `hydrate` (browser).

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, provide_meta_context};

pub mod api;
#[cfg(feature = "hydrate")]
mod browser;
pub mod codec;
pub mod components;
pub mod error;
pub mod json;
pub mod link;
#[cfg(feature = "hydrate")]
mod live;
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod service;
pub mod start;
pub mod state;
pub mod typing;
pub mod unread;

use components::ChatPage;

/// The HTML document around [`App`], rendered on the server. Its head is
/// the server's alone (the browser hydrates the body): the page's title
/// and the stylesheet's link are written here, so the WASM carries no
/// head management.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    provide_meta_context();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                // As markup, escaped here: a text child would carry a
                // hydration marker, which a title shows as it is.
                <title inner_html=escape_text(&title())></title>
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // With `hash-files`, the CSS, JS and WASM names carry a
                // content hash (read from the build's hash file), so they
                // can be cached for good.
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
                {start::script()}
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: the chat, one page per room (`/` is `general`,
/// `/r/<name>` any other; [`shared::room::room_in_path`]). Every link
/// between pages loads the page it names, so the page needs no client-side
/// router: the server registers these paths (its `PAGE_PATHS`) and both
/// sides read the room from the path, which keeps a router's matching and
/// views out of the WASM every visit loads (40 KB of its brotli).
#[component]
pub fn App() -> impl IntoView {
    match shared::room::room_in_path(&page_path()) {
        Some(room) => view! { <ChatPage room /> }.into_any(),
        None => view! { <p class="not-found">"Page not found."</p> }.into_any(),
    }
}

/// `text` as HTML text: `&`, `<` and `>` escaped.
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The document's title: the room's name (a direct conversation's people)
/// and the chat's (general's is the chat's alone).
fn title() -> String {
    match shared::room::room_in_path(&page_path()) {
        Some(room) if room != shared::GENERAL => {
            // As the page's start lists it (the server's, read where it
            // is held): a conversation by its people.
            let key = shared::room::room_key(&room);
            let shown = with_context(|start: &start::PageStart| {
                let me = start
                    .viewer
                    .as_ref()
                    .and_then(|viewer| viewer.account.as_deref());
                let rooms = &start.directory.as_ref()?.rooms;
                rooms
                    .iter()
                    .find(|listed| shared::room::room_key(&listed.name) == key)
                    .map(|listed| listed.title(me))
            })
            .flatten()
            .unwrap_or(room);
            format!("{shown} · Chat")
        }
        _ => "Chat".to_owned(),
    }
}

/// The path of the page being shown: the request's on the server, the
/// location's in the browser.
fn page_path() -> String {
    #[cfg(feature = "hydrate")]
    return browser::page_path();
    #[cfg(all(feature = "ssr", not(feature = "hydrate")))]
    return use_context::<service::PagePath>()
        .map(|path| path.0)
        .unwrap_or_default();
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    String::new()
}

#[cfg(test)]
mod tests {
    use super::escape_text;

    #[test]
    fn a_title_is_escaped_as_html_text() {
        assert_eq!(
            escape_text("<b>&co</b> · Chat"),
            "&lt;b&gt;&amp;co&lt;/b&gt; · Chat"
        );
    }
}
