//! The scrolling list of message bubbles.

use chrono::{DateTime, SecondsFormat, Utc};
use leptos::{html, prelude::*};
use shared::ChatMessage;

use super::{InBrowser, Username};

/// Every message in id order, keeping the newest in view.
#[component]
pub(super) fn MessageList(messages: RwSignal<Vec<ChatMessage>>) -> impl IntoView {
    let list = NodeRef::<html::Ol>::new();
    // Runs after the list has been updated in the DOM.
    Effect::new(move |_| {
        messages.track();
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });
    view! {
        <ol class="messages" node_ref=list data-test="messages" aria-live="polite">
            <For each=move || messages.get() key=|message| message.id let:message>
                <MessageItem message />
            </For>
        </ol>
    }
}

#[component]
fn MessageItem(message: ChatMessage) -> impl IntoView {
    let InBrowser(in_browser) = expect_context();
    let Username(username) = expect_context();
    let timestamp = message.timestamp;
    let author = message.username.clone();
    let mine = move || username.with(|name| name.trim() == author);
    view! {
        <li class="message" class:mine=mine data-test="message" data-id=message.id>
            <div class="meta">
                <span class="username" data-test="message-username">
                    {message.username}
                </span>
                <time
                    datetime=timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)
                    data-test="message-time"
                >
                    {move || clock_time(timestamp, in_browser.get())}
                </time>
            </div>
            <p class="text" data-test="message-text">
                {message.text}
            </p>
        </li>
    }
}

/// `HH:MM`: in the browser's time zone once running in the browser; in UTC
/// while rendering on the server, which does not know the reader's zone.
fn clock_time(timestamp: DateTime<Utc>, in_browser: bool) -> String {
    #[cfg(feature = "hydrate")]
    if in_browser {
        return crate::browser::local_time(timestamp);
    }
    let _ = in_browser;
    timestamp.format("%H:%M").to_string()
}
