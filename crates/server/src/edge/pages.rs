//! Pages of rooms (`/r/<name>`): their status, and their one spelling.

use std::collections::HashMap;

use axum::{
    extract::{Path, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use shared::room::room_path;

use crate::AppState;

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
    let missing = match params.get("name") {
        Some(name) => match state.rooms.find(name).await {
            Ok(Some(room)) if room.name != *name => {
                return Redirect::permanent(&room_path(&room.name)).into_response();
            }
            found => matches!(found, Ok(None)),
        },
        None => false,
    };
    let mut response = next.run(request).await;
    if missing && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}
