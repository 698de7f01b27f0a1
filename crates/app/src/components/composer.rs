//! The input bar: username (or the signed-in account's name), message
//! text, `Send`; for a guest where only accounts may send, a prompt to
//! sign in.

use leptos::{ev::SubmitEvent, prelude::*};
use shared::NewMessage;

use super::InBrowser;
use crate::state::{ChatState, Outbox};

/// Sends on `Send` or Enter. Does nothing while either field is blank;
/// shows next to the inputs why a message breaks the rules.
#[component]
pub(super) fn Composer() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let (username, text) = (state.username, state.text);
    // Before hydration a submit would be a plain form GET that loses the text.
    let InBrowser(in_browser) = expect_context();
    let outbox = use_context::<Outbox>();
    let error = RwSignal::new(None::<String>);
    let account = Memo::new(move |_| state.viewer.with(|viewer| viewer.account.clone()));
    let may_send = Memo::new(move |_| state.viewer.with(|viewer| viewer.may_send()));

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(saved) = crate::browser::load_username() {
            username.set(saved);
        }
    });

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let (name, body) = (untrack(|| state.sender_name()), text.get_untracked());
        if name.trim().is_empty() || body.trim().is_empty() {
            return;
        }
        // The same rules the server enforces, for an answer without a round trip.
        if let Err(invalid) = NewMessage::parse(&name, &body) {
            error.set(Some(invalid.to_string()));
            return;
        }
        let Some(outbox) = outbox else { return };
        error.set(None);
        text.set(String::new());
        outbox.submit.run((name, body));
    };

    view! {
        <form class="composer" on:submit=on_submit>
            {move || match account.get() {
                Some(name) => {
                    view! {
                        <bdi class="sender-name" data-test="sender-name" title="Your account">
                            {name}
                        </bdi>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <input
                            class="username-input"
                            type="text"
                            placeholder="Username"
                            aria-label="Username"
                            autocomplete="nickname"
                            bind:value=username
                        />
                    }
                        .into_any()
                }
            }}
            <input
                class="text-input"
                type="text"
                placeholder="Type a message..."
                aria-label="Message"
                autocomplete="off"
                bind:value=text
            />
            <button type="submit" disabled=move || !in_browser.get() || !may_send.get()>
                "Send"
            </button>
            <p class="sign-in-to-send" data-test="sign-in-to-send" hidden=move || may_send.get()>
                "Sign in to send messages."
            </p>
            <p
                class="send-error"
                role="alert"
                data-test="send-error"
                hidden=move || error.with(Option::is_none)
            >
                {move || error.get()}
            </p>
        </form>
    }
}
