//! The server functions the page calls.
//!
//! Their bodies run on the server and reach its state through the
//! [`ChatService`](crate::service::ChatService) in Leptos context; in the
//! browser they compile to HTTP calls.

use leptos::prelude::*;
use shared::{
    ChatMessage, MessageCount, MessageId,
    account::Viewer,
    room::{Directory, ReadPosition},
};
use uuid::Uuid;

use crate::{codec::Json, error::CallError};

/// The latest messages of `room` (oldest first), or with `before`, the
/// page of messages just older than that id. `limit` defaults to
/// [`shared::DEFAULT_PAGE_SIZE`] and is capped at [`shared::MAX_PAGE_SIZE`].
#[server(input = Json, output = Json)]
pub async fn get_messages(
    room: String,
    before: Option<MessageId>,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>, CallError> {
    use shared::history::{Page, page_size};
    let service = crate::service::use_chat_service()?;
    let page = before.map_or(Page::Latest, Page::Before);
    service.history(&room, page, page_size(limit)).await
}

/// The entries of `room`'s log after `after` (new messages and changes,
/// oldest first, each message as it now is), a page of up to `limit` read
/// at a time: how a tab that does not hold the event stream itself
/// catches up.
#[server(input = Json, output = Json)]
pub async fn get_entries_after(
    room: String,
    after: MessageId,
    limit: Option<u32>,
) -> Result<shared::history::LogPage, CallError> {
    use shared::history::page_size;
    let service = crate::service::use_chat_service()?;
    service.entries_after(&room, after, page_size(limit)).await
}

/// How many messages `room` holds (not only those the page loaded), as of
/// an id: the page adds what it receives after it.
#[server(input = Json, output = Json)]
pub async fn get_message_count(room: String) -> Result<MessageCount, CallError> {
    let service = crate::service::use_chat_service()?;
    service.count(&room).await
}

/// Every room with its count, and (signed in) how far the reader has read
/// each: what the sidebar shows.
#[server(input = Json, output = Json)]
pub async fn get_rooms() -> Result<Directory, CallError> {
    let service = crate::service::use_chat_service()?;
    service.rooms().await
}

/// Records how far the signed-in reader has read `room`, so that its
/// unread count follows them to their other browsers.
#[server(input = Json, output = Json)]
pub async fn mark_read(room: String, position: ReadPosition) -> Result<(), CallError> {
    let service = crate::service::use_chat_service()?;
    service.mark_read(&room, position).await
}

/// Stores a message (a reply to `reply_to`, a message of the same room, if
/// given) and broadcasts it to every open stream. Sending the same
/// `client_id` again returns the stored message and changes nothing.
///
/// Every server function takes JSON: a JSON body is UTF-8 or refused (a
/// form body would be decoded lossily), and a browser sends it cross-site
/// only after a preflight (the site guard refuses such requests anyway).
#[server(input = Json, output = Json)]
pub async fn send_message(
    room: String,
    username: String,
    text: String,
    client_id: Uuid,
    reply_to: Option<MessageId>,
) -> Result<ChatMessage, CallError> {
    let service = crate::service::use_chat_service()?;
    service
        .send(
            &room,
            shared::SendMessage {
                username,
                text,
                client_id: Some(client_id),
                reply_to,
            },
        )
        .await
}

/// Who is signed in on this browser and whether they may send: read while
/// the page renders, so the header and the composer are right at once.
/// Signing up, in and out go through the JSON API (`/api/accounts`,
/// `/api/session`), which sets and removes the session cookie.
#[server(input = Json, output = Json)]
pub async fn get_viewer() -> Result<Viewer, CallError> {
    let service = crate::service::use_chat_service()?;
    service.viewer().await
}

/// How the page reads the JSON API's answers: the body as a type, or the
/// API's error as a [`CallError`].
#[cfg(feature = "hydrate")]
mod reply {
    use gloo_net::http::Response;
    use shared::ErrorBody;

    use crate::error::CallError;

    /// The API's error body, or what went wrong reading it.
    pub(super) async fn refusal(response: Response) -> CallError {
        match read_body::<ErrorBody>(&response).await {
            Ok(body) => body.into(),
            Err(err) => CallError::Transport(format!("status {}: {err}", response.status())),
        }
    }

    pub(super) fn transport(err: gloo_net::Error) -> CallError {
        CallError::Transport(err.to_string())
    }

    /// The response's JSON body as a `T`, read as the page reads all JSON
    /// ([`crate::json`]).
    pub(super) async fn read_body<T: serde::de::DeserializeOwned>(
        response: &Response,
    ) -> Result<T, CallError> {
        let text = response.text().await.map_err(transport)?;
        crate::json::from_str(&text).map_err(|err| CallError::Transport(err.to_string()))
    }
}

/// The page's calls that say where it is and who types (the JSON API:
/// `POST /api/rooms/<name>/presence` and `/typing`).
#[cfg(feature = "hydrate")]
pub mod presence {
    use gloo_net::http::{Request, Response};
    use serde::Serialize;
    use shared::{
        presence::{Heartbeat, PresenceEvent, Typing},
        room::room_api_path,
    };

    use super::reply::{read_body, refusal, transport};
    use crate::error::CallError;

    /// This page is open on `room`; answers who is there now.
    pub async fn heartbeat(room: &str, beat: &Heartbeat) -> Result<PresenceEvent, CallError> {
        read_body(&post(&room_api_path(room, "presence"), beat).await?).await
    }

    /// The reader is typing in `room`, or stopped.
    pub async fn typing(room: &str, typing: &Typing) -> Result<(), CallError> {
        post(&room_api_path(room, "typing"), typing).await.map(drop)
    }

    async fn post(path: &str, body: &impl Serialize) -> Result<Response, CallError> {
        let response = Request::post(path)
            .json(body)
            .map_err(transport)?
            .send()
            .await
            .map_err(transport)?;
        if response.ok() {
            Ok(response)
        } else {
            Err(refusal(response).await)
        }
    }
}

/// The page's calls that change a message (the JSON API: `PATCH` and
/// `DELETE /api/messages/<id>`); each answers the message as it now is.
#[cfg(feature = "hydrate")]
pub mod changes {
    use gloo_net::http::{Request, RequestBuilder};
    use shared::{ChatMessage, DeleteMessage, EditMessage, MessageId, React};
    use uuid::Uuid;

    use super::reply::{read_body, refusal, transport};
    use crate::error::CallError;

    /// Edits the reader's own message `id`: its text becomes `text`.
    pub async fn edit(
        id: MessageId,
        text: String,
        client_id: Uuid,
    ) -> Result<ChatMessage, CallError> {
        let body = EditMessage {
            text,
            client_id: Some(client_id),
        };
        send(Request::patch(&path(id)), &body).await
    }

    /// Gives (`on`) or takes back the reader's `reaction` to message `id`;
    /// a guest's `request` names its browser and name.
    pub async fn react(
        id: MessageId,
        reaction: &str,
        on: bool,
        request: &React,
    ) -> Result<ChatMessage, CallError> {
        let path = shared::message::reaction_path(id, reaction);
        let request_builder = if on {
            Request::put(&path)
        } else {
            Request::delete(&path)
        };
        send(request_builder, request).await
    }

    /// The texts that edits of the reader's own message `id` replaced,
    /// oldest first.
    pub async fn versions(id: MessageId) -> Result<Vec<String>, CallError> {
        let response = Request::get(&format!("{}/versions", path(id)))
            .send()
            .await
            .map_err(transport)?;
        if !response.ok() {
            return Err(refusal(response).await);
        }
        read_body(&response).await
    }

    /// Deletes the reader's own message `id`.
    pub async fn delete(
        id: MessageId,
        reason: Option<String>,
        client_id: Uuid,
    ) -> Result<ChatMessage, CallError> {
        let body = DeleteMessage {
            client_id: Some(client_id),
            reason,
        };
        send(Request::delete(&path(id)), &body).await
    }

    /// Reports message `id` to the moderators, for `reason`.
    pub async fn report(id: MessageId, reason: Option<String>) -> Result<(), CallError> {
        let body = shared::moderation::ReportRequest { reason };
        let response = Request::post(&format!("{}/reports", path(id)))
            .json(&body)
            .map_err(transport)?
            .send()
            .await
            .map_err(transport)?;
        if !response.ok() {
            return Err(refusal(response).await);
        }
        Ok(())
    }

    fn path(id: MessageId) -> String {
        format!("/api/messages/{id}")
    }

    async fn send(
        request: RequestBuilder,
        body: &impl serde::Serialize,
    ) -> Result<ChatMessage, CallError> {
        let response = request
            .json(body)
            .map_err(transport)?
            .send()
            .await
            .map_err(transport)?;
        if !response.ok() {
            return Err(refusal(response).await);
        }
        read_body(&response).await
    }
}
