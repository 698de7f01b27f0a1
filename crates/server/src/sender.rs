//! Who sends a message and whether they may send now: one rule for the
//! JSON API and the page's server function alike.
//!
//! A request with a session cookie of a signed-in account sends as that
//! account, counted against the account's send limit; any other request
//! sends as a guest, counted against its address (which `rate::limit_sends`
//! already did before reading the body, unless the request carried a
//! session cookie that turned out to be nobody's).

use std::{net::IpAddr, sync::Arc};

use app::{
    error::CallError,
    service::{ChatService, Page},
};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use futures::{FutureExt, future::BoxFuture};
use shared::{ChatMessage, MessageCount, SendMessage, account::Viewer};

use crate::{
    AppState,
    accounts::{Token, session_token},
    chat::{Author, ChatError},
    error::ApiError,
    extract::ClientIp,
};

/// The author of a send with this session (if any) from `client`, once
/// the send limit allows it.
pub async fn authorize(
    state: &AppState,
    session: Option<&Token>,
    client: IpAddr,
) -> Result<Author, ApiError> {
    let account = match session {
        Some(token) => state.accounts.signed_in(token).await?,
        None => None,
    };
    let allowed = match &account {
        Some(account) => state.send_limiter.check_account(account.id),
        // Without a cookie, the middleware counted it against the address.
        None if session.is_some() => state.send_limiter.check(client),
        None => Ok(()),
    };
    allowed.map_err(ApiError::RateLimited)?;
    Ok(match account {
        Some(account) => Author::Account { name: account.name },
        None => Author::Guest,
    })
}

/// The chat as one request's server functions see it: sends go out as the
/// request's author.
pub struct RequestChat {
    state: AppState,
    session: Option<Token>,
    client: IpAddr,
}

impl RequestChat {
    /// For the request whose head is `parts` (none while routes are listed).
    pub fn new(state: AppState, parts: Option<&Parts>) -> Arc<Self> {
        let session =
            parts.and_then(|parts| session_token(&CookieJar::from_headers(&parts.headers)));
        let client = parts.map_or(IpAddr::from([0, 0, 0, 0]), |parts| {
            ClientIp::from_extensions(&parts.extensions).0
        });
        Arc::new(Self {
            state,
            session,
            client,
        })
    }
}

impl ChatService for RequestChat {
    fn history(
        &self,
        page: Page,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, CallError>> {
        async move {
            self.state.chat.page(page, limit).await.map_err(|err| {
                tracing::error!(error = %err, "reading history failed");
                CallError::Unavailable
            })
        }
        .boxed()
    }

    fn count(&self) -> MessageCount {
        self.state.chat.count()
    }

    fn send(&self, request: SendMessage) -> BoxFuture<'_, Result<ChatMessage, CallError>> {
        async move {
            let author = match authorize(&self.state, self.session.as_ref(), self.client).await {
                Ok(author) => author,
                Err(ApiError::RateLimited(wait)) => {
                    return Err(CallError::RateLimited {
                        retry_after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
                    });
                }
                Err(err) => {
                    tracing::error!(error = %err, "checking the sender failed");
                    return Err(CallError::Unavailable);
                }
            };
            match self.state.chat.send(request, author).await {
                Ok(stored) => Ok(stored.into_message()),
                Err(ChatError::Invalid(invalid)) => Err(CallError::Invalid(invalid)),
                Err(err @ ChatError::GuestsOff) => Err(CallError::Refused {
                    code: "unauthorized".into(),
                    message: err.to_string(),
                }),
                Err(ChatError::Storage) => Err(CallError::Unavailable),
            }
        }
        .boxed()
    }

    fn viewer(&self) -> BoxFuture<'_, Result<Viewer, CallError>> {
        async move {
            let account = match &self.session {
                Some(token) => self.state.accounts.signed_in(token).await.map_err(|err| {
                    tracing::error!(error = %err, "reading the session failed");
                    CallError::Unavailable
                })?,
                None => None,
            };
            Ok(Viewer {
                account: account.map(|account| account.name),
                guests_may_send: self.state.chat.guests_may_send(),
            })
        }
        .boxed()
    }
}
