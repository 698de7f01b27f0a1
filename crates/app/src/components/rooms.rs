//! The sidebar (a strip above the chat on narrow screens): every room,
//! each with its unread count, the room shown marked; for a signed-in
//! reader, a form that creates a room, public or private (its members
//! alone see it; the list marks it). Under `Direct`, the reader's direct
//! conversations by their people, and a form that opens one.
//!
//! Each room is a plain link that loads its page: the page is one room's,
//! rendered by the server like `/`.

use leptos::{ev::SubmitEvent, prelude::*};
use shared::room::{RoomKind, parse_room_name, room_key, room_path};

use super::InBrowser;
use crate::state::ChatState;

#[component]
pub(super) fn RoomList() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let signed_in = Memo::new(move |_| state.viewer.with(|viewer| viewer.account.is_some()));
    let here = room_key(&state.room.get_untracked());

    // The rooms, or the direct conversations, each a link.
    let list = move |direct: bool| {
        let here = here.clone();
        move || {
            let me = state.viewer.with(|viewer| viewer.account.clone());
            state.tallies.with(|tallies| {
                tallies
                    .rooms()
                    .iter()
                    .filter(|tally| (tally.kind == RoomKind::Direct) == direct)
                    .map(|tally| {
                        let current = room_key(&tally.name) == here;
                        // The room shown is being read; the others say
                        // what is new, once the reader's positions are
                        // known.
                        let unread = (!current && tallies.positions_known)
                            .then(|| tally.unread())
                            .filter(|unread| *unread > 0);
                        let private = tally.kind == RoomKind::Private;
                        room_item(
                            tally.name.clone(),
                            tally.title(me.as_deref()),
                            private,
                            current,
                            unread,
                        )
                    })
                    .collect_view()
            })
        }
    };

    // Erased here: unerased (plain `cargo build`, the tests), the page's
    // nested view type overflows rustc's query depth with this list in it.
    view! {
        <nav class="rooms" aria-label="Rooms">
            <h2>"Rooms"</h2>
            <ul>{list(false)}</ul>
            <Show when=move || signed_in.get()>
                <NewRoom />
                <h2>"Direct"</h2>
                <ul data-test="direct-list">{list(true)}</ul>
                // A plain form: the server opens the conversation and
                // sends the browser to it.
                <form class="new-room" method="post" action="/direct" data-test="new-direct">
                    <input
                        type="text"
                        name="usernames"
                        placeholder="Message…"
                        aria-label="Message people (names, commas between)"
                        autocomplete="off"
                        required=""
                    />
                    <button type="submit">"Open"</button>
                </form>
            </Show>
        </nav>
    }
    .into_any()
}

/// One room (or direct conversation) of the list: a link to its page,
/// marked if private, with its unread count.
fn room_item(
    name: String,
    title: String,
    private: bool,
    current: bool,
    unread: Option<u64>,
) -> impl IntoView {
    view! {
        <li class:current=current>
            <a
                href=room_path(&name)
                rel="external"
                data-test="room-link"
                data-room=name
                aria-current=current.then_some("page")
            >
                <bdi>{title}</bdi>
            </a>
            {private
                .then(|| {
                    view! {
                        <span class="private" data-test="private-room" title="Private: its members alone see it">
                            "private"
                        </span>
                    }
                })}
            {unread
                .map(|unread| {
                    view! {
                        <span class="unread" data-test="unread" aria-label=format!("{unread} unread")>
                            {unread}
                        </span>
                    }
                })}
        </li>
    }
}

/// Creates a room and opens it.
#[component]
fn NewRoom() -> impl IntoView {
    let InBrowser(in_browser) = expect_context();
    let name = RwSignal::new(String::new());
    let private = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let wanted = name.get_untracked();
        let private = private.get_untracked();
        if let Err(invalid) = parse_room_name(&wanted) {
            error.set(Some(invalid.to_string()));
            return;
        }
        error.set(None);
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::api::create_room(wanted, private).await {
                Ok(room) => crate::browser::go_to(&room_path(&room.name)),
                Err(err) => {
                    error.set(Some(err.to_string()));
                    busy.set(false);
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = private;
    };

    view! {
        <form class="new-room" on:submit=on_submit>
            <input
                type="text"
                placeholder="New room"
                aria-label="New room name"
                data-test="new-room-name"
                autocomplete="off"
                bind:value=name
            />
            <label class="new-room-private">
                <input type="checkbox" data-test="new-room-private" bind:checked=private />
                "Private"
            </label>
            <button
                type="submit"
                data-test="create-room"
                disabled=move || !in_browser.get() || busy.get()
            >
                "Create"
            </button>
            <p
                class="room-error"
                role="alert"
                data-test="room-error"
                hidden=move || error.with(Option::is_none)
            >
                {move || error.get()}
            </p>
        </form>
    }
}
