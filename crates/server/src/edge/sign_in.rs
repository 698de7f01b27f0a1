//! The sign-in page, `/sign-in?room=<name>`, which the header's `Sign in`
//! link opens (`/sign-in?invite=<code>` from an invitation): name,
//! password, `Sign in` or `Sign up`, posted to the same address, then back
//! to the room (or the invitation) the reader came from, signed in. The
//! same functions as `POST /api/session` and `POST /api/accounts` do the
//! work (`accounts::start_session`, `accounts::start_new_account`); a
//! refusal shows the form again with why and the name as typed (never the
//! password). Rendered on the server with no script, as the chat's other
//! forms that few visits use: the chat page carries no sign-in code
//! (BENCHMARKS.md, "First load, fifteenth session"). The page the reader
//! returns to tells the browser's other tabs who is signed in now.

use axum::{
    Router,
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::CookieJar;
use leptos::prelude::*;
use serde::Deserialize;
use shared::account::{Credentials, SIGN_IN_PATH, SIGN_OUT_PATH};

use super::{
    accounts::{end_session, start_new_account, start_session},
    shell::{CameFrom, PageForm, page, refusal},
};
use crate::{
    AppState,
    edge::{client::ClientIp, error::ApiError, rate},
};

pub fn router(state: &AppState) -> Router<AppState> {
    // Counted as reads, as the JSON routes are; signing up and in are
    // limited further by the accounts door.
    Router::new()
        .route(SIGN_IN_PATH, rate::reads(state, get(form).post(submit)))
        .route(SIGN_OUT_PATH, rate::reads(state, post(sign_out)))
}

/// Which of the form's two buttons was pressed.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Action {
    SignIn,
    SignUp,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    username: String,
    password: String,
    action: Action,
    #[serde(flatten)]
    back: CameFrom,
}

async fn form(State(state): State<AppState>, Query(back): Query<CameFrom>) -> Response {
    form_page(&state, &back, "", None)
}

async fn submit(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    PageForm(form): PageForm<SignInForm>,
) -> Response {
    let credentials = Credentials {
        username: form.username.clone(),
        password: form.password,
    };
    let started = match form.action {
        Action::SignIn => start_session(&state, client, jar, credentials).await,
        Action::SignUp => start_new_account(&state, client, jar, credentials).await,
    };
    match started {
        Ok((jar, _)) => (jar, Redirect::to(&form.back.path())).into_response(),
        Err(err) => form_page(&state, &form.back, &form.username, Some(&err)),
    }
}

/// The header's `Sign out`: back to the room signed out.
async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    PageForm(back): PageForm<CameFrom>,
) -> Response {
    match end_session(&state, jar).await {
        Ok(jar) => (jar, Redirect::to(&back.path())).into_response(),
        Err(err) => {
            let back_path = back.path();
            let link = view! { <a href=back_path>"Back"</a> };
            refusal(&state, "Sign out", &err, Some("sign-out-error"), link)
        }
    }
}

/// The form, with the name as typed and why the server refused it.
fn form_page(
    state: &AppState,
    back: &CameFrom,
    username: &str,
    refused: Option<&ApiError>,
) -> Response {
    let status = refused.map_or(axum::http::StatusCode::OK, ApiError::page_status);
    let why = refused.map(ToString::to_string);
    let (back_path, fields) = (back.path(), back.fields());
    let body = view! {
        <main class="admin">
            <h1>"Sign in"</h1>
            <form method="post" action=SIGN_IN_PATH class="sign-in-page" data-test="sign-in-form">
                {fields}
                <label>
                    "Name "
                    <input
                        type="text"
                        name="username"
                        value=username.to_owned()
                        autocomplete="username"
                        required=""
                        autofocus=""
                        data-test="account-username"
                    />
                </label>
                <label>
                    "Password "
                    <input
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required=""
                        data-test="account-password"
                    />
                </label>
                <p>
                    <button type="submit" name="action" value="sign-in" data-test="sign-in">
                        "Sign in"
                    </button>
                    " "
                    <button type="submit" name="action" value="sign-up" data-test="sign-up">
                        "Sign up"
                    </button>
                </p>
                {why.map(|why| view! { <p role="alert" data-test="account-error">{why}</p> })}
            </form>
            <p>
                <a href=back_path>"Back"</a>
            </p>
        </main>
    };
    (status, page(state, "Sign in", body.to_html())).into_response()
}
