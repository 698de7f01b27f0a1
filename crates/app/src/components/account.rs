//! The account panel in the header: who is signed in and `Sign out`, or
//! the link to the server's sign-in page (`edge/sign_in.rs`), which comes
//! back to this room signed in.
//!
//! Signing out calls the JSON accounts API, which removes the session
//! cookie; the panel then tells the page and the browser's other tabs (see
//! [`SessionChanged`]). A page that comes back signed in tells the other
//! tabs itself (`crate::live`).

use leptos::prelude::*;
use shared::{account::SIGN_IN_PATH, room::page_from_room};

use super::InBrowser;
use crate::state::{ChatState, SessionChanged};

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
    let InBrowser(in_browser) = expect_context();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let changed = on_session_change();
    let on_sign_out = move |_| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::api::accounts::sign_out().await {
                Ok(()) => {
                    if let Some(changed) = changed {
                        changed.run(None);
                    }
                }
                Err(err) => error.set(Some(describe(&err))),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = changed;
    };
    let state = expect_context::<crate::state::ChatState>();
    let moderates = move || state.viewer.with(|viewer| viewer.moderates());
    view! {
        <p class="signed-in">
            "Signed in as " <bdi class="account-name" data-test="account-name">{name}</bdi>
        </p>
        // The moderators' pages are the server's, outside the chat's router.
        <a href="/admin" rel="external" data-test="admin-link" hidden=move || !moderates()>
            "Moderation"
        </a>
        <button
            type="button"
            data-test="sign-out"
            disabled=move || !in_browser.get() || busy.get()
            on:click=on_sign_out
        >
            "Sign out"
        </button>
        <p class="account-error" role="alert" data-test="account-error" hidden=move || error.with(Option::is_none)>
            {move || error.get()}
        </p>
    }
}

/// Tells the page and the other tabs who is signed in now (taken from
/// context while a component is built: a task cannot reach it). Absent
/// while rendering on the server, where nobody clicks.
fn on_session_change() -> Option<Callback<Option<String>>> {
    use_context::<SessionChanged>().map(|SessionChanged(changed)| changed)
}

/// What a failed account call says to the person.
#[cfg(any(feature = "hydrate", test))]
fn describe(err: &crate::error::CallError) -> String {
    match err {
        crate::error::CallError::RateLimited { retry_after_ms } => format!(
            "too many attempts; try again in {} s",
            retry_after_ms.div_ceil(1000)
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CallError;

    #[test]
    fn too_many_attempts_says_when_to_try_again() {
        assert_eq!(
            describe(&CallError::RateLimited {
                retry_after_ms: 61_500
            }),
            "too many attempts; try again in 62 s"
        );
        assert_eq!(
            describe(&CallError::Refused {
                code: "wrong_credentials".into(),
                message: "wrong username or password".into()
            }),
            "wrong username or password"
        );
    }
}
