//! The JSON API's error type: every failure becomes a status code and an
//! [`ErrorBody`]; internal causes are logged, never sent to the client.

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use shared::{ErrorBody, ValidationError};

use crate::{door::rooms::RoomError, log::chat::ChatError, log::store::StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The message broke a validation rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The JSON body could not be read (size, content type, syntax, shape).
    #[error(transparent)]
    Json(#[from] JsonRejection),
    /// The query string could not be read.
    #[error(transparent)]
    Query(#[from] QueryRejection),
    /// A part of the path could not be read (a message id that is not a
    /// number).
    #[error(transparent)]
    Path(#[from] PathRejection),
    /// The query string was read but its parameters do not go together.
    #[error("{0}")]
    BadQuery(&'static str),
    /// A state-changing request from another site's page (see [`crate::edge::site`]).
    #[error("requests that change the chat must come from its own pages")]
    CrossSite,
    /// A request for a host name this server does not serve.
    #[error("this server does not serve that host name")]
    WrongHost,
    /// The client sends faster than its limit; it may send again after this.
    #[error("sending too fast; wait a moment")]
    RateLimited(std::time::Duration),
    /// A sign-in with a wrong password, or for a name with no account.
    #[error("wrong username or password")]
    WrongCredentials,
    /// The request needs a signed-in session and has none.
    #[error("not signed in")]
    Unauthorized,
    /// Only accounts may send here (`--guests off`).
    #[error("sign in to send messages")]
    SignInToSend,
    /// Only accounts edit and delete their messages: a guest's name proves
    /// nothing.
    #[error("sign in to edit your messages")]
    SignInToEdit,
    /// The request names a message that does not exist (in the room it
    /// names).
    #[error("there is no message {0}")]
    NoSuchMessage(shared::MessageId),
    /// Only a message's author changes it.
    #[error("only its author may change this message")]
    NotAuthor,
    /// The caller's role does not allow this (a moderator's or an
    /// admin's action by anyone else, a guest included).
    #[error("your role does not allow this")]
    Forbidden,
    /// The caller's account is banned: why, and until when.
    #[error("{}", banned_message(.0))]
    Banned(shared::moderation::BanNotice),
    /// A guest whose address or name a moderator blocked: why, and until
    /// when.
    #[error("{}", blocked_message(.0))]
    Blocked(shared::moderation::BanNotice),
    /// A moderator may not ban an admin, nor anyone themselves.
    #[error("{0}")]
    MayNotBan(&'static str),
    /// The room is locked or archived: only moderators write there.
    #[error("this room is read-only; only moderators write here")]
    RoomLocked,
    /// The room is closed to guests.
    #[error("sign in to write in this room")]
    GuestsNotHere,
    /// The room's slow mode: the writer may write again after this.
    #[error("this room is in slow mode; wait before writing again")]
    SlowMode(std::time::Duration),
    /// The request names a report that does not exist.
    #[error("there is no report {0}")]
    NoSuchReport(i64),
    /// The report was acted on already.
    #[error("this report was closed already")]
    ReportClosed,
    /// The request names a guest block that does not exist.
    #[error("there is no block {0}")]
    NoSuchBlock(i64),
    /// The request names an account that does not exist.
    #[error("there is no account named {0:?}")]
    NoSuchAccount(String),
    /// The role change would leave the chat without an admin.
    #[error("the last admin cannot stop being one; make another admin first")]
    LastAdmin,
    /// The message was deleted; it cannot be edited or reacted to.
    #[error("this message was deleted")]
    MessageDeleted,
    /// The message holds as many different reactions as one may.
    #[error("this message has as many different reactions as it may; add to one of them")]
    TooManyReactions,
    /// A body left out something this caller must give.
    #[error("{0}")]
    MissingField(&'static str),
    /// A body's value makes no sense (a ban that ended already).
    #[error("{0}")]
    BadBody(&'static str),
    /// Too many failed sign-ins for this name or from this client; it may
    /// try again after this.
    #[error("too many failed attempts; try again later")]
    TooManyAttempts(std::time::Duration),
    /// As many accounts were made from this client's address as it may
    /// make in an hour or a day.
    #[error("too many accounts made from this address; try again later")]
    TooManyAccounts(std::time::Duration),
    /// The client holds as many event streams as it may.
    #[error("too many open event streams from this address; close one and retry")]
    TooManyStreams,
    /// The request names a room that does not exist (or one the caller
    /// may not see: the same to them).
    #[error("there is no room called {0:?}")]
    NoSuchRoom(String),
    /// Only a private room's owners (and admins) manage its members.
    #[error("only the room's owners and admins manage its members")]
    NotOwner,
    /// The room is public: it has no members to manage.
    #[error("this room is public: anyone may see it")]
    NotPrivate,
    /// The private room holds as many members as it may.
    #[error(
        "the room has as many members as it may ({})",
        shared::room::MAX_MEMBERS
    )]
    RoomFull,
    /// The account named is no member of the room.
    #[error("{0:?} is not a member of this room")]
    NoSuchMember(String),
    /// A direct conversation's people are fixed: nobody is added, taken
    /// out, made an owner or invited.
    #[error("a direct conversation's people are fixed; start another with whom you wish")]
    DirectRoom,
    /// The chat holds as many direct conversations as it may.
    #[error("the chat has as many direct conversations as it may hold")]
    TooManyDirect,
    /// No live invite has this code: never made, expired, used up or
    /// revoked (the same to whoever holds it).
    #[error("this invite link is not valid (it may have expired, been used up or revoked)")]
    NoSuchInvite,
    /// The room holds as many live invite links as it may.
    #[error(
        "the room has as many invite links as it may ({}); revoke one first",
        shared::room::MAX_INVITES
    )]
    TooManyInvites,
    /// The chat holds as many rooms as it may.
    #[error("the chat has as many rooms as it may hold")]
    TooManyRooms,
    /// The caller (its address, or the person) has as many pages open in
    /// presence as it may.
    #[error("you have as many pages open as one may")]
    TooManyPages,
    /// The caller created as many rooms as one account may.
    #[error("you have created as many rooms as one account may")]
    TooManyRoomsOfYours,
    /// The server holds as many connections as it may.
    #[error("the server is busy; retry in a moment")]
    Busy,
    /// Storage failed; the writer logged the cause.
    #[error("the message could not be stored, please retry")]
    Unavailable,
    /// Anything else that is our fault.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// What a banned account is told.
fn banned_message(ban: &shared::moderation::BanNotice) -> String {
    notice("you have been banned", ban)
}

/// What a blocked guest is told.
fn blocked_message(ban: &shared::moderation::BanNotice) -> String {
    notice("guests like you are blocked from writing", ban)
}

fn notice(what: &str, ban: &shared::moderation::BanNotice) -> String {
    let until = ban.until.map_or_else(
        || "for good".to_owned(),
        |until| {
            format!(
                "until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        },
    );
    match &ban.reason {
        Some(reason) => format!("{what} {until}: {reason}"),
        None => format!("{what} {until}"),
    }
}

impl From<RoomError> for ApiError {
    fn from(err: RoomError) -> Self {
        match err {
            RoomError::Invalid(invalid) => Self::Invalid(invalid),
            RoomError::TooMany => Self::TooManyRooms,
            RoomError::TooManyOfYours => Self::TooManyRoomsOfYours,
            RoomError::TooManyDirect => Self::TooManyDirect,
            RoomError::TooManyFromAddress(wait) => Self::RateLimited(wait),
            RoomError::Store(err) => err.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Storage => Self::Unavailable,
        }
    }
}

/// A server function's failure reads as the same request's would through
/// the JSON API (internal causes logged here, never sent).
impl From<ApiError> for app::error::CallError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "server function failed");
                Self::Unavailable
            }
            err => err.body().into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::Internal(err.into())
    }
}

impl ApiError {
    /// How long the client should wait before asking again, if that is
    /// what the error is about.
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited(wait)
            | Self::TooManyAttempts(wait)
            | Self::TooManyAccounts(wait)
            | Self::SlowMode(wait) => Some(*wait),
            Self::Busy => Some(std::time::Duration::from_secs(1)),
            _ => None,
        }
    }

    fn body(&self) -> ErrorBody {
        match self {
            Self::Invalid(invalid) => ErrorBody::from(invalid),
            Self::Json(rejection) => {
                let code = match rejection {
                    JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
                    JsonRejection::JsonSyntaxError(_) => "malformed_json",
                    JsonRejection::JsonDataError(_) => "invalid_body",
                    _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    _ => "unreadable_body",
                };
                ErrorBody::new(code, rejection.body_text())
            }
            Self::Query(rejection) => ErrorBody::new("invalid_query", rejection.body_text()),
            Self::Path(rejection) => ErrorBody::new("invalid_path", rejection.body_text()),
            Self::BadQuery(message) => ErrorBody::new("invalid_query", *message),
            Self::CrossSite => ErrorBody::new("cross_site", self.to_string()),
            Self::WrongHost => ErrorBody::new("wrong_host", self.to_string()),
            Self::RateLimited(wait) => ErrorBody::rate_limited(
                self.to_string(),
                wait.as_millis().try_into().unwrap_or(u64::MAX),
            ),
            Self::TooManyAttempts(wait) | Self::TooManyAccounts(wait) => ErrorBody::rate_limited(
                self.to_string(),
                wait.as_millis().try_into().unwrap_or(u64::MAX),
            ),
            Self::WrongCredentials => ErrorBody::new("wrong_credentials", self.to_string()),
            Self::Unauthorized | Self::SignInToSend | Self::SignInToEdit => {
                ErrorBody::new("unauthorized", self.to_string())
            }
            Self::NoSuchMessage(_) => ErrorBody::new("no_such_message", self.to_string()),
            Self::NotAuthor => ErrorBody::new("not_author", self.to_string()),
            Self::Forbidden => ErrorBody::new("forbidden", self.to_string()),
            Self::RoomLocked => ErrorBody::new("room_locked", self.to_string()),
            Self::GuestsNotHere => ErrorBody::new("unauthorized", self.to_string()),
            Self::SlowMode(wait) => {
                let mut body = ErrorBody::rate_limited(
                    self.to_string(),
                    wait.as_millis().try_into().unwrap_or(u64::MAX),
                );
                body.error.code = "slow_mode".into();
                body
            }
            Self::MayNotBan(_) => ErrorBody::new("forbidden", self.to_string()),
            Self::Banned(ban) => ErrorBody::banned(self.to_string(), ban.clone()),
            Self::Blocked(ban) => {
                let mut body = ErrorBody::banned(self.to_string(), ban.clone());
                body.error.code = "blocked".into();
                body
            }
            Self::NoSuchAccount(_) => ErrorBody::new("no_such_account", self.to_string()),
            Self::NoSuchBlock(_) => ErrorBody::new("no_such_block", self.to_string()),
            Self::NoSuchReport(_) => ErrorBody::new("no_such_report", self.to_string()),
            Self::ReportClosed => ErrorBody::new("report_closed", self.to_string()),
            Self::LastAdmin => ErrorBody::new("last_admin", self.to_string()),
            Self::MessageDeleted => ErrorBody::new("message_deleted", self.to_string()),
            Self::TooManyReactions => ErrorBody::new("too_many_reactions", self.to_string()),
            Self::MissingField(_) | Self::BadBody(_) => {
                ErrorBody::new("invalid_body", self.to_string())
            }
            Self::TooManyStreams => ErrorBody::new("too_many_streams", self.to_string()),
            Self::Busy => ErrorBody::new("busy", self.to_string()),
            Self::NoSuchRoom(_) => ErrorBody::new("no_such_room", self.to_string()),
            Self::NotOwner => ErrorBody::new("not_owner", self.to_string()),
            Self::NotPrivate => ErrorBody::new("not_private", self.to_string()),
            Self::RoomFull => ErrorBody::new("room_full", self.to_string()),
            Self::NoSuchMember(_) => ErrorBody::new("no_such_member", self.to_string()),
            Self::NoSuchInvite => ErrorBody::new("no_such_invite", self.to_string()),
            Self::DirectRoom => ErrorBody::new("direct_room", self.to_string()),
            Self::TooManyDirect => ErrorBody::new("too_many_rooms", self.to_string()),
            Self::TooManyInvites => ErrorBody::new("too_many_invites", self.to_string()),
            Self::TooManyRooms => ErrorBody::new("too_many_rooms", self.to_string()),
            Self::TooManyRoomsOfYours => {
                ErrorBody::new("too_many_rooms_of_yours", self.to_string())
            }
            Self::TooManyPages => ErrorBody::new("too_many_pages", self.to_string()),
            Self::Unavailable => ErrorBody::new("unavailable", self.to_string()),
            Self::Internal(_) => ErrorBody::new("internal", self.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        let body = self.body();
        let mut response = (status_of(&body), Json(body)).into_response();
        if let Some(wait) = self.retry_after() {
            // Whole seconds, rounded up: never earlier than the server allows.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.max(1).into());
        }
        response
    }
}

impl ApiError {
    /// The status a script-free page (`/admin`, a members page, an
    /// invitation) answers this error with: the JSON API's for the same
    /// error; a cause of ours is logged here, as the API logs it.
    pub fn page_status(&self) -> StatusCode {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "page failed");
        }
        status_of(&self.body())
    }
}

/// The status that comes with an error body's code (see [`ErrorBody::status`]).
fn status_of(body: &ErrorBody) -> StatusCode {
    StatusCode::from_u16(body.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The header server functions mark their error responses with.
const SERVER_FN_ERROR: &str = "serverfnerror";

/// Middleware for the server functions' routes. Leptos answers every
/// failed call with 500; this gives it the status of its error code, as
/// the JSON API does (a call's error body is an [`ErrorBody`], see
/// `app::error::CallError`). A request too large for the body limit gets
/// the API's JSON error too.
pub async fn server_fn_status(response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&response) {
        return (
            status,
            Json(ErrorBody::new(
                "payload_too_large",
                "the request body is too large",
            )),
        )
            .into_response();
    }
    if !response.headers().contains_key(SERVER_FN_ERROR) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // An error body is a few hundred bytes; anything else is left as it was (500).
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(&bytes) {
        let status = status_of(&error);
        if status.is_server_error() {
            tracing::error!(
                code = error.error.code,
                message = error.error.message,
                "server function failed"
            );
        }
        parts.status = status;
    }
    Response::from_parts(parts, bytes.into())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"))
}
