//! The server functions the page calls.
//!
//! Their bodies run on the server and reach its state through the
//! [`ChatService`](crate::service::ChatService) in Leptos context; in the
//! browser they compile to HTTP calls.

use leptos::prelude::*;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use shared::{ChatMessage, MessageId, ValidationError};
use uuid::Uuid;

/// Why a send failed, kept structured across the wire so the page can show
/// which field broke which rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SendError {
    /// The message broke a validation rule; nothing was stored.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The server could not store the message (the cause is in its log).
    #[error("the server could not store the message, please retry")]
    Unavailable,
    /// The request did not reach the server, or its answer did not come back.
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl FromServerFnError for SendError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// The latest messages (oldest first), or with `before`, the page of
/// messages just older than that id. `limit` defaults to
/// [`shared::DEFAULT_PAGE_SIZE`] and is capped at [`shared::MAX_PAGE_SIZE`].
#[server]
pub async fn get_messages(
    before: Option<MessageId>,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>, ServerFnError> {
    use crate::service::Page;
    let service = crate::service::use_chat_service()?;
    let page = before.map_or(Page::Latest, Page::Before);
    service.history(page, page_size(limit)).await
}

/// The first `limit` messages newer than `after`, oldest first: how a tab
/// that does not hold the event stream itself catches up.
#[server]
pub async fn get_messages_after(
    after: MessageId,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>, ServerFnError> {
    use crate::service::Page;
    let service = crate::service::use_chat_service()?;
    service.history(Page::After(after), page_size(limit)).await
}

/// Stores a message and broadcasts it to every open stream. Sending the same
/// `client_id` again returns the stored message and changes nothing.
#[server]
pub async fn send_message(
    username: String,
    text: String,
    client_id: Uuid,
) -> Result<ChatMessage, SendError> {
    let service = crate::service::use_chat_service().map_err(|_| SendError::Unavailable)?;
    service
        .send(shared::SendMessage {
            username,
            text,
            client_id: Some(client_id),
        })
        .await
}

/// Applies the default and the cap to a requested page size.
pub fn page_size(limit: Option<u32>) -> u32 {
    limit
        .unwrap_or(shared::DEFAULT_PAGE_SIZE)
        .clamp(1, shared::MAX_PAGE_SIZE)
}
