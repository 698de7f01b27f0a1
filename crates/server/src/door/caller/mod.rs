//! The caller door: who makes a request (the session's account, else a
//! guest), from which client address, and what they may do there.
//!
//! Every use case that the JSON API and the page's server functions offer
//! is a method of [`Caller`], which checks its own rules once: the room
//! exists, the send limit (per account, or per address for a guest), a
//! guest's name is nobody's account, `--guests off`, only accounts create
//! rooms. The handlers in [`crate::edge::api`] take a `Caller` as an extractor
//! and the server functions reach one through [`ChatService`]; both only
//! translate to and from it. (Signing up, in and out is the accounts'
//! door, [`crate::door::accounts`], behind its routes in `edge/accounts.rs`.)

use std::{convert::Infallible, net::IpAddr, sync::Arc};

use app::{error::CallError, service::ChatService};
use axum::{extract::FromRequestParts, http::request::Parts};
use axum_extra::extract::CookieJar;
use bytes::Bytes;
use futures::{FutureExt, future::BoxFuture};
use shared::{
    ChatMessage, DeleteMessage, EditMessage, MessageCount, MessageId, NewMessage, React,
    SendMessage,
    account::{Role, Viewer},
    history::{LogPage, Page},
    message::Quote,
    presence::{Heartbeat, PresenceEvent, Typing},
    room::{Directory, ReadPosition, Room, RoomKind},
};
use tokio::sync::OnceCell;

mod direct;
mod invites;
mod members;
mod moderation;

use crate::{
    AppState,
    door::accounts::{Token, session_token},
    door::presence::{ACCOUNT, Full, Person},
    edge::client::ClientIp,
    edge::error::ApiError,
    log::store::{
        Account, Actor, ChangeDraft, Changed, Edit, Moderation, Refusal, RoomRecord, Stored,
    },
};

/// Who sends something: a message, a heartbeat, typing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Author {
    /// A signed-in account: it sends under the account's name, whatever
    /// the request says.
    Account { name: String },
    /// Anyone else, under the name the request gives, if no account holds
    /// it or one that looks like it.
    Guest,
}

/// What a change did: the message as it now is, and the change's own
/// entry in the log if it made one (none when it changed nothing: applied
/// before under its client id, or already so).
#[derive(Debug)]
pub struct Made {
    pub message: ChatMessage,
    pub entry: Option<MessageId>,
}

/// One request's caller; see the module's documentation.
pub struct Caller {
    state: AppState,
    /// The session the request's cookie names, if it has one.
    session: Option<Token>,
    /// The client's address, as [`crate::edge::client`] decided it.
    client: IpAddr,
    /// The session's account, looked up at most once per request.
    account: OnceCell<Option<Account>>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(state.clone(), Some(parts)))
    }
}

impl Caller {
    /// The caller of the request whose head is `parts` (none while the
    /// server functions' routes are listed: an anonymous caller).
    pub fn of(state: AppState, parts: Option<&Parts>) -> Self {
        let session =
            parts.and_then(|parts| session_token(&CookieJar::from_headers(&parts.headers)));
        let client = parts.map_or(IpAddr::from([0, 0, 0, 0]), |parts| {
            ClientIp::from_extensions(&parts.extensions).0
        });
        Self {
            state,
            session,
            client,
            account: OnceCell::new(),
        }
    }

    /// The account the request is signed in as, if its session is on:
    /// `403 banned` while the account is banned (its sessions stay, so
    /// that its browsers are told so rather than taken for guests).
    async fn account(&self) -> Result<Option<&Account>, ApiError> {
        let account = self.session_account().await?;
        if let Some(ban) = account.and_then(|account| account.ban(chrono::Utc::now())) {
            return Err(ApiError::Banned(ban));
        }
        Ok(account)
    }

    /// The session's account, banned or not.
    async fn session_account(&self) -> Result<Option<&Account>, ApiError> {
        let account = self
            .account
            .get_or_try_init(|| async {
                match &self.session {
                    Some(token) => self.state.accounts.signed_in(token).await,
                    None => Ok(None),
                }
            })
            .await?;
        Ok(account.as_ref())
    }

    /// The author of something sent now (a message, a heartbeat, typing),
    /// once the send limit allows it: a signed-in account's, wherever it
    /// sends from; a guest's was counted against its address before its
    /// body was read ([`crate::edge::rate`]), unless the request carried a
    /// session cookie that turned out to be nobody's.
    async fn author(&self) -> Result<Author, ApiError> {
        let account = self.account().await?;
        let limiter = &self.state.send_limiter;
        let allowed = match account {
            Some(account) => limiter.check_account(account.id),
            None if self.session.is_some() => limiter.check(self.client),
            None => Ok(()),
        };
        allowed.map_err(ApiError::RateLimited)?;
        if account.is_none()
            && let Some(block) = self.state.blocks.against(self.client, None)
        {
            return Err(ApiError::Blocked(block.notice()));
        }
        Ok(match account {
            Some(account) => Author::Account {
                name: account.name.clone(),
            },
            None => Author::Guest,
        })
    }

    /// Whether a guest may write as `name`: no account holds it (nor one
    /// that looks like it), and no moderator blocked it (with its
    /// look-alikes) or this guest's address.
    async fn guest_named(&self, name: &str) -> Result<(), ApiError> {
        if let Some(block) = self.state.blocks.against(self.client, Some(name)) {
            return Err(ApiError::Blocked(block.notice()));
        }
        Ok(self.state.accounts.check_guest_name(name).await?)
    }

    /// Counts one write of `account`'s (a room made, a position stored, a
    /// moderator's action) against its send limit.
    fn count_write(&self, account: &Account) -> Result<(), ApiError> {
        self.state
            .send_limiter
            .check_account(account.id)
            .map_err(ApiError::RateLimited)
    }

    /// Who writes, for what counts per writer (slow mode, one open report
    /// each): an account by its id, anyone else by its client address.
    fn writer_key(&self, account: Option<&Account>) -> String {
        match account {
            Some(account) => format!("account:{}", account.id),
            None => format!("address:{}", crate::edge::client::client_key(self.client)),
        }
    }

    /// `room` as the room list shows it now, with its count and settings.
    fn listed(&self, room: RoomRecord) -> Room {
        Room {
            count: self.state.chat.count(&room),
            settings: self.state.rooms.settings(room.id),
            people: self.state.rooms.people(&room),
            kind: room.kind,
            name: room.name,
        }
    }

    /// Who `author` is in a room's presence and typing: the person (an
    /// account, or a guest's `browser`, so that one with several tabs
    /// counts once) and the name shown (`None`: a guest who gave none, or
    /// any guest where guests may not send: nobody writes a name into the
    /// page there). A guest's name follows the username rules and may not
    /// be an account's.
    async fn person(
        &self,
        author: Author,
        browser: uuid::Uuid,
        name: Option<&str>,
    ) -> Result<(Person, Option<String>), ApiError> {
        match author {
            Author::Account { name } => Ok((format!("{ACCOUNT}{name}"), Some(name))),
            Author::Guest if !self.state.guests_may_send => Ok((format!("guest:{browser}"), None)),
            Author::Guest => {
                let name = match name.map(str::trim).filter(|name| !name.is_empty()) {
                    Some(name) => {
                        let name = shared::parse_username(name)?;
                        self.guest_named(&name).await?;
                        Some(name)
                    }
                    None => None,
                };
                Ok((format!("guest:{browser}"), name))
            }
        }
    }

    /// The room `name` names, if the caller may see it: every use case
    /// that names a room comes here. A private room is its members' alone;
    /// to anyone else it answers [`ApiError::NoSuchRoom`], as a room that
    /// was never made does, so that its name tells nothing.
    pub(crate) async fn room(&self, name: &str) -> Result<RoomRecord, ApiError> {
        let room = self.state.rooms.find(name).await?;
        match room {
            Some(room) if self.sees(&room).await? => Ok(room),
            _ => Err(ApiError::NoSuchRoom(name.to_owned())),
        }
    }

    /// Whether the caller may see `room` (see [`Self::room`]).
    async fn sees(&self, room: &RoomRecord) -> Result<bool, ApiError> {
        if room.kind.is_public() {
            return Ok(true);
        }
        let viewer = self.session_account().await?.map(|account| account.id);
        Ok(self.state.rooms.sees(room, viewer))
    }

    /// Message `id`, if it is in a room the caller may see; else
    /// [`ApiError::NoSuchMessage`], as for an id that was never used.
    async fn seen_message(&self, id: MessageId) -> Result<ChatMessage, ApiError> {
        let message = self.state.chat.message(id).await?;
        match message {
            Some(message) if self.sees_room_named(&message.room).await? => Ok(message),
            _ => Err(ApiError::NoSuchMessage(id)),
        }
    }

    /// Whether the caller may see the room called `name` (as stored).
    async fn sees_room_named(&self, name: &str) -> Result<bool, ApiError> {
        Ok(match self.state.rooms.find(name).await? {
            Some(room) => self.sees(&room).await?,
            None => false,
        })
    }

    /// Up to `limit` messages of `room`'s `page`, oldest first.
    pub async fn history(
        &self,
        room: &str,
        page: Page,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, ApiError> {
        let room = self.room(room).await?;
        Ok(self.state.chat.page(&room, page, limit).await?)
    }

    /// Up to `limit` entries of the log after `after`, those of `room`
    /// kept (see [`LogPage`]).
    pub async fn entries_after(
        &self,
        room: &str,
        after: MessageId,
        limit: u32,
    ) -> Result<LogPage, ApiError> {
        let room = self.room(room).await?;
        let page = self.state.chat.stored_after(after, limit).await?;
        let more = page.len() == limit as usize;
        let through = page.last().map_or(after, |entry| entry.id);
        let entries = page
            .into_iter()
            .filter(|entry| entry.message.room == room.name)
            .collect();
        Ok(LogPage {
            entries,
            through,
            more,
        })
    }

    /// `room`'s latest page of the default size as JSON, from memory when
    /// it holds it (see [`crate::log::recent`]).
    pub async fn latest_json(&self, room: &str) -> Result<Bytes, ApiError> {
        let room = self.room(room).await?;
        Ok(self.state.chat.latest_json(&room).await?)
    }

    /// How many messages `room` holds.
    pub async fn count(&self, room: &str) -> Result<MessageCount, ApiError> {
        let room = self.room(room).await?;
        Ok(self.state.chat.count(&room))
    }

    /// Validates, stores and broadcasts a message in `room` as the
    /// caller: the message as stored, new or (its `client_id` sent before)
    /// existing.
    pub async fn send(&self, room: &str, request: SendMessage) -> Result<Stored, ApiError> {
        let room = self.room(room).await?;
        let (message, guest) = match self.author().await? {
            Author::Account { name } => (NewMessage::parse(&name, &request.text)?, false),
            Author::Guest if !self.state.guests_may_send => return Err(ApiError::SignInToSend),
            Author::Guest => {
                let message = NewMessage::parse(&request.username, &request.text)?;
                self.guest_named(message.username()).await?;
                (message, true)
            }
        };
        self.may_write(&room, guest, true).await?;
        let reply = match request.reply_to {
            Some(id) => Some(self.answered(&room, id).await?),
            None => None,
        };
        let stored = self
            .state
            .chat
            .send(&room, request.client_id, message, guest, reply)
            .await?;
        if !guest {
            self.not_banned_meanwhile(&stored).await?;
        }
        Ok(stored)
    }

    /// A signed-in author's message is stored; was its author banned
    /// while it was under way? Its ban's removals may have looked for its
    /// messages before this one committed, so it looks at the ban again,
    /// after the commit: either the removals saw this message, or this
    /// sees the ban. A message the ban takes with it is removed as the
    /// ban's moderator removes it, and the sender is told of the ban.
    async fn not_banned_meanwhile(&self, stored: &Stored) -> Result<(), ApiError> {
        let Some(token) = &self.session else {
            return Ok(());
        };
        let Some(account) = self.state.accounts.signed_in(token).await? else {
            return Ok(());
        };
        let now = chrono::Utc::now();
        let Some(ban) = account.ban(now) else {
            return Ok(());
        };
        let message = stored.message();
        if let Some(moderator) = account.ban_takes(message.timestamp, now) {
            let moderation = Some(Moderation {
                reason: ban.reason.clone(),
                keep_text: self.state.audit_keeps_text,
            });
            // Straight to the log: the door's own checks would stop at the
            // sender's ban.
            let draft = ChangeDraft {
                client_id: uuid::Uuid::now_v7(),
                message: message.id,
                room: None,
                by: Actor::Account(moderator.to_owned()),
                edit: Edit::Delete,
                moderation,
            };
            self.state.chat.change(draft).await?;
        }
        Err(ApiError::Banned(ban))
    }

    /// Whether the caller (a `guest` or not) may write in `room` as its
    /// moderators set it: a locked or archived room only moderators
    /// write in (`403 room_locked`), a room closed to guests no guest
    /// (`401`), and in slow mode (with `pace`, for a new message) each
    /// writer at most once per its seconds (`429 slow_mode`); moderators
    /// are exempt.
    async fn may_write(&self, room: &RoomRecord, guest: bool, pace: bool) -> Result<(), ApiError> {
        let settings = self.state.rooms.settings(room.id);
        if settings.is_open() {
            return Ok(());
        }
        let account = self.account().await?;
        if account.is_some_and(|account| account.role.moderates()) {
            return Ok(());
        }
        if settings.read_only() {
            return Err(ApiError::RoomLocked);
        }
        if guest && !settings.guests {
            return Err(ApiError::GuestsNotHere);
        }
        if pace && settings.slow_mode_secs > 0 {
            let writer = self.writer_key(account);
            let every = std::time::Duration::from_secs(settings.slow_mode_secs.into());
            self.state
                .rooms
                .pace(room.id, writer, every)
                .map_err(ApiError::SlowMode)?;
        }
        Ok(())
    }

    /// What a reply in `room` to message `id` quotes: a message of the
    /// same room (deleted or not), else `422` with rule `reply_to`.
    async fn answered(&self, room: &RoomRecord, id: MessageId) -> Result<Quote, ApiError> {
        match self.state.chat.message(id).await? {
            Some(message) if message.room == room.name => Ok(Quote::of(&message)),
            _ => Err(ApiError::Invalid(shared::ValidationError {
                field: shared::Field::ReplyTo,
                rule: shared::Rule::ReplyTo,
            })),
        }
    }

    /// Edits message `id` (in `room`, if the request named one) as the
    /// caller: the message as it now is. Only its author, signed in, may;
    /// the new text obeys the rules of a message's text.
    pub async fn edit(
        &self,
        room: Option<&str>,
        id: MessageId,
        request: EditMessage,
    ) -> Result<Made, ApiError> {
        let text = shared::parse_text(&request.text)?;
        let by = self.author_of_changes().await?;
        self.change(room, id, request.client_id, by, Edit::Text(text))
            .await
    }

    /// Deletes message `id` (in `room`, if the request named one) as the
    /// caller: the message as it now is, its text gone. Only its author,
    /// signed in, may; or a moderator, for anyone's message: a removal,
    /// recorded in the audit log with the request's reason.
    pub async fn delete(
        &self,
        room: Option<&str>,
        id: MessageId,
        request: DeleteMessage,
    ) -> Result<Made, ApiError> {
        let reason = shared::parse_reason(request.reason.as_deref())?;
        let by = self.author_of_changes().await?;
        let moderation = match self.account().await? {
            Some(account) if account.role.moderates() => Some(Moderation {
                reason,
                keep_text: self.state.audit_keeps_text,
            }),
            _ => None,
        };
        self.change_as(room, id, request.client_id, by, Edit::Delete, moderation)
            .await
    }

    /// Gives (`on`) or takes back the caller's `reaction` to message `id`
    /// (in `room`, if the request named one): the message as it now is. A
    /// signed-in account reacts as itself; a guest, where guests may send,
    /// as its browser under a name no account holds.
    pub async fn react(
        &self,
        room: Option<&str>,
        id: MessageId,
        reaction: &str,
        on: bool,
        request: React,
    ) -> Result<Made, ApiError> {
        let reaction = shared::parse_reaction(reaction)?;
        let by = match self.author().await? {
            Author::Account { name } => Actor::Account(name),
            Author::Guest if !self.state.guests_may_send => return Err(ApiError::SignInToSend),
            Author::Guest => {
                let browser = request.browser.ok_or(ApiError::MissingField(
                    "a guest's reaction names its browser",
                ))?;
                let name = shared::parse_username(request.name.as_deref().unwrap_or_default())?;
                self.guest_named(&name).await?;
                Actor::Guest { browser, name }
            }
        };
        let edit = Edit::React { reaction, on };
        self.change(room, id, request.client_id, by, edit).await
    }

    /// Who edits or deletes a message: a signed-in account (counted
    /// against its send limit); a guest may not.
    async fn author_of_changes(&self) -> Result<Actor, ApiError> {
        match self.author().await? {
            Author::Account { name } => Ok(Actor::Account(name)),
            Author::Guest => Err(ApiError::SignInToEdit),
        }
    }

    /// The texts that edits of message `id` replaced, oldest first: its
    /// author's to see (signed in), nobody else's.
    pub async fn versions(&self, id: MessageId) -> Result<Vec<String>, ApiError> {
        let account = self.account().await?.ok_or(ApiError::SignInToEdit)?;
        let message = self.seen_message(id).await?;
        if !message.is_by(&account.name) {
            return Err(ApiError::NotAuthor);
        }
        Ok(self.state.chat.versions(id).await?)
    }

    /// A change to message `id` by `by`, whom the caller's send limit
    /// allowed: whether `by` may make it (the author's own message, one
    /// reaction each) the store decides in the same step as it writes.
    async fn change(
        &self,
        room: Option<&str>,
        id: MessageId,
        client_id: Option<uuid::Uuid>,
        by: Actor,
        edit: Edit,
    ) -> Result<Made, ApiError> {
        self.change_as(room, id, client_id, by, edit, None).await
    }

    /// [`Self::change`] by one who moderates (`moderation`), or not.
    async fn change_as(
        &self,
        room: Option<&str>,
        id: MessageId,
        client_id: Option<uuid::Uuid>,
        by: Actor,
        edit: Edit,
        moderation: Option<Moderation>,
    ) -> Result<Made, ApiError> {
        let room = match room {
            Some(name) => Some(self.room(name).await?.id),
            None => None,
        };
        // A message of a room the caller may not see is no message to them
        // (a moderator's removal excepted: moderation reaches every room).
        // One read, only where a room is private.
        if moderation.is_none() && self.state.rooms.any_private() {
            self.seen_message(id).await?;
        }
        // Where a room is locked or closed to guests, whether the caller
        // may change what it holds (one read, only then).
        if self.state.rooms.any_set()
            && let Some(message) = self.state.chat.message(id).await?
            && let Some(in_room) = self.state.rooms.find(&message.room).await?
        {
            let guest = matches!(by, Actor::Guest { .. });
            self.may_write(&in_room, guest, false).await?;
        }
        let draft = ChangeDraft {
            client_id: client_id.unwrap_or_else(uuid::Uuid::now_v7),
            message: id,
            room,
            by,
            edit,
            moderation,
        };
        match self.state.chat.change(draft).await? {
            Changed::New(entry) => Ok(Made {
                message: entry.message,
                entry: Some(entry.id),
            }),
            Changed::Existing(message) => Ok(Made {
                message,
                entry: None,
            }),
            Changed::Refused(Refusal::NoSuchMessage) => Err(ApiError::NoSuchMessage(id)),
            Changed::Refused(Refusal::NotAuthor) => Err(ApiError::NotAuthor),
            Changed::Refused(Refusal::Deleted) => Err(ApiError::MessageDeleted),
            Changed::Refused(Refusal::TooManyReactions) => Err(ApiError::TooManyReactions),
        }
    }

    /// Every room with its count and settings (archived ones for
    /// moderators only), a signed-in caller's read positions, and who
    /// moderates.
    pub async fn rooms(&self) -> Result<Directory, ApiError> {
        let (as_of, counts) = self.state.chat.counts();
        let moderates = self
            .session_account()
            .await?
            .is_some_and(|account| account.role.moderates());
        let viewer = self.session_account().await?.map(|account| account.id);
        let rooms: Vec<Room> = self
            .state
            .rooms
            .list()
            .await?
            .into_iter()
            .filter(|room| self.state.rooms.sees(room, viewer))
            .map(|room| (self.state.rooms.settings(room.id), room))
            .filter(|(settings, _)| moderates || !settings.archived)
            .map(|(settings, room)| Room {
                count: MessageCount {
                    as_of,
                    count: counts.get(&room.name).copied().unwrap_or(0),
                },
                people: self.state.rooms.people(&room),
                kind: room.kind,
                name: room.name,
                settings,
            })
            .collect();
        let read = match viewer {
            Some(account) => {
                let mut read = self.state.chat.read_positions(account).await?;
                // Only rooms it may see now (not those it was taken out of).
                let seen: std::collections::HashSet<&str> =
                    rooms.iter().map(|room| room.name.as_str()).collect();
                read.retain(|name, _| seen.contains(name.as_str()));
                Some(read)
            }
            None => None,
        };
        let staff = self.state.accounts.staff().await?;
        Ok(Directory { rooms, read, staff })
    }

    /// Creates the room `name`, `private` (the caller its owner) or not;
    /// signed-in callers only. Counted against the account's send limit
    /// and the address's rooms of the day.
    pub async fn create_room(&self, name: &str, private: bool) -> Result<Room, ApiError> {
        let account = self.account().await?.ok_or(ApiError::Unauthorized)?;
        self.count_write(account)?;
        let kind = if private {
            RoomKind::Private
        } else {
            RoomKind::Public
        };
        let room = self
            .state
            .rooms
            .create(name, kind, account.id, self.client)
            .await?;
        let room = self.listed(room);
        self.state.presence.room_created(&room);
        Ok(room)
    }

    /// Records how far a signed-in caller has read `room` (a guest keeps
    /// its position in the browser: nothing to store). Counted against the
    /// account's send limit: a write per call (the page makes at most one
    /// a second).
    pub async fn mark_read(&self, room: &str, position: ReadPosition) -> Result<(), ApiError> {
        let room = self.room(room).await?;
        if let Some(account) = self.account().await? {
            self.count_write(account)?;
            self.state
                .chat
                .mark_read(account.id, &room, position)
                .await?;
        }
        Ok(())
    }

    /// Who has a page open on `room` now.
    pub async fn presence(&self, room: &str) -> Result<PresenceEvent, ApiError> {
        let room = self.room(room).await?;
        Ok(self.state.presence.people(&room.name))
    }

    /// A page of the caller's is open on `room` (`beat`): who is there
    /// now, it among them; or, `leaving`, it closed (`None`). Counted
    /// against the send limit like a send, leaving too.
    pub async fn heartbeat(
        &self,
        room: &str,
        beat: Heartbeat,
    ) -> Result<Option<PresenceEvent>, ApiError> {
        let room = self.room(room).await?;
        let author = self.author().await?;
        if beat.leaving {
            self.state.presence.gone(beat.tab);
            return Ok(None);
        }
        let (person, name) = self
            .person(author, beat.browser, beat.name.as_deref())
            .await?;
        self.state
            .presence
            .here(&room.name, beat.tab, &person, name, self.client)
            .map_err(|full| match full {
                Full::Everyone => ApiError::Busy,
                Full::Yours => ApiError::TooManyPages,
            })?;
        Ok(Some(self.state.presence.people(&room.name)))
    }

    /// The caller is typing in `room`, or stopped. A guest must give a
    /// name, and may type only where guests may send.
    pub async fn typing(&self, room: &str, typing: Typing) -> Result<(), ApiError> {
        let room = self.room(room).await?;
        let author = self.author().await?;
        if author == Author::Guest && !self.state.guests_may_send {
            return Err(ApiError::SignInToSend);
        }
        self.may_write(&room, author == Author::Guest, false)
            .await?;
        let (person, name) = self
            .person(author, typing.browser, typing.name.as_deref())
            .await?;
        let name = name.ok_or(ApiError::Invalid(shared::ValidationError {
            field: shared::Field::Username,
            rule: shared::Rule::Required,
        }))?;
        self.state
            .presence
            .typing(&room.name, &person, &name, typing.typing);
        Ok(())
    }

    /// Whose event stream the caller opens: the signed-in account's (its
    /// ban reaches it there, and ends it), or nobody's; `403 banned` while
    /// banned.
    pub async fn stream_account(&self) -> Result<Option<i64>, ApiError> {
        Ok(self.account().await?.map(|account| account.id))
    }

    /// Whether the caller's session names an account (the script-free
    /// pages offer a guest the way to sign in instead).
    pub async fn signed_in(&self) -> bool {
        self.session_account()
            .await
            .is_ok_and(|account| account.is_some())
    }

    /// Who the caller is (the session's account, if any) and whether they
    /// may send.
    pub async fn viewer(&self) -> Result<Viewer, ApiError> {
        let account = self.session_account().await?;
        Ok(Viewer {
            account: account.map(|account| account.name.clone()),
            guests_may_send: self.state.guests_may_send,
            role: account.map_or(Role::Member, |account| account.role),
            banned: account.and_then(|account| account.ban(chrono::Utc::now())),
        })
    }
}

/// The server functions' way in: each call goes through the same door.
impl ChatService for Caller {
    fn history<'a>(
        &'a self,
        room: &'a str,
        page: Page,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, CallError>> {
        async move { Ok(Caller::history(self, room, page, limit).await?) }.boxed()
    }

    fn entries_after<'a>(
        &'a self,
        room: &'a str,
        after: MessageId,
        limit: u32,
    ) -> BoxFuture<'a, Result<LogPage, CallError>> {
        async move { Ok(Caller::entries_after(self, room, after, limit).await?) }.boxed()
    }

    fn count<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<MessageCount, CallError>> {
        async move { Ok(Caller::count(self, room).await?) }.boxed()
    }

    fn send<'a>(
        &'a self,
        room: &'a str,
        request: SendMessage,
    ) -> BoxFuture<'a, Result<ChatMessage, CallError>> {
        async move { Ok(Caller::send(self, room, request).await?.into_message()) }.boxed()
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Directory, CallError>> {
        async move { Ok(Caller::rooms(self).await?) }.boxed()
    }

    fn presence<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<PresenceEvent, CallError>> {
        async move { Ok(Caller::presence(self, room).await?) }.boxed()
    }

    fn mark_read<'a>(
        &'a self,
        room: &'a str,
        position: ReadPosition,
    ) -> BoxFuture<'a, Result<(), CallError>> {
        async move { Ok(Caller::mark_read(self, room, position).await?) }.boxed()
    }

    fn viewer(&self) -> BoxFuture<'_, Result<Viewer, CallError>> {
        async move { Ok(Caller::viewer(self).await?) }.boxed()
    }
}

/// The [`ChatService`] for the request whose head is `parts`, for Leptos
/// context.
pub fn service(state: AppState, parts: Option<&Parts>) -> Arc<Caller> {
    Arc::new(Caller::of(state, parts))
}
