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
mod message_item;
mod message_list;
mod reactions;
mod rooms;

use leptos::prelude::*;
use shared::{
    GENERAL,
    presence::{NOBODY_HERE, PresenceEvent, describe_typing, presence_parts},
    room::room_path,
};

use crate::{
    error::CallError,
    start::{PageStart, page_start},
    state::{ChatState, LinkStatus, subtitle},
    unread::Tallies,
};
use account::AccountPanel;
use composer::Composer;
use message_list::MessageList;
use rooms::RoomList;

/// One line of the message a reply answers: `ada: the start of it…`, or
/// that it was deleted.
pub(crate) fn quote_line(quote: &shared::message::Quote) -> String {
    if quote.deleted {
        return format!("{}: Message deleted", quote.username);
    }
    let first_line = quote.text.lines().next().unwrap_or_default();
    let cut = first_line.chars().count() > 80
        || quote.text.contains('\n')
        || quote.text.chars().count() >= shared::message::QUOTE_CHARS;
    let start: String = first_line.chars().take(80).collect();
    format!("{}: {start}{}", quote.username, if cut { "…" } else { "" })
}

/// Whether the page runs hydrated in a browser, as opposed to being rendered
/// on the server or hydrating. Parts that differ between the two (local
/// time zone, stored username, enabled controls) switch on it, so that
/// hydration sees exactly the HTML the server sent.
#[derive(Clone, Copy)]
pub(crate) struct InBrowser(pub(crate) ReadSignal<bool>);

/// The page of `room`, as its path names it.
#[component]
pub fn ChatPage(room: String) -> impl IntoView {
    // state
    let state = ChatState::new(room);
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

    // What the server read for this page, in the browser too (`start`).
    let PageStart {
        history,
        viewer,
        count,
        directory,
        presence,
    } = page_start();
    // Unknown (the server could not say): a guest, who may still sign in.
    if let Some(known) = viewer {
        state.viewer.set(known);
    }
    counted.set(count);
    if let Some(here) = presence {
        state.present.set(here);
    }
    if let Some(directory) = directory {
        state.staff.set(directory.staff);
        state
            .tallies
            .set(Tallies::new(directory.rooms, directory.read.as_ref()));
    }
    let missing = matches!(
        &history, Err(CallError::Refused { code, .. }) if code == "no_such_room"
    );
    let failure = history.as_ref().err().map(ToString::to_string);
    // An empty history still fixes the start: everything after id 0.
    let newest = history
        .as_ref()
        .ok()
        .map(|page| page.last().map_or(0, |message| message.id));
    if let Ok(initial) = history {
        state
            .more_history
            .set(initial.len() == shared::DEFAULT_PAGE_SIZE as usize);
        state.confirm_all(initial);
    }
    let (in_browser, set_in_browser) = signal(false);
    provide_context(InBrowser(in_browser));
    provide_context(state);

    // effect: effects run only in the browser, after hydration.
    Effect::new(move |_| set_in_browser.set(true));
    #[cfg(feature = "hydrate")]
    crate::live::start(state, newest);
    #[cfg(not(feature = "hydrate"))]
    let _ = newest;
    // Whatever this page shows of its room is read: every tab's unread
    // count for it follows.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let count = message_count.get() as u64;
        let newest = state.messages.with(|held| held.last().map_or(0, |m| m.id));
        let as_of = counted.with(|counted| counted.map_or(0, |c| c.as_of));
        if let Some(crate::state::MarkRead(mark)) = use_context() {
            mark.run(shared::room::ReadPosition {
                last_read: newest.max(as_of),
                count,
            });
        }
    });

    let room_name = state.room.get_untracked();
    // `#name`, or a direct conversation's people (as the page starts: a
    // room's name and a conversation's people never change).
    let title = {
        let me = state.viewer.with_untracked(|viewer| viewer.account.clone());
        state.tallies.with_untracked(|tallies| {
            tallies.get(&room_name).map_or_else(
                || format!("#{room_name}"),
                |tally| tally.title(me.as_deref()),
            )
        })
    };
    // A private room's members page (the server's, script-free).
    let members_page = format!("/r/{}/members", shared::room::path_segment(&room_name));
    let private_here = {
        let room = room_name.clone();
        Memo::new(move |_| {
            state.tallies.with(|tallies| {
                tallies
                    .get(&room)
                    .is_some_and(|tally| tally.kind == shared::room::RoomKind::Private)
            })
        })
    };
    let body = if missing {
        view! {
            <p class="not-found" data-test="no-such-room">
                "There is no room called " <bdi>{room_name}</bdi> ". "
                <a href=room_path(GENERAL) rel="external">
                    "Go to general"
                </a>
            </p>
        }
        .into_any()
    } else {
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
            <MessageList />
            <p class="typing" data-test="typing" aria-live="polite">
                {move || {
                    let me = state.sender_name();
                    state.typists.with(|typists| describe_typing(&typists.names_except(&me)))
                }}
            </p>
            <Composer />
        }
        .into_any()
    };
    view! {
        <main class="chat" data-tab-role=move || state.tab_role.get().as_str()>
            <RoomList />
            <section class="room">
                <header class="chat-header">
                    <h1>
                        "Chat " <bdi class="room-title" data-test="room-title">
                            {title}
                        </bdi>
                    </h1>
                    <p class="subtitle" class:online=connected data-test="subtitle">
                        {move || subtitle(state.status.get(), message_count.get())}
                    </p>
                    // A block of its own, not a paragraph: it holds forms.
                    <div class="presence" data-test="presence">
                        {move || {
                            let me = state.viewer.with(|viewer| viewer.account.clone());
                            state.present.with(|present| presence_line(present, me.as_deref()))
                        }}
                    </div>
                    <a
                        href=members_page
                        rel="external"
                        data-test="members-link"
                        hidden=move || !private_here.get()
                    >
                        "Members"
                    </a>
                    <AccountPanel />
                </header>
                {body}
            </section>
        </main>
    }
}

/// Who has the room open, as [`shared::presence::describe_presence`] says
/// it (`Here: ada, bob and 2 guests`), each account's name but the
/// reader's a button, for a signed-in reader, that opens the direct
/// conversation with them (a plain form, as a message's `Message`).
fn presence_line(event: &PresenceEvent, me: Option<&str>) -> AnyView {
    let parts = presence_parts(event);
    if parts.is_empty() {
        return NOBODY_HERE.into_any();
    }
    parts
        .into_iter()
        .map(|part| {
            let text = part.text;
            let shown = if part.account && me.is_some_and(|me| me != text) {
                let title = format!("Message {text}");
                view! {
                    <form method="post" action="/direct">
                        <input type="hidden" name="usernames" value=text.clone() />
                        <button
                            type="submit"
                            class="link-button"
                            title=title
                            data-test="presence-message"
                        >
                            {text}
                        </button>
                    </form>
                }
                .into_any()
            } else {
                view! { <bdi>{text}</bdi> }.into_any()
            };
            view! { {part.before} {shown} }
        })
        .collect_view()
        .into_any()
}
