//! The page that creates a room, `/rooms/new?room=<name>`, which the
//! sidebar's `New room` link opens (naming the room to go back to): a name
//! and whether it is private, then `Create`,
//! which posts to the same address and goes on to the new room's page
//! through the same caller door method as `POST /api/rooms`. A refusal
//! shows the form again with why and what was typed. Rendered on the
//! server with no script, as the members page is: what a first visit to
//! the chat downloads carries no room-creation code (BENCHMARKS.md,
//! "First load, fifteenth session").

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use leptos::prelude::*;
use serde::Deserialize;
use shared::room::{NEW_ROOM_PATH, room_path};

use super::shell::{CameFrom, PageForm, page};
use crate::{AppState, door::caller::Caller, edge::error::ApiError, edge::rate};

pub fn router(state: &AppState) -> Router<AppState> {
    // Creating counts as a read here, and against the account's send limit
    // at the door, as `POST /api/rooms` does.
    Router::new().route(
        NEW_ROOM_PATH,
        rate::reads(state, get(new_room).post(create)),
    )
}

/// What the form posts; an unticked checkbox sends nothing.
#[derive(Debug, Default, Deserialize)]
struct NewRoomForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    private: Option<String>,
    #[serde(flatten)]
    came_from: CameFrom,
}

async fn new_room(
    State(state): State<AppState>,
    caller: Caller,
    Query(came_from): Query<CameFrom>,
) -> Response {
    let signed_in = caller.signed_in().await;
    let form = NewRoomForm {
        came_from,
        ..NewRoomForm::default()
    };
    form_page(&state, signed_in, &form, None)
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    PageForm(form): PageForm<NewRoomForm>,
) -> Response {
    match caller.create_room(&form.name, form.private.is_some()).await {
        Ok(room) => Redirect::to(&room_path(&room.name)).into_response(),
        Err(err) => {
            let signed_in = !matches!(err, ApiError::Unauthorized);
            form_page(&state, signed_in, &form, Some(&err))
        }
    }
}

/// The form, filled with what was typed, and why the server refused it;
/// for a guest, the way to sign in instead.
fn form_page(
    state: &AppState,
    signed_in: bool,
    form: &NewRoomForm,
    refused: Option<&ApiError>,
) -> Response {
    let status = refused.map_or(StatusCode::OK, ApiError::page_status);
    let why = refused.map(ToString::to_string);
    let back = view! {
        <p>
            <a href=form.came_from.path()>"Back to the chat"</a>
        </p>
    };
    let body = if signed_in {
        view! {
            <main class="admin">
                <h1>"New room"</h1>
                <form method="post" action=NEW_ROOM_PATH class="new-room-page" data-test="new-room-form">
                    {form.came_from.fields()}
                    <label>
                        "Name "
                        <input
                            type="text"
                            name="name"
                            value=form.name.clone()
                            autocomplete="off"
                            required=""
                            autofocus=""
                            data-test="new-room-name"
                        />
                    </label>
                    <label>
                        <input
                            type="checkbox"
                            name="private"
                            checked=form.private.is_some()
                            data-test="new-room-private"
                        />
                        " Private: its members alone see it, and its owners add them"
                    </label>
                    <button type="submit" data-test="create-room">
                        "Create"
                    </button>
                    {why.map(|why| view! { <p role="alert" data-test="room-error">{why}</p> })}
                </form>
                {back}
            </main>
        }
        .into_any()
    } else {
        view! {
            <main class="admin">
                <h1>"New room"</h1>
                <p data-test="sign-in-first">"Sign in on the chat to create a room."</p>
                {back}
            </main>
        }
        .into_any()
    };
    (status, page(state, "New room", body.to_html())).into_response()
}
