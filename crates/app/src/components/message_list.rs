//! The scrolling list: stored messages, then the user's unconfirmed ones.
//!
//! It keeps the newest message in view while the reader is at the bottom;
//! when they have scrolled up, new messages are counted on a `N new
//! messages` button instead. Scrolling near the top loads the page of older
//! history and keeps the view where it was. A separator ("Today",
//! "Yesterday", then dates, in the reader's time zone) begins each day.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Timelike, Utc};
use leptos::{html, prelude::*, task::spawn_local};
use shared::{ChatMessage, MessageId, message::Quote};

use super::{InBrowser, quote_line, reactions::Reactions};
use crate::state::{
    Change, ChatState, Delivery, Outbox, Outgoing, Pending, day_label, day_starts, full_date,
};

/// The messages that begin a day, with the day; in context for the items.
#[derive(Clone, Copy)]
struct DayStarts(Memo<HashMap<MessageId, NaiveDate>>);

/// What the reader may do to any message, worked out once for the whole
/// list (not in each of its items): the list's classes say it to the
/// stylesheet, and the items find it in context.
#[derive(Clone, Copy)]
pub(super) struct ReaderRights {
    pub signed_in: Memo<bool>,
    pub moderates: Memo<bool>,
    pub may_send: Memo<bool>,
}

/// Within this many pixels of the bottom counts as "at the bottom".
const BOTTOM_SLACK_PX: i32 = 40;
/// Within this many pixels of the top, older history is loaded.
const TOP_SLACK_PX: i32 = 120;

#[component]
pub(super) fn MessageList() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let list = NodeRef::<html::Ol>::new();
    let at_bottom = StoredValue::new(true);
    let newest_shown = StoredValue::new(None::<MessageId>);
    let unseen = RwSignal::new(0usize);
    let loading_older = RwSignal::new(false);
    let InBrowser(in_browser) = expect_context();
    let rights = ReaderRights {
        signed_in: Memo::new(move |_| state.viewer.with(|viewer| viewer.account.is_some())),
        moderates: Memo::new(move |_| state.viewer.with(|viewer| viewer.moderates())),
        may_send: Memo::new(move |_| state.viewer.with(|viewer| viewer.may_send())),
    };
    provide_context(rights);
    provide_context(DayStarts(Memo::new(move |_| {
        let local = in_browser.get();
        state
            .messages
            .with(|all| day_starts(all, |m| calendar_day(m.timestamp, local)))
    })));

    let scroll_to_bottom = move || {
        if let Some(list) = list.get_untracked() {
            list.set_scroll_top(list.scroll_height());
        }
        at_bottom.set_value(true);
        unseen.set(0);
    };

    // Runs after the list changed in the DOM.
    Effect::new(move |_| {
        let previous = newest_shown.get_value();
        let (newest, arrived) = state.messages.with(|all| {
            let arrived = all
                .iter()
                .rev()
                .take_while(|m| Some(m.id) > previous)
                .count();
            (all.last().map(|m| m.id), arrived)
        });
        newest_shown.set_value(newest);
        if at_bottom.get_value() {
            scroll_to_bottom();
        } else if arrived > 0 {
            unseen.update(|n| *n += arrived);
        }
    });
    // A reply's quote was followed: bring the message it answers into view
    // once it is drawn, and let the highlight fade.
    Effect::new(move |_| {
        let Some(id) = state.highlighted.get() else {
            return;
        };
        at_bottom.set_value(false);
        request_animation_frame(move || {
            let found = list
                .get_untracked()
                .and_then(|list| list.query_selector(&format!("[data-id=\"{id}\"]")).ok())
                .flatten();
            if let Some(message) = found {
                message.scroll_into_view_with_bool(false);
            }
        });
        set_timeout(
            move || {
                if state.highlighted.get_untracked() == Some(id) {
                    state.highlighted.set(None);
                }
            },
            std::time::Duration::from_secs(2),
        );
    });
    // The user's own new message always brings the view to the bottom.
    Effect::new(move |previous: Option<usize>| {
        let pending = state
            .outbox
            .with(|out| out.iter().filter(|entry| entry.draft().is_some()).count());
        if previous.is_some_and(|previous| pending > previous) {
            scroll_to_bottom();
        }
        pending
    });

    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else {
            return;
        };
        let bottom = el.scroll_height() - el.scroll_top() - el.client_height() < BOTTOM_SLACK_PX;
        at_bottom.set_value(bottom);
        if bottom {
            unseen.set(0);
        }
        let wants_older = el.scroll_top() < TOP_SLACK_PX
            && state.more_history.get_untracked()
            && !loading_older.get_untracked();
        if wants_older {
            loading_older.set(true);
            let (height, top) = (el.scroll_height(), el.scroll_top());
            spawn_local(async move {
                if let Err(err) = state.load_older().await {
                    leptos::logging::warn!("could not load older messages: {err}");
                }
                loading_older.set(false);
                // Keep the messages the reader was looking at where they were.
                request_animation_frame(move || {
                    if let Some(el) = list.get_untracked() {
                        el.set_scroll_top(top + el.scroll_height() - height);
                    }
                });
            });
        }
    };

    view! {
        <div class="messages-pane">
            <ol
                class="messages"
                class:can-act=move || rights.may_send.get() && in_browser.get()
                class:signed-in=move || rights.signed_in.get()
                node_ref=list
                on:scroll=on_scroll
                data-test="messages"
                aria-live="polite"
            >
                <li class="history-status" hidden=move || !loading_older.get()>
                    "Loading earlier messages…"
                </li>
                // A changed message is drawn again: its key changes with it.
                <For
                    each=move || state.messages.get()
                    key=|message| {
                        (
                            message.id,
                            message.edited,
                            message.deleted,
                            message.reactions.clone(),
                            message.quote.clone(),
                        )
                    }
                    let:message
                >
                    <MessageItem message />
                </For>
                <For
                    each=move || state.pending_messages()
                    key=|outgoing| outgoing.client_id
                    let:outgoing
                >
                    <PendingItem outgoing />
                </For>
            </ol>
            <button
                class="new-messages"
                data-test="new-messages"
                hidden=move || unseen.get() == 0
                on:click=move |_| scroll_to_bottom()
            >
                {move || match unseen.get() {
                    1 => "1 new message".to_owned(),
                    n => format!("{n} new messages"),
                }}
            </button>
        </div>
    }
}

#[component]
fn MessageItem(message: ChatMessage) -> impl IntoView {
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
        spawn_local(async move {
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
        spawn_local(async move {
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
    spawn_local(async move {
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
fn pending_change(outbox: Option<Outbox>, client_id: uuid::Uuid, delivery: Delivery) -> AnyView {
    let (state, says) = match &delivery {
        Delivery::Queued => ("queued", "Waiting for the connection…".to_owned()),
        Delivery::Sending => ("sending", "Saving…".to_owned()),
        Delivery::Throttled => ("throttled", "Changing too fast, waiting…".to_owned()),
        Delivery::Failed(reason) => ("failed", format!("Not saved: {reason}")),
    };
    let failed = matches!(delivery, Delivery::Failed(_));
    view! {
        <p class="change-status" class:failure=failed data-test="change-status" data-state=state role="status">
            {says}
            {failed
                .then(|| {
                    view! {
                        <span>
                " "
                <button
                    type="button"
                    class="link-button"
                    data-test="retry-change"
                    on:click=move |_| {
                        if let Some(outbox) = outbox {
                            outbox.retry.run(client_id);
                        }
                    }
                >
                    "Retry"
                </button>
                <button
                    type="button"
                    class="link-button"
                    data-test="discard-change"
                    on:click=move |_| {
                        if let Some(outbox) = outbox {
                            outbox.discard.run(client_id);
                        }
                    }
                >
                    "Discard"
                </button>
                        </span>
                    }
                })}
        </p>
    }
    .into_any()
}

/// A message the server has not confirmed: sending, queued, or failed with
/// the reason and `Retry`.
#[component]
fn PendingItem(outgoing: Outgoing) -> impl IntoView {
    let state = expect_context::<ChatState>();
    // Absent while rendering on the server, where nobody clicks.
    let outbox = use_context::<Outbox>();
    let client_id = outgoing.client_id;
    let Pending::Message(draft) = outgoing.what else {
        // Changes show on the message they change.
        return ().into_any();
    };
    let delivery = Memo::new(move |_| {
        state.outbox.with(|out| {
            out.iter()
                .find(|o| o.client_id == client_id)
                .map_or(Delivery::Sending, |o| o.delivery.clone())
        })
    });
    let failure = move || match delivery.get() {
        Delivery::Failed(reason) => Some(reason),
        _ => None,
    };
    view! {
        <li
            class="message mine pending"
            class:failed=move || failure().is_some()
            data-test="pending-message"
            data-state=move || match delivery.get() {
                Delivery::Queued => "queued",
                Delivery::Sending => "sending",
                Delivery::Throttled => "throttled",
                Delivery::Failed(_) => "failed",
            }
        >
            <div class="meta">
                <bdi class="username">{draft.username}</bdi>
                <span class="delivery">
                    {move || match delivery.get() {
                        Delivery::Queued => "waiting for the connection",
                        Delivery::Sending => "sending…",
                        Delivery::Throttled => "sending too fast, waiting…",
                        Delivery::Failed(_) => "not sent",
                    }}
                </span>
            </div>
            {draft
                .reply
                .as_ref()
                .map(|quote| {
                    view! {
                        <p class="quote" data-test="quote">
                            <bdi>{quote_line(quote)}</bdi>
                        </p>
                    }
                })}
            // As typed until the server has it (and its HTML).
            <p class="text" dir="auto" data-test="message-text">
                {draft.text}
            </p>
            {move || {
                failure()
                    .map(|reason| {
                        view! {
                            <p class="failure" data-test="failure-reason">
                                {reason}
                            </p>
                            <button
                                class="retry"
                                on:click=move |_| {
                                    if let Some(outbox) = outbox {
                                        outbox.retry.run(client_id);
                                    }
                                }
                            >
                                "Retry"
                            </button>
                        }
                    })
            }}
        </li>
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

/// The calendar day of `timestamp`: in the browser's time zone once
/// running in the browser; in UTC while rendering on the server (as
/// [`clock_time`]).
fn calendar_day(timestamp: DateTime<Utc>, in_browser: bool) -> NaiveDate {
    #[cfg(feature = "hydrate")]
    if in_browser && let Some(day) = crate::browser::local_date(timestamp) {
        return day;
    }
    let _ = in_browser;
    timestamp.date_naive()
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
