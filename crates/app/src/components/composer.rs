//! The input bar: username, message text, `Send`.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use shared::{ChatMessage, NewMessage, timeline};
use uuid::Uuid;

use crate::api::send_message;

/// Sends on `Send` or Enter. Does nothing while either field is blank;
/// shows why a message was refused next to the inputs.
#[component]
pub(super) fn Composer(
    username: RwSignal<String>,
    text: RwSignal<String>,
    messages: RwSignal<Vec<ChatMessage>>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    // Before hydration a submit would be a plain form GET that loses the text.
    let super::InBrowser(in_browser) = expect_context();

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(saved) = crate::browser::load_username() {
            username.set(saved);
        }
    });

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let (name, body) = (username.get_untracked(), text.get_untracked());
        if name.trim().is_empty() || body.trim().is_empty() {
            return;
        }
        // The same rules the server enforces, for an answer without a round trip.
        if let Err(invalid) = NewMessage::parse(&name, &body) {
            error.set(Some(invalid.to_string()));
            return;
        }
        error.set(None);
        text.set(String::new());
        let client_id = new_client_id();
        spawn_local(async move {
            match send_message(name.clone(), body.clone(), client_id).await {
                Ok(stored) => {
                    remember_username(&name);
                    messages.update(|list| {
                        timeline::insert(list, stored);
                    });
                }
                Err(err) => {
                    // Give the text back unless the user already typed a new one.
                    text.update(|current| {
                        if current.is_empty() {
                            *current = body;
                        }
                    });
                    error.set(Some(err.to_string()));
                }
            }
        });
    };

    view! {
        <form class="composer" on:submit=on_submit>
            <input
                class="username-input"
                type="text"
                placeholder="Username"
                aria-label="Username"
                autocomplete="username"
                bind:value=username
            />
            <input
                class="text-input"
                type="text"
                placeholder="Type a message..."
                aria-label="Message"
                autocomplete="off"
                bind:value=text
            />
            <button type="submit" disabled=move || !in_browser.get()>
                "Send"
            </button>
            <p class="send-error" role="alert" data-test="send-error" hidden=move || error.with(Option::is_none)>
                {move || error.get()}
            </p>
        </form>
    }
}

fn new_client_id() -> Uuid {
    #[cfg(feature = "hydrate")]
    return crate::browser::random_uuid();
    // Event handlers run only in the browser; the server never sends.
    #[cfg(not(feature = "hydrate"))]
    Uuid::nil()
}

fn remember_username(name: &str) {
    #[cfg(feature = "hydrate")]
    crate::browser::save_username(name.trim());
    #[cfg(not(feature = "hydrate"))]
    let _ = name;
}
