//! The input bar: username (or the signed-in account's name), message
//! text, `Send`; for a guest where only accounts may send, a prompt to
//! sign in. It also edits: `Edit` on a message, or the Up key in an empty
//! field, puts the reader's message in it; Enter saves, Escape cancels.

use chrono::{Datelike, Timelike};
use leptos::{
    ev::{KeyboardEvent, SubmitEvent},
    html,
    prelude::*,
};
use shared::NewMessage;

use super::InBrowser;
use crate::state::{Change, ChatState, Draft, Outbox};

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
    let moderates = Memo::new(move |_| state.viewer.with(|viewer| viewer.moderates()));
    // Why this room takes nothing from the reader, if it does not.
    let closed = Memo::new(move |_| {
        let settings = state.room_settings();
        if moderates.get() {
            None
        } else if settings.archived {
            Some("This room is archived: it is read-only.")
        } else if settings.locked {
            Some("This room is locked: only moderators write here.")
        } else if !settings.guests && account.with(Option::is_none) {
            Some("Sign in to write in this room.")
        } else {
            None
        }
    });
    let may_send = Memo::new(move |_| {
        state.viewer.with(|viewer| viewer.may_send()) && closed.with(Option::is_none)
    });
    // The room's pace, and how long the reader still waits.
    let pace = move || {
        let slow = state.room_settings().slow_mode_secs;
        let left = ((state.wait_until.get() - state.clock.get()) / 1000.0).ceil();
        match (left > 0.0, slow > 0 && !moderates.get()) {
            (true, true) => Some(format!("Slow mode: you can send again in {left} s.")),
            (true, false) => Some(format!("Sending again in {left} s.")),
            (false, true) => Some(format!("Slow mode: one message every {slow} s.")),
            (false, false) => None,
        }
    };
    let editing = state.editing;
    let field = NodeRef::<html::Input>::new();
    // Editing and replying start from a message's buttons: the field
    // takes the focus.
    Effect::new(move |_| {
        let started = editing.with(Option::is_some) || state.replying.with(Option::is_some);
        if started && let Some(field) = field.get_untracked() {
            let _ = field.focus();
        }
    });

    let on_keydown = move |event: KeyboardEvent| match event.key().as_str() {
        "ArrowUp" if editing.get_untracked().is_none() && text.with_untracked(String::is_empty) => {
            match state.last_editable() {
                Some(message) => {
                    event.prevent_default();
                    error.set(None);
                    state.start_editing(&message);
                }
                None if state.has_guest_messages_of_mine() => {
                    error.set(Some("Sign in to edit your messages.".to_owned()));
                }
                None => {}
            }
        }
        "Escape" if editing.get_untracked().is_some() => {
            event.prevent_default();
            error.set(None);
            state.stop_editing();
        }
        "Escape" if state.replying.with_untracked(Option::is_some) => {
            event.prevent_default();
            state.replying.set(None);
        }
        _ => {}
    };

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(saved) = crate::browser::load_username() {
            username.set(saved);
        }
    });

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if let Some(id) = editing.get_untracked() {
            save_edit(state, outbox, id, text.get_untracked(), error);
            return;
        }
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
        let reply = state.replying.get_untracked();
        state.replying.set(None);
        outbox.submit.run(Draft {
            username: name,
            text: body,
            reply,
        });
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
                class:editing=move || editing.with(Option::is_some)
                type="text"
                placeholder="Type a message..."
                aria-label=move || if editing.with(Option::is_some) { "Edit message" } else { "Message" }
                autocomplete="off"
                data-test="message-input"
                node_ref=field
                on:keydown=on_keydown
                bind:value=text
            />
            <button
                type="submit"
                data-test="send"
                disabled=move || !in_browser.get() || !may_send.get()
            >
                {move || if editing.with(Option::is_some) { "Save" } else { "Send" }}
            </button>
            <p class="replying-note" data-test="replying-note" hidden=move || state.replying.with(Option::is_none)>
                "Replying to "
                {move || {
                    state
                        .replying
                        .with(|quote| quote.as_ref().map(super::quote_line))
                }}
                " "
                <button
                    type="button"
                    class="link-button"
                    data-test="cancel-reply"
                    on:click=move |_| state.replying.set(None)
                >
                    "Cancel"
                </button>
            </p>
            <p class="editing-note" data-test="editing-note" hidden=move || editing.with(Option::is_none)>
                "Editing your message: Enter saves, Escape cancels. "
                <button
                    type="button"
                    class="link-button"
                    data-test="cancel-edit"
                    on:click=move |_| {
                        error.set(None);
                        state.stop_editing();
                    }
                >
                    "Cancel"
                </button>
            </p>
            <p class="sign-in-to-send" data-test="sign-in-to-send" hidden=move || may_send.get()>
                {move || {
                    state
                        .viewer
                        .with(|viewer| viewer.banned.as_ref().map(banned_line))
                        .or_else(|| closed.get().map(str::to_owned))
                        .unwrap_or_else(|| "Sign in to send messages.".to_owned())
                }}
            </p>
            <p class="slow-mode" data-test="slow-mode" role="status" hidden=move || !may_send.get() || pace().is_none()>
                {pace}
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

/// Saves the edit of message `id` with `body` (the rules checked here
/// first, for an answer without a round trip): it goes out through the
/// outbox, and the message says how that goes; the composer is free again.
fn save_edit(
    state: ChatState,
    outbox: Option<Outbox>,
    id: shared::MessageId,
    body: String,
    error: RwSignal<Option<String>>,
) {
    let body = match shared::parse_text(&body) {
        Ok(body) => body,
        Err(invalid) => return error.set(Some(invalid.to_string())),
    };
    error.set(None);
    let unchanged = state
        .messages
        .with_untracked(|list| list.iter().any(|m| m.id == id && m.text == body));
    if !unchanged && let Some(outbox) = outbox {
        outbox.change.run(Change::Edit { id, text: body });
    }
    state.stop_editing();
}

/// What a banned reader is told (in UTC: the same on the server's
/// rendering and in the browser) in place of the composer's hint.
fn banned_line(ban: &shared::moderation::BanNotice) -> String {
    // By hand rather than with chrono's `format` (see `state::day_label`).
    let until = ban.until.map_or_else(
        || " for good".to_owned(),
        |until| {
            format!(
                " until {}-{:02}-{:02} {:02}:{:02} UTC",
                until.year(),
                until.month(),
                until.day(),
                until.hour(),
                until.minute()
            )
        },
    );
    match &ban.reason {
        Some(reason) => format!("You have been banned{until}: {reason}"),
        None => format!("You have been banned{until}."),
    }
}
