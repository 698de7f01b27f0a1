//! The account panel in the header: who is signed in and `Sign out`, or a
//! small form to sign in or sign up.
//!
//! The calls go to the JSON accounts API, which sets or removes the session
//! cookie; the panel then tells the page and the browser's other tabs (see
//! [`SessionChanged`]).

use leptos::{ev::SubmitEvent, prelude::*};
use shared::account::Credentials;

use super::InBrowser;
use crate::state::{ChatState, SessionChanged};

/// Which call the form makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    SignIn,
    SignUp,
}

#[component]
pub(super) fn AccountPanel() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let account = Memo::new(move |_| state.viewer.with(|viewer| viewer.account.clone()));
    view! {
        <div class="account" data-test="account">
            {move || match account.get() {
                Some(name) => view! { <SignedIn name /> }.into_any(),
                None => view! { <SignInForm /> }.into_any(),
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

/// A closed `Sign in` disclosure that opens to name, password, `Sign in`
/// and `Sign up`. Before the page runs its script, the buttons are
/// disabled (a plain submit would lose the form), and the form would post
/// anyway: a password never ends up in a URL.
#[component]
fn SignInForm() -> impl IntoView {
    let InBrowser(in_browser) = expect_context();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let action = StoredValue::new(Action::SignIn);
    let changed = on_session_change();

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let credentials = Credentials {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        // The same rules the server enforces, for an answer without a round trip.
        let checked = shared::parse_username(&credentials.username)
            .and_then(|_| shared::check_password(&credentials.password));
        if let Err(invalid) = checked {
            error.set(Some(invalid.to_string()));
            return;
        }
        error.set(None);
        busy.set(true);
        let chosen = action.get_value();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use crate::api::accounts;
            let answer = match chosen {
                Action::SignIn => accounts::sign_in(&credentials).await,
                Action::SignUp => accounts::sign_up(&credentials).await,
            };
            busy.set(false);
            match answer {
                Ok(name) => {
                    if let Some(changed) = changed {
                        changed.run(Some(name));
                    }
                }
                Err(err) => {
                    password.set(String::new());
                    error.set(Some(describe(&err)));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (credentials, chosen, changed);
    };
    let disabled = move || !in_browser.get() || busy.get();

    view! {
        <details class="sign-in">
            <summary data-test="open-sign-in">"Sign in"</summary>
            <form class="sign-in-form" method="post" on:submit=on_submit data-test="sign-in-form">
                <input
                    type="text"
                    placeholder="Username"
                    aria-label="Account name"
                    autocomplete="username"
                    required
                    data-test="account-username"
                    bind:value=username
                />
                <input
                    type="password"
                    placeholder="Password"
                    aria-label="Password"
                    autocomplete="current-password"
                    required
                    data-test="account-password"
                    bind:value=password
                />
                <button
                    type="submit"
                    data-test="sign-in"
                    disabled=disabled
                    on:click=move |_| action.set_value(Action::SignIn)
                >
                    "Sign in"
                </button>
                <button
                    type="submit"
                    data-test="sign-up"
                    disabled=disabled
                    on:click=move |_| action.set_value(Action::SignUp)
                >
                    "Sign up"
                </button>
                <p class="account-error" role="alert" data-test="account-error" hidden=move || error.with(Option::is_none)>
                    {move || error.get()}
                </p>
            </form>
        </details>
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
