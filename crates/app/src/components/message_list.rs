//! The scrolling list: stored messages, then the user's unconfirmed ones.
//!
//! It keeps the newest message in view while the reader is at the bottom;
//! when they have scrolled up, new messages are counted on a `N new
//! messages` button instead. Scrolling near the top loads the page of older
//! history and keeps the view where it was. A separator ("Today",
//! "Yesterday", then dates, in the reader's time zone) begins each day.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use leptos::{html, prelude::*, task::spawn_local};
use shared::MessageId;

use super::{InBrowser, message_item::MessageItem, quote_line};
use crate::state::{ChatState, Delivery, Outbox, Outgoing, Pending, day_starts};

/// The messages that begin a day, with the day; in context for the items.
#[derive(Clone, Copy)]
pub(super) struct DayStarts(pub Memo<HashMap<MessageId, NaiveDate>>);

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

/// The calendar day of `timestamp`: in the browser's time zone once
/// running in the browser; in UTC while rendering on the server (as
/// [`clock_time`]).
pub(super) fn calendar_day(timestamp: DateTime<Utc>, in_browser: bool) -> NaiveDate {
    #[cfg(feature = "hydrate")]
    if in_browser && let Some(day) = crate::browser::local_date(timestamp) {
        return day;
    }
    let _ = in_browser;
    timestamp.date_naive()
}
