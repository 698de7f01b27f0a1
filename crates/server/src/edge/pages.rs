//! Pages of rooms (`/`, `/r/<name>`): what they start from, their status,
//! and their one spelling.

use std::collections::HashMap;

use app::start::PageStart;
use axum::{
    extract::{Path, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use shared::room::{room_in_path, room_path};

use crate::{AppState, door::caller::Caller, edge::error::ApiError};

/// A room's page (`/r/<name>`) answers `404 Not Found` when there is no such
/// room: the page itself says so (its history call is refused with
/// `no_such_room`), and this tells browsers, crawlers and caches. The
/// status is set on the response's head, which is not yet sent however
/// the page streams. A room named in another spelling (`/r/Random`,
/// `/r/generaI`) is redirected to its own page, so the page only ever
/// holds a room's name as the room spells it.
pub async fn page_status(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let missing = match params.get("name") {
        // As the caller may see it: a private room is no room to others.
        Some(name) => match Caller::of(state, Some(&parts)).room(name).await {
            Ok(room) if room.name != *name => {
                return Redirect::permanent(&room_path(&room.name)).into_response();
            }
            found => matches!(found, Err(ApiError::NoSuchRoom(_))),
        },
        None => false,
    };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if missing && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

/// A room's page: what it starts from is read first, as the caller may
/// see it ([`PageStart`]), then the page is rendered around it, in order
/// (the messages are in the HTML where they belong, readable before or
/// without the WASM), and the start is written into its head for the
/// browser's hydration.
pub async fn room_page(State(state): State<AppState>, request: Request) -> Response {
    let room = room_in_path(request.uri().path()).unwrap_or_default();
    let (parts, body) = request.into_parts();
    let chat = crate::door::caller::service(state.clone(), Some(&parts));
    let start = PageStart::load(chat.as_ref(), &room).await;
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_in_order_with_context(
        move || {
            provide_context(state.clone());
            crate::provide_request_context(&state);
            provide_context(start.clone());
        },
        move || app::shell(options.clone()),
    );
    render(Request::from_parts(parts, body)).await
}
