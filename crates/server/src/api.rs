//! The JSON API: `GET /api/messages` (history pages) and
//! `POST /api/messages` (send).

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use shared::{ChatMessage, DEFAULT_PAGE_SIZE, MessageId, SendMessage};

use app::service::Page;
use axum_extra::extract::CookieJar;

use crate::{
    AppState,
    accounts::session_token,
    error::ApiError,
    extract::{ApiJson, ApiQuery, ClientIp},
    sender,
    store::Stored,
};

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages", get(list_messages).post(create_message))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<u32>,
    before: Option<MessageId>,
    after: Option<MessageId>,
}

/// The latest page of messages, the page just before `?before=<id>`, or
/// the first page after `?after=<id>`; oldest first. `?limit=` defaults to
/// 50 and is capped at 500. The latest page comes from memory (see
/// [`crate::recent`]); older and newer pages from the store.
async fn list_messages(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Response, ApiError> {
    let limit = app::api::page_size(query.limit);
    let chat = &state.chat;
    let page = match (query.before, query.after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadQuery("use either before or after, not both"));
        }
        (Some(before), None) => Page::Before(before),
        (None, Some(after)) => Page::After(after),
        (None, None) if limit == DEFAULT_PAGE_SIZE => {
            let json = chat.latest_json();
            return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
        }
        (None, None) => Page::Latest,
    };
    Ok(Json(chat.page(page, limit).await?).into_response())
}

/// Stores and broadcasts a message: `201` with the stored message, or `200`
/// with the earlier one when its `client_id` was already sent. Signed in
/// (the session cookie), it is sent under the account's name.
async fn create_message(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    ApiJson(request): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<ChatMessage>), ApiError> {
    let author = sender::authorize(&state, session_token(&jar).as_ref(), client).await?;
    Ok(match state.chat.send(request, author).await? {
        Stored::New(message) => (StatusCode::CREATED, Json(message)),
        Stored::Existing(message) => (StatusCode::OK, Json(message)),
    })
}
