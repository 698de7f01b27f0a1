//! The chat page and its parts.
//!
//! [`ChatPage`] holds the page's state ([`ChatState`]), mirroring the
//! original demo: signals `messages`, `username`, `text` and the link
//! `status` (its `state` block; `connected` is derived from `status`), a
//! memo `message_count` (its `computed` block), and in the browser the
//! effect that follows the event stream after the history it rendered (its
//! `effect` block, see `crate::live`). Who is signed in (the `viewer`) is
//! read while the page renders, so the account panel and the composer are
//! right in the HTML the server sends.

mod account;
mod composer;
mod message_list;

use leptos::prelude::*;

use crate::{
    api::{get_message_count, get_messages, get_viewer},
    state::{ChatState, LinkStatus, subtitle},
};
use account::AccountPanel;
use composer::Composer;
use message_list::MessageList;

/// Whether the page runs hydrated in a browser, as opposed to being rendered
/// on the server or hydrating. Parts that differ between the two (local
/// time zone, stored username, enabled controls) switch on it, so that
/// hydration sees exactly the HTML the server sent.
#[derive(Clone, Copy)]
pub(crate) struct InBrowser(pub(crate) ReadSignal<bool>);

#[component]
pub fn ChatPage() -> impl IntoView {
    // state
    let state = ChatState::new();
    let connected = Memo::new(move |_| state.status.get() == LinkStatus::Connected);
    // computed: every message of the chat, not only those loaded (the
    // server's count as of an id, plus those received after it).
    let counted = RwSignal::new(None::<shared::MessageCount>);
    let message_count = Memo::new(move |_| {
        state.messages.with(|held| match counted.get() {
            Some(count) => count.with(held) as usize,
            None => held.len(),
        })
    });

    let history = OnceResource::new(get_messages(None, None));
    let viewer = OnceResource::new(get_viewer());
    let count = OnceResource::new(get_message_count());
    let (in_browser, set_in_browser) = signal(false);
    provide_context(InBrowser(in_browser));
    provide_context(state);

    // effect: effects run only in the browser, after hydration.
    Effect::new(move |_| set_in_browser.set(true));
    #[cfg(feature = "hydrate")]
    crate::live::start(state, history);

    // Each resource is read in this one Suspense: read in two, a resource
    // can leave one of them unresolved (leptos-rs/leptos#4851).
    view! {
        <main class="chat" data-tab-role=move || state.tab_role.get().as_str()>
            <Suspense fallback=|| {
                view! {
                    <header class="chat-header">
                        <h1>"Chat"</h1>
                    </header>
                    <p class="loading">"Loading messages…"</p>
                }
            }>
                {move || Suspend::new(async move {
                    // Unknown (the server could not say): a guest, who may
                    // still sign in.
                    if let Ok(known) = viewer.await {
                        state.viewer.try_set(known);
                    }
                    if let Ok(count) = count.await {
                        counted.try_set(Some(count));
                    }
                    let loaded = history.await;
                    let failure = loaded.as_ref().err().map(ToString::to_string);
                    if let Ok(initial) = loaded {
                        state
                            .more_history
                            .try_set(initial.len() == shared::DEFAULT_PAGE_SIZE as usize);
                        state.confirm_all(initial);
                    }
                    view! {
                        <header class="chat-header">
                            <h1>"Chat"</h1>
                            <p class="subtitle" class:online=connected data-test="subtitle">
                                {move || subtitle(state.status.get(), message_count.get())}
                            </p>
                            <AccountPanel />
                        </header>
                        {failure
                            .map(|err| {
                                view! {
                                    <p class="history-error" role="alert">
                                        "Could not load earlier messages: "
                                        {err}
                                    </p>
                                }
                            })}
                        <MessageList />
                        <Composer />
                    }
                })}
            </Suspense>
        </main>
    }
}
