//! The interface between the server functions and the server's state.
//!
//! The server crate implements [`ChatService`] and provides a [`Chat`] in
//! Leptos context for every request it renders or every server function it
//! runs. This keeps the dependency one-way: server → app.

use std::sync::Arc;

use futures::future::BoxFuture;
use leptos::prelude::*;
use shared::{ChatMessage, MessageCount, MessageId, SendMessage, account::Viewer};

use crate::error::CallError;

/// Which page of history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The newest messages.
    Latest,
    /// The messages just older than this id.
    Before(MessageId),
    /// The messages just newer than this id.
    After(MessageId),
}

/// What the page needs from the server.
pub trait ChatService: Send + Sync + 'static {
    /// Up to `limit` messages of `page`, oldest first.
    fn history(&self, page: Page, limit: u32)
    -> BoxFuture<'_, Result<Vec<ChatMessage>, CallError>>;

    /// How many messages the chat holds.
    fn count(&self) -> MessageCount;

    /// Validates, stores and broadcasts a message; returns it as stored.
    fn send(&self, request: SendMessage) -> BoxFuture<'_, Result<ChatMessage, CallError>>;

    /// Who makes the request (its session's account, if any) and whether
    /// they may send.
    fn viewer(&self) -> BoxFuture<'_, Result<Viewer, CallError>>;
}

/// The handle the server puts into Leptos context.
#[derive(Clone)]
pub struct Chat(pub Arc<dyn ChatService>);

/// The [`ChatService`] the server provided for this request.
pub fn use_chat_service() -> Result<Arc<dyn ChatService>, CallError> {
    // Missing only if the server forgot to provide it: a bug, not bad input.
    use_context::<Chat>()
        .map(|chat| chat.0)
        .ok_or(CallError::Unavailable)
}
