//! The sidebar (a strip above the chat on narrow screens): every room,
//! each with its unread count, the room shown marked (a private one too:
//! its members alone see it); for a signed-in reader, a link to the
//! server's page that creates a room. Under `Direct`, the reader's direct
//! conversations by their people, and a form that opens one.
//!
//! Each room is a plain link that loads its page: the page is one room's,
//! rendered by the server like `/`.

use leptos::prelude::*;
use shared::room::{NEW_ROOM_PATH, RoomKind, page_from_room, room_key, room_path};

use crate::state::ChatState;

#[component]
pub(super) fn RoomList() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let signed_in = Memo::new(move |_| state.viewer.with(|viewer| viewer.account.is_some()));
    let room = state.room.get_untracked();
    let here = room_key(&room);
    // The page that creates a room, which links back here.
    let new_room = page_from_room(NEW_ROOM_PATH, &room);

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
                <a href=new_room.clone() rel="external" class="new-room-link" data-test="new-room">
                    "New room"
                </a>
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
