//! The account panel in the header: who is signed in and `Sign out`, or
//! the link to the server's sign-in page (`edge/sign_in.rs`), which comes
//! back to this room signed in.
//!
//! `Sign out` is a form the server answers (`/sign-out`): it ends the
//! session and sends the browser back to the room. A page that comes back
//! signed in or out tells the browser's other tabs itself (`crate::live`).

use leptos::prelude::*;
use shared::{
    account::{SIGN_IN_PATH, SIGN_OUT_PATH},
    room::page_from_room,
};

use crate::state::ChatState;

#[component]
pub(super) fn AccountPanel() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let account = Memo::new(move |_| state.viewer.with(|viewer| viewer.account.clone()));
    view! {
        <div class="account" data-test="account">
            {move || match account.get() {
                Some(name) => view! { <SignedIn name /> }.into_any(),
                None => {
                    let href = page_from_room(SIGN_IN_PATH, &state.room.get_untracked());
                    view! {
                        <a href=href rel="external" class="sign-in" data-test="open-sign-in">
                            "Sign in"
                        </a>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

#[component]
fn SignedIn(name: String) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let moderates = move || state.viewer.with(|viewer| viewer.moderates());
    let room = state.room.get_untracked();
    view! {
        <p class="signed-in">
            "Signed in as " <bdi class="account-name" data-test="account-name">{name}</bdi>
        </p>
        // The moderators' pages are the server's, outside the chat's router.
        <a href="/admin" rel="external" data-test="admin-link" hidden=move || !moderates()>
            "Moderation"
        </a>
        // A plain form: the server ends the session and sends the browser
        // back to this room, whose page tells the other tabs.
        <form method="post" action=SIGN_OUT_PATH class="inline">
            <input type="hidden" name="room" value=room />
            <button type="submit" data-test="sign-out">
                "Sign out"
            </button>
        </form>
    }
}
