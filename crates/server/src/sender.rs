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
use shared::{
    ChatMessage, MessageCount, SendMessage,
    account::Viewer,
    presence::PresenceEvent,
    room::{Directory, ReadPosition, Room},
};

use crate::{
    AppState,
    accounts::{Token, session_token},
    chat::Author,
    client::ClientIp,
    error::ApiError,
    presence::Person,
    rooms,
    store::Account,
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

/// Who `author` is in a room's presence and typing: the person (an
/// account, or a guest's `browser`, so that one with several tabs counts
/// once) and the name shown (`None`: a guest who gave none, or any guest
/// where guests may not send: nobody writes a name into the page there).
/// A guest's name follows the username rules and may not be an account's.
pub async fn person(
    state: &AppState,
    author: Author,
    browser: uuid::Uuid,
    name: Option<&str>,
) -> Result<(Person, Option<String>), ApiError> {
    match author {
        Author::Account { name } => Ok((format!("account:{name}"), Some(name))),
        Author::Guest if !state.chat.guests_may_send() => Ok((format!("guest:{browser}"), None)),
        Author::Guest => {
            let name = match name.map(str::trim).filter(|name| !name.is_empty()) {
                Some(name) => {
                    let name = shared::parse_username(name)?;
                    state.accounts.check_guest_name(&name).await?;
                    Some(name)
                }
                None => None,
            };
            Ok((format!("guest:{browser}"), name))
        }
    }
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

impl RequestChat {
    /// The account this request is signed in as, if any.
    async fn account(&self) -> Result<Option<Account>, ApiError> {
        match &self.session {
            Some(token) => Ok(self.state.accounts.signed_in(token).await?),
            None => Ok(None),
        }
    }
}

impl ChatService for RequestChat {
    fn history<'a>(
        &'a self,
        room: &'a str,
        page: Page,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, CallError>> {
        async move {
            let room = rooms::find(&self.state, room).await?;
            Ok(self
                .state
                .chat
                .page(&room, page, limit)
                .await
                .map_err(ApiError::from)?)
        }
        .boxed()
    }

    fn count<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<MessageCount, CallError>> {
        async move {
            let room = rooms::find(&self.state, room).await?;
            Ok(self.state.chat.count(&room))
        }
        .boxed()
    }

    fn send<'a>(
        &'a self,
        room: &'a str,
        request: SendMessage,
    ) -> BoxFuture<'a, Result<ChatMessage, CallError>> {
        async move {
            let room = rooms::find(&self.state, room).await?;
            let author = authorize(&self.state, self.session.as_ref(), self.client).await?;
            let stored = self
                .state
                .chat
                .send(&room, request, author)
                .await
                .map_err(ApiError::from)?;
            Ok(stored.into_message())
        }
        .boxed()
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Directory, CallError>> {
        async move {
            let account = self.account().await?;
            Ok(rooms::directory(&self.state, account.as_ref()).await?)
        }
        .boxed()
    }

    fn presence<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<PresenceEvent, CallError>> {
        async move {
            let room = rooms::find(&self.state, room).await?;
            Ok(self.state.presence.people(&room.name))
        }
        .boxed()
    }

    fn create_room<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Room, CallError>> {
        async move {
            let account = self.account().await?;
            Ok(rooms::create(&self.state, account.as_ref(), self.client, name).await?)
        }
        .boxed()
    }

    fn mark_read<'a>(
        &'a self,
        room: &'a str,
        position: ReadPosition,
    ) -> BoxFuture<'a, Result<(), CallError>> {
        async move {
            let account = self.account().await?;
            Ok(rooms::mark_read(&self.state, account.as_ref(), room, position).await?)
        }
        .boxed()
    }

    fn viewer(&self) -> BoxFuture<'_, Result<Viewer, CallError>> {
        async move {
            let account = self.account().await?;
            Ok(Viewer {
                account: account.map(|account| account.name),
                guests_may_send: self.state.chat.guests_may_send(),
            })
        }
        .boxed()
    }
}
