//! `POST /direct`: the form the page's `Message` buttons and the
//! sidebar's `Direct` box post (account names, separated by commas). It
//! opens the direct conversation through the same caller door method as
//! `POST /api/direct` and sends the browser to its page; a refusal is a
//! script-free page saying why, with the way back.

use axum::{
    Router,
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use leptos::prelude::*;
use serde::Deserialize;
use shared::room::room_path;

use super::shell::{PageForm, refusal};
use crate::{AppState, door::caller::Caller, edge::error::ApiError, edge::rate};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new().route("/direct", rate::sends(state, post(open)))
}

#[derive(Debug, Deserialize)]
struct DirectForm {
    /// Account names, separated by commas.
    usernames: String,
}

async fn open(
    State(state): State<AppState>,
    caller: Caller,
    PageForm(form): PageForm<DirectForm>,
) -> Response {
    let usernames: Vec<String> = form
        .usernames
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    match caller.open_direct(&usernames).await {
        Ok(room) => Redirect::to(&room_path(&room.name)).into_response(),
        Err(err) => refused(&state, err),
    }
}

fn refused(state: &AppState, err: ApiError) -> Response {
    let back = view! { <a href="/">"Back to the chat"</a> };
    refusal(state, "Direct message", &err, Some("direct-error"), back)
}
