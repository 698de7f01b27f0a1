//! One stored message in the list: who wrote it and when, its text, its
//! reactions, and what the reader may do with it (reply, report, write
//! to its author; edit or delete their own; remove, as a moderator), with
//! a change to it waiting in the outbox.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use leptos::prelude::*;
use shared::{ChatMessage, MessageId, message::Quote};
use uuid::Uuid;

use super::{
    InBrowser,
    message_list::{DayStarts, ReaderRights, calendar_day},
    quote_line,
    reactions::Reactions,
};
use crate::state::{Change, ChatState, Delivery, Outbox, day_label, full_date};

#[component]
pub(super) fn MessageItem(message: ChatMessage) -> impl IntoView {
    let InBrowser(in_browser) = expect_context();
    let state = expect_context::<ChatState>();
    let timestamp = message.timestamp;
    let guest = message.guest;
    let DayStarts(day_starts) = expect_context();
    let id = message.id;
    let starts_day = move || day_starts.with(|starts| starts.get(&id).copied());
    let mine = {
        let message = message.clone();
        Memo::new(move |_| state.is_mine(&message))
    };
    let (edited, deleted, removed) = (message.edited, message.deleted, message.removed);
    let username = message.username.clone();
    let author = message.username.clone();
    let ReaderRights { moderates, .. } = expect_context();
    // Only a signed-in author's message can change; a guest's is nobody's.
    let editable = move || mine.get() && !guest && !deleted;
    // A moderator removes anyone else's message.
    let removable = move || !deleted && !editable() && moderates.get();
    let reason = RwSignal::new(String::new());
    // What reporting this message to the moderators came to, once asked.
    let reported = RwSignal::new(None::<String>);
    let guest_and_mine = move || mine.get() && guest && !deleted;
    let confirming = RwSignal::new(false);
    // What edits of the reader's own message replaced, once asked for.
    let versions = RwSignal::new(None::<Result<Vec<String>, String>>);
    // Absent while rendering on the server, where nobody clicks.
    let outbox = use_context::<Outbox>();
    // The newest change to this message waiting in the outbox, if any.
    let pending = Memo::new(move |_| {
        state.outbox.with(|out| {
            out.iter()
                .rev()
                .find(|entry| entry.change().is_some_and(|change| change.message() == id))
                .map(|entry| (entry.client_id, entry.delivery.clone()))
        })
    });
    let editing = move || state.editing.get() == Some(id);
    let reply = {
        let quote = Quote::of(&message);
        move |_| {
            state.stop_editing();
            state.replying.set(Some(quote.clone()));
        }
    };
    let jump = move |id: MessageId| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Err(err) = state.jump_to(id).await {
                leptos::logging::warn!("could not load the message answered: {err}");
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    };
    let quote = message.quote.clone().map(|quote| {
        let answered = quote.id;
        view! {
            <button
                type="button"
                class="quote"
                data-test="quote"
                title="Show the message this answers"
                on:click=move |_| jump(answered)
            >
                <bdi>{quote_line(&quote)}</bdi>
            </button>
        }
    });
    let start_editing = {
        let message = message.clone();
        move |_| state.start_editing(&message)
    };
    let delete = move |_| {
        confirming.set(false);
        let reason = Some(reason.get_untracked()).filter(|reason| !reason.trim().is_empty());
        if let Some(outbox) = outbox {
            outbox.change.run(Change::Delete { id, reason });
        }
    };
    view! {
        {move || {
            starts_day()
                .map(|day| {
                    // The server cannot know the reader's today: it (and
                    // hydration, which must match it) writes the date.
                    let label = if in_browser.get() {
                        day_label(day, calendar_day(now(), true))
                    } else {
                        full_date(day)
                    };
                    view! {
                        <li class="day-separator" data-test="day-separator">
                            <span>{label}</span>
                        </li>
                    }
                })
        }}
        <li
            class="message"
            class:mine=mine
            class:deleted=deleted
            class:being-edited=editing
            class:highlighted=move || state.highlighted.get() == Some(id)
            data-test="message"
            data-id=message.id
        >
            <div class="meta">
                // Isolated, like the text: a name or text written right to
                // left, or holding direction controls, cannot reorder
                // anything around it.
                // An admin's or a moderator's name says so (the stylesheet
                // shows the role after it).
                <bdi
                    class="username"
                    data-test="message-username"
                    data-role=move || {
                        (!guest)
                            .then(|| {
                                state.staff.with(|staff| {
                                    staff
                                        .iter()
                                        .find(|member| member.name == username)
                                        .map(|member| member.role.as_str())
                                })
                            })
                            .flatten()
                    }
                >
                    {message.username}
                </bdi>
                // Anyone may type a guest's name; an account's is its own.
                {guest
                    .then(|| {
                        view! {
                            <span
                                class="guest-mark"
                                data-test="guest-mark"
                                title="A guest: not signed in, anyone may use this name"
                            >
                                "guest"
                            </span>
                        }
                    })}
                <time
                    datetime=timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)
                    data-test="message-time"
                >
                    {move || clock_time(timestamp, in_browser.get())}
                </time>
                {edited
                    .filter(|_| !deleted)
                    .map(|at| {
                        // The author may open what the edits replaced.
                        view! {
                            <button
                                type="button"
                                class="edited-mark"
                                data-test="edited-mark"
                                title=format!("Edited {}", at.to_rfc3339_opts(SecondsFormat::Secs, true))
                                disabled=move || !editable()
                                on:click=move |_| show_versions(id, versions)
                            >
                                "edited"
                            </button>
                        }
                    })}
                // Shown by the stylesheet, as the list's classes say (the
                // reader may act; is signed in) and this message's (the
                // reader's own): no message decides it for itself.
                {(!deleted)
                    .then(|| {
                        view! {
                            <span class="message-actions reader-actions">
                                <button type="button" data-test="reply" on:click=reply>
                                    "Reply"
                                </button>
                                {move || match reported.get() {
                                    None => {
                                        view! {
                                            <button
                                                type="button"
                                                class="report-message"
                                                data-test="report-message"
                                                on:click=move |_| report(id, reported)
                                            >
                                                "Report"
                                            </button>
                                        }
                                            .into_any()
                                    }
                                    Some(said) => {
                                        view! {
                                            <span class="reported" role="status" data-test="reported">
                                                {said}
                                            </span>
                                        }
                                            .into_any()
                                    }
                                }}
                                // A direct conversation with an account's
                                // author, for a signed-in reader: a plain
                                // form, the server opens it and sends the
                                // browser there.
                                {(!guest)
                                    .then(|| {
                                        view! {
                                            <form method="post" action="/direct" class="inline direct-form">
                                                <input type="hidden" name="usernames" value=author />
                                                <button type="submit" data-test="message-author">
                                                    "Message"
                                                </button>
                                            </form>
                                        }
                                    })}
                            </span>
                        }
                    })}
                // What hides until asked for is drawn only then: most
                // messages are others', and a list of them hydrates and
                // downloads none of it.
                {move || {
                    (in_browser.get() && (editable() || removable()))
                        .then(|| {
                            change_actions(
                                editable,
                                removable,
                                start_editing.clone(),
                                delete,
                                confirming,
                                reason,
                            )
                        })
                }}
                {move || {
                    (in_browser.get() && guest_and_mine())
                        .then(|| {
                            view! {
                                <span
                                    class="message-actions sign-in-to-edit"
                                    data-test="sign-in-to-edit"
                                >
                                    "Sign in to edit your messages"
                                </span>
                            }
                        })
                }}
            </div>
            {quote}
            {move || versions.get().map(|shown| earlier_versions(shown, versions))}
            {if !message.html.is_empty() {
                // The Markdown subset as safe HTML, written by the server
                // (`shared::markdown`).
                view! {
                    <div class="text" dir="auto" data-test="message-text" inner_html=message.html></div>
                }
                    .into_any()
            } else if deleted {
                view! {
                    <p class="text" data-test="message-deleted">
                        {if removed { "Removed by a moderator" } else { "Message deleted" }}
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <p class="text" dir="auto" data-test="message-text">
                        {message.text}
                    </p>
                }
                    .into_any()
            }}
            {(!deleted)
                .then(|| {
                    view! { <Reactions id reactions=message.reactions.clone() /> }
                })}
            {move || pending.get().map(|(client_id, delivery)| pending_change(outbox, client_id, delivery))}
        </li>
    }
    // Erased: the list's view type stays within what rustc computes in a
    // build without `erase_components` (plain `cargo test` of the server).
    .into_any()
}

/// Edit and Delete (Remove, for a moderator) on a message the reader may
/// change, and the question before it goes.
fn change_actions(
    editable: impl Fn() -> bool + Copy + Send + Sync + 'static,
    removable: impl Fn() -> bool + Copy + Send + Sync + 'static,
    start_editing: impl Fn(leptos::ev::MouseEvent) + 'static,
    delete: impl Fn(leptos::ev::MouseEvent) + Copy + Send + Sync + 'static,
    confirming: RwSignal<bool>,
    reason: RwSignal<String>,
) -> AnyView {
    view! {
        <span class="message-actions">
            <button
                type="button"
                data-test="edit-message"
                on:click=start_editing
                hidden=move || !editable()
            >
                "Edit"
            </button>
            <button
                type="button"
                data-test="delete-message"
                on:click=move |_| confirming.set(true)
                hidden=move || confirming.get()
            >
                {move || if removable() { "Remove" } else { "Delete" }}
            </button>
            {move || confirming.get().then(|| confirm_delete(removable(), reason, delete, confirming))}
        </span>
    }
    .into_any()
}

/// The question before a message is deleted (`removable`: removed by a
/// moderator, with an optional reason).
fn confirm_delete(
    removable: bool,
    reason: RwSignal<String>,
    delete: impl Fn(leptos::ev::MouseEvent) + 'static,
    confirming: RwSignal<bool>,
) -> AnyView {
    let (question, action) = if removable {
        ("Remove this message for everyone? ", "Remove")
    } else {
        ("Delete this message? ", "Delete")
    };
    view! {
        <span class="confirm-delete">
            {question}
            {removable
                .then(|| {
                    view! {
                        <input
                            type="text"
                            class="removal-reason"
                            data-test="removal-reason"
                            placeholder="Reason (optional)"
                            aria-label="Reason for removing"
                            maxlength="500"
                            bind:value=reason
                        />
                    }
                })}
            <button type="button" data-test="confirm-delete" on:click=delete>
                {action}
            </button>
            <button type="button" on:click=move |_| confirming.set(false)>
                "Keep"
            </button>
        </span>
    }
    .into_any()
}

/// Asks the reader why, then reports message `id` to the moderators;
/// `reported` says how it went. Cancelling the question reports nothing.
fn report(id: MessageId, reported: RwSignal<Option<String>>) {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else {
            return;
        };
        let Ok(Some(reason)) =
            window.prompt_with_message("Report this message to the moderators. Why? (optional)")
        else {
            return;
        };
        let reason = Some(reason).filter(|reason| !reason.trim().is_empty());
        leptos::task::spawn_local(async move {
            let said = match crate::api::changes::report(id, reason).await {
                Ok(()) => "Reported to the moderators".to_owned(),
                Err(err) => format!("Not reported: {err}"),
            };
            reported.set(Some(said));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, reported);
}

/// What a reader's own message's edits replaced: shown (asked of the
/// server) or hidden, in turn.
fn show_versions(id: MessageId, versions: RwSignal<Option<Result<Vec<String>, String>>>) {
    if versions.with_untracked(Option::is_some) {
        return versions.set(None);
    }
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let earlier = crate::api::changes::versions(id)
            .await
            .map_err(|err| err.to_string());
        versions.set(Some(earlier));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The texts a message's edits replaced, oldest first, or why they could
/// not be read.
fn earlier_versions(
    shown: Result<Vec<String>, String>,
    versions: RwSignal<Option<Result<Vec<String>, String>>>,
) -> AnyView {
    let body = match shown {
        Ok(texts) if texts.is_empty() => view! { <p>"None kept."</p> }.into_any(),
        Ok(texts) => view! {
            <ol>
                {texts
                    .into_iter()
                    .map(|text| view! { <li dir="auto" data-test="version">{text}</li> })
                    .collect_view()}
            </ol>
        }
        .into_any(),
        Err(why) => view! { <p class="failure">{why}</p> }.into_any(),
    };
    view! {
        <div class="versions" data-test="versions">
            <p class="versions-title">
                "Before the edits "
                <button type="button" class="link-button" on:click=move |_| versions.set(None)>
                    "Hide"
                </button>
            </p>
            {body}
        </div>
    }
    .into_any()
}

/// How a change to a message waiting in the outbox is doing: saving,
/// waiting for the connection, or refused with why, `Retry` and `Discard`.
fn pending_change(outbox: Option<Outbox>, client_id: Uuid, delivery: Delivery) -> AnyView {
    let (state, says) = match &delivery {
        Delivery::Queued => ("queued", "Waiting for the connection…".to_owned()),
        Delivery::Sending => ("sending", "Saving…".to_owned()),
        Delivery::Throttled => ("throttled", "Changing too fast, waiting…".to_owned()),
        Delivery::Failed(reason) => ("failed", format!("Not saved: {reason}")),
    };
    let failed = matches!(delivery, Delivery::Failed(_));
    // Retry and Discard: the same button, asking the outbox (absent while
    // rendering on the server) for one thing or the other.
    let button =
        move |label: &'static str, test: &'static str, act: fn(Outbox) -> Callback<Uuid>| {
            view! {
                <button
                    type="button"
                    class="link-button"
                    data-test=test
                    on:click=move |_| {
                        if let Some(outbox) = outbox {
                            act(outbox).run(client_id);
                        }
                    }
                >
                    {label}
                </button>
            }
        };
    view! {
        <p class="change-status" class:failure=failed data-test="change-status" data-state=state role="status">
            {says}
            {failed
                .then(|| {
                    view! {
                        <span>
                            " "
                            {button("Retry", "retry-change", |outbox| outbox.retry)}
                            {button("Discard", "discard-change", |outbox| outbox.discard)}
                        </span>
                    }
                })}
        </p>
    }
    .into_any()
}

/// The time now, by the browser's clock in the browser (chrono has no
/// clock on wasm32-unknown-unknown).
fn now() -> DateTime<Utc> {
    #[cfg(feature = "hydrate")]
    return DateTime::from_timestamp_millis(crate::browser::now_ms() as i64).unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    Utc::now()
}

/// `HH:MM`: in the browser's time zone once running in the browser; in UTC
/// while rendering on the server, which does not know the reader's zone.
fn clock_time(timestamp: DateTime<Utc>, in_browser: bool) -> String {
    #[cfg(feature = "hydrate")]
    if in_browser {
        return crate::browser::local_time(timestamp);
    }
    let _ = in_browser;
    // By hand rather than with chrono's `format` (see `state::day_label`).
    format!("{:02}:{:02}", timestamp.hour(), timestamp.minute())
}
