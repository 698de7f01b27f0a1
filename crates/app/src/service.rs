//! The interface between the server functions and the server's state.
//!
//! The server crate implements [`ChatService`] and provides a [`Chat`] in
//! Leptos context for every request it renders or every server function it
//! runs. This keeps the dependency one-way: server → app.

use std::sync::Arc;

use futures::future::BoxFuture;
use leptos::prelude::*;
use shared::{
    ChatMessage, MessageCount, MessageId, SendMessage,
    account::Viewer,
    history::{LogPage, Page},
    presence::PresenceEvent,
    room::{Directory, ReadPosition},
};

use crate::error::CallError;

/// What the page needs from the server. A `room` is named as the page
/// has it (any case); one that does not exist is `no_such_room`.
pub trait ChatService: Send + Sync + 'static {
    /// Up to `limit` messages of `room`'s `page`, oldest first.
    fn history<'a>(
        &'a self,
        room: &'a str,
        page: Page,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, CallError>>;

    /// Up to `limit` entries of the log after `after` (of every room, read
    /// in one order), those of `room` kept.
    fn entries_after<'a>(
        &'a self,
        room: &'a str,
        after: MessageId,
        limit: u32,
    ) -> BoxFuture<'a, Result<LogPage, CallError>>;

    /// How many messages `room` holds.
    fn count<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<MessageCount, CallError>>;

    /// Validates, stores and broadcasts a message in `room`; returns it as
    /// stored.
    fn send<'a>(
        &'a self,
        room: &'a str,
        request: SendMessage,
    ) -> BoxFuture<'a, Result<ChatMessage, CallError>>;

    /// Every room with its count, and the signed-in reader's read
    /// positions.
    fn rooms(&self) -> BoxFuture<'_, Result<Directory, CallError>>;

    /// Who has a page open on `room` now.
    fn presence<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<PresenceEvent, CallError>>;

    /// Records how far the signed-in reader has read `room` (a guest's
    /// position stays in the browser: nothing to do).
    fn mark_read<'a>(
        &'a self,
        room: &'a str,
        position: ReadPosition,
    ) -> BoxFuture<'a, Result<(), CallError>>;

    /// Who makes the request (its session's account, if any) and whether
    /// they may send.
    fn viewer(&self) -> BoxFuture<'_, Result<Viewer, CallError>>;
}

/// The handle the server puts into Leptos context.
#[derive(Clone)]
pub struct Chat(pub Arc<dyn ChatService>);

/// The path of the page the server is rendering (from which the page reads
/// its room), provided in context beside [`Chat`].
#[derive(Clone)]
pub struct PagePath(pub String);

/// The [`ChatService`] the server provided for this request.
pub fn use_chat_service() -> Result<Arc<dyn ChatService>, CallError> {
    // Missing only if the server forgot to provide it: a bug, not bad input.
    use_context::<Chat>()
        .map(|chat| chat.0)
        .ok_or(CallError::Unavailable)
}
