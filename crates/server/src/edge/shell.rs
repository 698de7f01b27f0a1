//! The shell of the server's script-free pages (the moderators' pages,
//! a private room's members, an invitation, a new room, signing in, a
//! direct conversation refused): the document around a page's body, the
//! page a refusal gets, what an action did, carried back to the page it
//! came from in its address (post, redirect, get), and where a page sends
//! the reader when done.

use axum::{
    Form,
    extract::{FromRequest, Request},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use leptos::prelude::*;
use serde::{Deserialize, de::DeserializeOwned};

use shared::{
    GENERAL,
    room::{invite_path, room_path},
};

use crate::{AppState, edge::error::ApiError, edge::headers::SCRIPT_FREE_POLICY};

/// Where a page sends the reader back to when done (the sign-in page, the
/// new-room page): an invitation, else a room (`general` when none is
/// named), as the page's address or its form names them (`?room=<name>`,
/// `?invite=<code>`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct CameFrom {
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    invite: Option<String>,
}

impl CameFrom {
    /// The path back: always one this site makes, never another site,
    /// whatever the address or the form said.
    pub(super) fn path(&self) -> String {
        match &self.invite {
            Some(code) => invite_path(code),
            None => room_path(self.room.as_deref().unwrap_or(GENERAL)),
        }
    }

    /// The form's hidden fields that carry it through a post, as it came.
    pub(super) fn fields(&self) -> impl IntoView + use<> {
        let (room, invite) = (self.room.clone(), self.invite.clone());
        view! {
            {room.map(|room| view! { <input type="hidden" name="room" value=room /> })}
            {invite.map(|code| view! { <input type="hidden" name="invite" value=code /> })}
        }
    }
}

/// A script-free page's form, read as axum's [`Form`] reads it; a body
/// that is not the form (a field missing or of the wrong kind, another
/// content type, over the body limit) is answered with a page saying so
/// and axum's status for it, not axum's plain text: the reader came from
/// a page and gets one back.
pub(super) struct PageForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(form)) => Ok(Self(form)),
            Err(rejection) => Err(refusal_page(
                state,
                rejection.status(),
                "The form could not be read",
                rejection.body_text(),
                Some("form-error"),
                view! { <a href="/">"Back to the chat"</a> },
            )),
        }
    }
}

/// What the last action did, carried back to the page in its address.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Outcome {
    done: Option<String>,
    error: Option<String>,
}

/// What the last action did, at the top of the page it came back to.
pub(super) fn outcome_notes(outcome: Outcome) -> impl IntoView {
    view! {
        {outcome.done.map(|done| view! { <p class="done" role="status" data-test="admin-done">{done}</p> })}
        {outcome.error.map(|error| view! { <p class="send-error" role="alert" data-test="admin-error">{error}</p> })}
    }
}

/// Back to the page at `path`, saying what happened.
pub(super) fn back_to(path: &str, done: Result<String, ApiError>) -> Redirect {
    let (key, said) = match done {
        Ok(done) => ("done", done),
        Err(err) => ("error", err.to_string()),
    };
    let query = serde_urlencoded::to_string([(key, said)]).unwrap_or_default();
    Redirect::to(&format!("{path}?{query}"))
}

/// A script-free page saying why the door refused (`err`, under the
/// heading `title`, its alert marked `data-test=marker` if given), then
/// `back`, the way back; answered with the JSON API's status for `err`.
pub(super) fn refusal(
    state: &AppState,
    title: &'static str,
    err: &ApiError,
    marker: Option<&'static str>,
    back: impl IntoView + 'static,
) -> Response {
    refusal_page(
        state,
        err.page_status(),
        title,
        err.to_string(),
        marker,
        back,
    )
}

/// A script-free page saying `said` under the heading `title` (its alert
/// marked `data-test=marker` if given), then `back`, answered with `status`.
fn refusal_page(
    state: &AppState,
    status: StatusCode,
    title: &'static str,
    said: String,
    marker: Option<&'static str>,
    back: impl IntoView + 'static,
) -> Response {
    let body = view! {
        <main class="admin">
            <h1>{title}</h1>
            <p role="alert" data-test=marker>{said}</p>
            <p>{back}</p>
        </main>
    };
    (status, page(state, title, body.to_html())).into_response()
}

/// The document around `body`: the site's stylesheet, no script.
pub(super) fn page(state: &AppState, title: &str, body: String) -> Response {
    let options = state.leptos_options.clone();
    let head = Owner::new()
        .with(|| view! { <leptos_meta::HashedStylesheet options id="leptos" /> }.to_html());
    let title = view! { <title>{title.to_owned()}</title> }.to_html();
    let html = Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">{title}{head}</head>\
         <body>{body}</body></html>"
    ));
    (
        [
            (header::CONTENT_SECURITY_POLICY, SCRIPT_FREE_POLICY),
            // Who may see it is the session's: never in a shared cache.
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        html,
    )
        .into_response()
}
