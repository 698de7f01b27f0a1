//! The server functions the page calls.
//!
//! Their bodies run on the server and reach its state through the
//! [`ChatService`](crate::service::ChatService) in Leptos context; in the
//! browser they compile to HTTP calls.

use leptos::prelude::*;
use leptos::server_fn::{
    codec::{Json, JsonEncoding},
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use shared::{ChatMessage, ErrorBody, MessageCount, MessageId, ValidationError, account::Viewer};
use uuid::Uuid;

/// Why a server function call failed. On the wire it is the JSON API's
/// error body (`{"error": {"code": ..., "message": ...}}`), and the server
/// answers it with the API's status for that code (see
/// [`ErrorBody::status`]), so a refused call reads the same whichever way it
/// was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ErrorBody", from = "ErrorBody")]
pub enum CallError {
    /// The message broke a validation rule; nothing was stored.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The server could not store or read messages (the cause is in its log).
    #[error("the server could not store the message, please retry")]
    Unavailable,
    /// The client sends faster than the server allows; nothing was stored,
    /// and the same send may go again after this many milliseconds.
    #[error("sending too fast; waiting to send again")]
    RateLimited { retry_after_ms: u64 },
    /// The server refused the request for another reason: its arguments
    /// were malformed, it came from another site, it was too large.
    #[error("{message}")]
    Refused { code: String, message: String },
    /// The request did not reach the server, or its answer did not come back.
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl From<CallError> for ErrorBody {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Invalid(invalid) => ErrorBody::from(&invalid),
            CallError::Unavailable => ErrorBody::new("unavailable", err.to_string()),
            CallError::RateLimited { retry_after_ms } => {
                ErrorBody::rate_limited(err.to_string(), retry_after_ms)
            }
            CallError::Refused { code, message } => ErrorBody::new(code, message),
            CallError::Transport(_) => ErrorBody::new("unreachable", err.to_string()),
        }
    }
}

impl From<ErrorBody> for CallError {
    fn from(body: ErrorBody) -> Self {
        let detail = body.error;
        match (detail.code.as_str(), detail.field, detail.rule) {
            ("validation", Some(field), Some(rule)) => {
                Self::Invalid(ValidationError { field, rule })
            }
            ("unavailable", _, _) => Self::Unavailable,
            // Without a figure, a second is what `Retry-After` would say.
            ("rate_limited", _, _) => Self::RateLimited {
                retry_after_ms: detail.retry_after_ms.unwrap_or(1000),
            },
            _ => Self::Refused {
                code: detail.code,
                message: detail.message,
            },
        }
    }
}

impl FromServerFnError for CallError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let refused = |code: &str| Self::Refused {
            code: code.to_owned(),
            message: value.to_string(),
        };
        match &value {
            // On the server: the request's arguments could not be read.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                refused("invalid_arguments")
            }
            ServerFnErrorErr::Deserialization(_) if cfg!(feature = "ssr") => {
                refused("invalid_arguments")
            }
            ServerFnErrorErr::ServerError(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::Registration(_)
                if cfg!(feature = "ssr") =>
            {
                refused("internal")
            }
            // In the browser: the call or its answer went wrong on the way.
            _ => Self::Transport(value.to_string()),
        }
    }
}

/// The latest messages (oldest first), or with `before`, the page of
/// messages just older than that id. `limit` defaults to
/// [`shared::DEFAULT_PAGE_SIZE`] and is capped at [`shared::MAX_PAGE_SIZE`].
#[server(input = Json)]
pub async fn get_messages(
    before: Option<MessageId>,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>, CallError> {
    use crate::service::Page;
    let service = crate::service::use_chat_service()?;
    let page = before.map_or(Page::Latest, Page::Before);
    service.history(page, page_size(limit)).await
}

/// The first `limit` messages newer than `after`, oldest first: how a tab
/// that does not hold the event stream itself catches up.
#[server(input = Json)]
pub async fn get_messages_after(
    after: MessageId,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>, CallError> {
    use crate::service::Page;
    let service = crate::service::use_chat_service()?;
    service.history(Page::After(after), page_size(limit)).await
}

/// How many messages the chat holds (not only those the page loaded), as
/// of an id: the page adds what it receives after it.
#[server(input = Json)]
pub async fn get_message_count() -> Result<MessageCount, CallError> {
    let service = crate::service::use_chat_service()?;
    Ok(service.count())
}

/// Stores a message and broadcasts it to every open stream. Sending the same
/// `client_id` again returns the stored message and changes nothing.
///
/// Every server function takes JSON: a JSON body is UTF-8 or refused (a
/// form body would be decoded lossily), and a browser sends it cross-site
/// only after a preflight (the site guard refuses such requests anyway).
#[server(input = Json)]
pub async fn send_message(
    username: String,
    text: String,
    client_id: Uuid,
) -> Result<ChatMessage, CallError> {
    let service = crate::service::use_chat_service()?;
    service
        .send(shared::SendMessage {
            username,
            text,
            client_id: Some(client_id),
        })
        .await
}

/// Who is signed in on this browser and whether they may send: read while
/// the page renders, so the header and the composer are right at once.
/// Signing up, in and out go through the JSON API (`/api/accounts`,
/// `/api/session`), which sets and removes the session cookie.
#[server(input = Json)]
pub async fn get_viewer() -> Result<Viewer, CallError> {
    let service = crate::service::use_chat_service()?;
    service.viewer().await
}

/// The page's calls to the JSON accounts API. Each answers the account's
/// name as the server spelled it, or the API's error as a [`CallError`].
#[cfg(feature = "hydrate")]
pub mod accounts {
    use gloo_net::http::{Request, RequestBuilder, Response};
    use shared::{
        ErrorBody,
        account::{Credentials, SignedIn},
    };

    use super::CallError;

    /// Signs up (`POST /api/accounts`) and signs in as the new account.
    pub async fn sign_up(credentials: &Credentials) -> Result<String, CallError> {
        signed_in(with_credentials(Request::post("/api/accounts"), credentials).await?).await
    }

    /// Signs in (`POST /api/session`).
    pub async fn sign_in(credentials: &Credentials) -> Result<String, CallError> {
        signed_in(with_credentials(Request::post("/api/session"), credentials).await?).await
    }

    /// Signs out (`DELETE /api/session`): the server ends the session and
    /// removes the cookie.
    pub async fn sign_out() -> Result<(), CallError> {
        let response = Request::delete("/api/session")
            .send()
            .await
            .map_err(transport)?;
        if response.ok() {
            Ok(())
        } else {
            Err(refusal(response).await)
        }
    }

    async fn with_credentials(
        request: RequestBuilder,
        credentials: &Credentials,
    ) -> Result<Response, CallError> {
        request
            .json(credentials)
            .map_err(transport)?
            .send()
            .await
            .map_err(transport)
    }

    async fn signed_in(response: Response) -> Result<String, CallError> {
        if !response.ok() {
            return Err(refusal(response).await);
        }
        let body: SignedIn = response.json().await.map_err(transport)?;
        Ok(body.username)
    }

    /// The API's error body, or what went wrong reading it.
    async fn refusal(response: Response) -> CallError {
        match response.json::<ErrorBody>().await {
            Ok(body) => body.into(),
            Err(err) => CallError::Transport(format!("status {}: {err}", response.status())),
        }
    }

    fn transport(err: gloo_net::Error) -> CallError {
        CallError::Transport(err.to_string())
    }
}

/// Applies the default and the cap to a requested page size.
pub fn page_size(limit: Option<u32>) -> u32 {
    limit
        .unwrap_or(shared::DEFAULT_PAGE_SIZE)
        .clamp(1, shared::MAX_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use shared::{Field, Rule};

    use super::*;

    #[test]
    fn call_errors_travel_as_the_api_error_body() {
        let invalid = CallError::Invalid(ValidationError {
            field: Field::Text,
            rule: Rule::TooLong,
        });
        let json = serde_json::to_value(&invalid).expect("serializes");
        assert_eq!(json["error"]["code"], "validation");
        assert_eq!(json["error"]["field"], "text");
        assert_eq!(json["error"]["rule"], "too_long");
        assert_eq!(
            serde_json::from_value::<CallError>(json).expect("reads"),
            invalid
        );

        let refused = CallError::Refused {
            code: "cross_site".into(),
            message: "no".into(),
        };
        let json = serde_json::to_value(&refused).expect("serializes");
        assert_eq!(json["error"]["code"], "cross_site");
        assert_eq!(
            serde_json::from_value::<CallError>(json).expect("reads"),
            refused
        );
    }
}
