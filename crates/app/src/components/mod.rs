//! The chat page and its parts.
//!
//! [`ChatPage`] holds the page's state, mirroring the original demo:
//! signals `messages`, `username`, `text`, `connected` (its `state` block), a
//! memo `message_count` (its `computed` block), and in the browser an effect
//! that opens the event stream after the history it rendered (its `effect`
//! block, see `crate::live`).

mod composer;
mod message_list;

use leptos::prelude::*;
use shared::{ChatMessage, timeline};

use crate::api::get_messages;
use composer::Composer;
use message_list::MessageList;

/// Whether the page runs hydrated in a browser, as opposed to being rendered
/// on the server or hydrating. Parts that differ between the two (local
/// time zone, stored username) switch on it, so that hydration sees exactly
/// the HTML the server sent.
#[derive(Clone, Copy)]
pub(crate) struct InBrowser(pub(crate) ReadSignal<bool>);

/// The name this browser sends as.
#[derive(Clone, Copy)]
pub(crate) struct Username(pub(crate) RwSignal<String>);

#[component]
pub fn ChatPage() -> impl IntoView {
    // state
    let messages = RwSignal::new(Vec::<ChatMessage>::new());
    let username = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let connected = RwSignal::new(false);
    // computed
    let message_count = Memo::new(move |_| messages.with(Vec::len));

    let history = OnceResource::new(get_messages(None, None));
    let (in_browser, set_in_browser) = signal(false);
    provide_context(InBrowser(in_browser));
    provide_context(Username(username));

    // effect: effects run only in the browser, after hydration.
    Effect::new(move |_| set_in_browser.set(true));
    #[cfg(feature = "hydrate")]
    crate::live::follow_stream(history, messages, connected);

    let subtitle = move || {
        if connected.get() {
            format!("Connected -- {} messages", message_count.get())
        } else {
            "Disconnected".to_owned()
        }
    };

    view! {
        <main class="chat">
            <header class="chat-header">
                <h1>"Chat"</h1>
                <p class="subtitle" class:online=connected data-test="subtitle">
                    {subtitle}
                </p>
            </header>
            <Suspense fallback=|| view! { <p class="loading">"Loading messages…"</p> }>
                {move || Suspend::new(async move {
                    let loaded = history.await;
                    let failure = loaded.as_ref().err().map(ToString::to_string);
                    if let Ok(initial) = loaded {
                        messages.update(|list| {
                            timeline::extend(list, initial);
                        });
                    }
                    view! {
                        {failure
                            .map(|err| {
                                view! {
                                    <p class="history-error" role="alert">
                                        "Could not load earlier messages: "
                                        {err}
                                    </p>
                                }
                            })}
                        <MessageList messages />
                    }
                })}
            </Suspense>
            <Composer username text messages />
        </main>
    }
}
