//! The message log: durable, ordered storage of messages.
//!
//! Two backends behind one handle, chosen by the database URL:
//! - [`sqlite`] (`sqlite://…`, the default): one server owns the file;
//!   its single writer is the log's only writer.
//! - [`postgres`] (`postgres://…`): any number of servers share one
//!   database; each appends through its own writer, and ids become visible
//!   in id order whichever server took them (see that module).
//!
//! Either way the log assigns message ids (strictly increasing, never
//! reused) and timestamps, appends drafts idempotently by their client id,
//! and reads pages by id. What a server publishes to its streams comes from
//! the committed log (see [`crate::log::fanout`]).

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite(store) => {
                let $pool = store.pool();
                $body
            }
            Store::Postgres(store) => {
                let $pool = store.pool();
                $body
            }
        }
    };
}

mod accounts;
mod changes;
mod invites;
mod moderation;
mod name_keys;
mod postgres;
mod rooms;
mod sqlite;

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::{ChatMessage, MessageId, NewMessage, message::Quote};
use uuid::Uuid;

pub use self::{
    accounts::Account,
    changes::{Actor, ChangeDraft, Changed, Edit, Entry, Logged, Moderation, Refusal},
    invites::{InviteCreated, InviteRecord, InviteUsed},
    moderation::{BanSet, OpenReport, RoleSet, set_role_at},
    name_keys::NAME_KEYS_VERSION,
    postgres::{Heard, Listener},
    rooms::{
        DirectMade, MemberAdded, Membership, RoomCaps, RoomCounts, RoomCreated, RoomId, RoomRecord,
    },
    sqlite::{Done, SqliteWriter, Work},
};
use crate::log::dbfile::{ClaimError, FileLost};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error(transparent)]
    FileLost(#[from] FileLost),
    #[error("unsupported database URL {0:?}: use sqlite://<path> or postgres://<user>@<host>/<db>")]
    UnsupportedUrl(String),
}

/// A validated message waiting to be stored.
#[derive(Clone, Debug)]
pub struct Draft {
    pub client_id: Uuid,
    /// The room it goes to.
    pub room: RoomRecord,
    pub message: NewMessage,
    /// Sent by a guest (under a name of their choosing), not an account.
    pub guest: bool,
    /// The message of the same room it answers, as it was when checked.
    pub reply: Option<Quote>,
}

/// What storing a [`Draft`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// A new message was stored.
    New(ChatMessage),
    /// A message with this client id was stored before; nothing changed.
    Existing(ChatMessage),
}

impl Stored {
    pub fn message(&self) -> &ChatMessage {
        match self {
            Self::New(message) | Self::Existing(message) => message,
        }
    }

    pub fn into_message(self) -> ChatMessage {
        match self {
            Self::New(message) | Self::Existing(message) => message,
        }
    }
}

/// What one [`Writer::insert_batch`] did.
#[derive(Debug)]
pub struct Batch {
    /// For each draft, in order: what is stored under its client id.
    pub stored: Vec<Stored>,
    /// The newest id in the log just before the batch's new messages: they
    /// directly follow it, in order, with nothing between.
    pub after: MessageId,
}

/// When a commit counts as done, and so when a send is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// The commit is on disk: SQLite `synchronous=FULL` (the WAL is
    /// fsynced at every commit), PostgreSQL `synchronous_commit=on`. An
    /// acknowledged message survives a power loss.
    #[default]
    Full,
    /// SQLite: the commit is in the WAL, written but not yet fsynced
    /// (`synchronous=NORMAL`, SQLite's recommended setting with WAL). An
    /// acknowledged message survives a crash or restart of the server, but
    /// not a power loss or a crash of the operating system; commits stop
    /// waiting for the disk. Messages lost that way had been broadcast, and
    /// their ids are given out again after the restart, so a page that had
    /// received them skips as many new ones until it reloads.
    /// PostgreSQL: `synchronous_commit=off`; a crash of the database
    /// server (not of a chat server) may lose the last moments of commits.
    Normal,
}

/// A statement that reads [`Row`]s (each message with its room's name),
/// followed by `$tail`. Parameters are `$1`, `$2`, … in order, which SQLite
/// reads as numbered parameters too, so each statement is written once for
/// both backends.
macro_rules! select_messages {
    ($tail:literal) => {
        concat!(
            "SELECT m.id, r.name AS room, m.client_id, m.username, m.text, m.created_at, m.guest, \
             m.edited_at, m.deleted, m.removed, m.reactions, ",
            $crate::log::store::quote_columns!(),
            " FROM messages m JOIN rooms r ON r.id = m.room_id \
             LEFT JOIN messages q ON q.id = m.reply_to ",
            $tail
        )
    };
}
pub(crate) use select_messages;

/// The columns of what a message (`m`) answers, from `q`, the message its
/// `reply_to` names (joined `LEFT`): see [`Row`].
macro_rules! quote_columns {
    () => {
        "m.reply_to, q.username AS quote_username, q.guest AS quote_guest, \
         substr(q.text, 1, 100) AS quote_text, q.deleted AS quote_deleted"
    };
}
pub(crate) use quote_columns;

/// The columns of a stored message, as both backends read them.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    room: String,
    client_id: Uuid,
    username: String,
    text: String,
    created_at: DateTime<Utc>,
    guest: bool,
    edited_at: Option<DateTime<Utc>>,
    deleted: bool,
    removed: bool,
    /// Its reactions as shown, JSON (see `changes::shown_after`).
    reactions: String,
    reply_to: Option<i64>,
    quote_username: Option<String>,
    quote_guest: Option<bool>,
    quote_text: Option<String>,
    quote_deleted: Option<bool>,
}

impl From<Row> for ChatMessage {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            room: row.room,
            client_id: row.client_id,
            username: row.username,
            html: html(&row.text, row.deleted),
            text: row.text,
            timestamp: row.created_at,
            guest: row.guest,
            edited: row.edited_at,
            deleted: row.deleted,
            removed: row.removed,
            reactions: serde_json::from_str(&row.reactions).unwrap_or_default(),
            reply_to: row.reply_to,
            quote: match (row.reply_to, row.quote_username) {
                (Some(id), Some(username)) => Some(Quote {
                    id,
                    username,
                    guest: row.quote_guest.unwrap_or(true),
                    text: row.quote_text.unwrap_or_default(),
                    deleted: row.quote_deleted.unwrap_or(false),
                }),
                _ => None,
            },
        }
    }
}

/// What the page shows of a message's text (see [`shared::markdown`]),
/// empty when that is the text as typed: every message the store reads or
/// stores gets it here.
pub(crate) fn html(text: &str, deleted: bool) -> String {
    if deleted {
        return String::new();
    }
    shared::markdown::render_if_marked(text).unwrap_or_default()
}

/// A handle to the message log; cheap to clone.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// One server's writer: appends batches on a connection of its own.
#[derive(Debug)]
pub enum Writer {
    Sqlite(sqlite::SqliteWriter),
    Postgres(postgres::PgWriter),
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date:
    /// `sqlite://data/chat.db` (the file and its folder are created if
    /// needed) or `postgres://user@host:port/db`.
    pub async fn open(url: &str, durability: Durability) -> Result<Self, StoreError> {
        let store = if url.starts_with("sqlite:") {
            Self::Sqlite(sqlite::SqliteStore::open(url, durability).await?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::Postgres(postgres::PgStore::open(url, durability).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        name_keys::bring_up_to_date(&store).await?;
        Ok(store)
    }

    /// Whether this server is the log's only writer (SQLite, which the
    /// server locks for itself): then what its writer commits is, in
    /// order, everything committed.
    pub fn single_writer(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }

    /// Stores every draft in one transaction; see [`Writer::insert_batch`].
    /// (The server stores through its one [`Writer`]; this is for tools.)
    pub async fn insert_batch(&self, drafts: &[Draft]) -> Result<Vec<Stored>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.writer().await?.insert_batch(drafts).await?.stored)
    }

    /// Applies one change; see [`Writer::change`]. (The server changes
    /// through its one [`Writer`]; this is for tools.)
    pub async fn change(&self, draft: &ChangeDraft) -> Result<Changed, StoreError> {
        self.writer().await?.change(draft).await
    }

    /// A connection held for good by this server's single writer.
    pub async fn writer(&self) -> Result<Writer, StoreError> {
        Ok(match self {
            Self::Sqlite(store) => Writer::Sqlite(store.writer().await?),
            Self::Postgres(store) => Writer::Postgres(store.writer().await?),
        })
    }

    /// The newest `limit` messages of every room, oldest first.
    pub async fn newest(&self, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        const SELECT: &str = select_messages!("ORDER BY m.id DESC LIMIT $1");
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(i64::from(limit)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().rev().map(ChatMessage::from).collect())
    }

    /// The newest `limit` messages of `room`, oldest first.
    pub async fn latest(&self, room: RoomId, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        self.before(room, MessageId::MAX, limit).await
    }

    /// The `limit` messages of `room` just older than `before`, oldest
    /// first.
    pub async fn before(
        &self,
        room: RoomId,
        before: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        const SELECT: &str =
            select_messages!("WHERE m.room_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3");
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(room).bind(before).bind(i64::from(limit)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().rev().map(ChatMessage::from).collect())
    }

    /// Up to `limit` messages of `room` newer than `after`, oldest first.
    pub async fn after_in(
        &self,
        room: RoomId,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        const SELECT: &str =
            select_messages!("WHERE m.room_id = $1 AND m.id > $2 ORDER BY m.id ASC LIMIT $3");
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(room).bind(after).bind(i64::from(limit)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(ChatMessage::from).collect())
    }

    /// Up to `limit` entries of the log (messages and changes, of every
    /// room) newer than `after`, oldest first, each with its message as it
    /// now is: what a resuming stream replays, and what the fan-out
    /// publishes.
    pub async fn after(&self, after: MessageId, limit: u32) -> Result<Vec<Entry>, StoreError> {
        const SELECT: &str = changes::select_entries!("WHERE id > $1", "ASC", "$2");
        let rows: Vec<changes::EntryRow> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(after).bind(i64::from(limit)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Entry::from).collect())
    }

    /// The newest `limit` entries of the log, oldest first.
    pub async fn newest_entries(&self, limit: u32) -> Result<Vec<Entry>, StoreError> {
        const SELECT: &str = changes::select_entries!("", "DESC", "$1");
        let rows: Vec<changes::EntryRow> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(i64::from(limit)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().rev().map(Entry::from).collect())
    }

    /// The message `id` as it now is, if there is one.
    pub async fn message(&self, id: MessageId) -> Result<Option<ChatMessage>, StoreError> {
        const SELECT: &str = select_messages!("WHERE m.id = $1");
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(ChatMessage::from))
    }

    /// The texts that edits of message `id` replaced, oldest first (none
    /// once it is deleted).
    pub async fn versions(&self, id: MessageId) -> Result<Vec<String>, StoreError> {
        const SELECT: &str =
            "SELECT text FROM message_versions WHERE message_id = $1 ORDER BY change_id";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(SELECT).bind(id).fetch_all(pool).await?
        }))
    }

    /// How many messages each room holds with ids up to `id` (rooms with
    /// none are left out).
    pub async fn counts_through(&self, id: MessageId) -> Result<RoomCounts, StoreError> {
        const COUNT: &str = "SELECT r.name, count(*) FROM messages m JOIN rooms r ON r.id = m.room_id \
                             WHERE m.id <= $1 GROUP BY r.name";
        let counts: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(COUNT).bind(id).fetch_all(pool).await?
        });
        Ok(counts
            .into_iter()
            .map(|(room, count)| (room, count.try_into().unwrap_or_default()))
            .collect())
    }

    /// The id of the log's newest entry (a message or a change), if any.
    pub async fn newest_id(&self) -> Result<Option<MessageId>, StoreError> {
        const NEWEST: &str = changes::NEWEST_ID;
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(NEWEST).fetch_one(pool).await?
        }))
    }

    /// Whether the database answers (for SQLite: from the file the server
    /// opened).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.ping().await,
            Self::Postgres(store) => Ok(store.ping().await?),
        }
    }

    /// A subscription to "something was committed" from every server, for
    /// a log with several writers (`None` for SQLite).
    pub async fn listen(&self) -> Result<Option<Listener>, StoreError> {
        self.listen_to(postgres::CHANNEL).await
    }

    /// A subscription to what every server says on `channel` (see
    /// [`Store::notify`]); `None` where this server is the only one.
    pub async fn listen_to(&self, channel: &str) -> Result<Option<Listener>, StoreError> {
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres(store) => Ok(Some(store.listen(channel).await?)),
        }
    }

    /// Tells every server listening on `channel` (PostgreSQL's `NOTIFY`:
    /// at most 8,000 bytes, and lost if a listener's connection drops);
    /// nothing where this server is the only one.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(_) => Ok(()),
            Self::Postgres(store) => Ok(store.notify(channel, payload).await?),
        }
    }

    /// Closes every connection (SQLite: checkpointing the WAL).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }

    /// Waits, at most `limit`, until no other handle holds the database
    /// (SQLite: the file, locked while any handle lives; the writer thread
    /// and the background tasks let theirs go as they end), so that a
    /// server started next in this process finds the file free.
    pub async fn released(&self, limit: Duration) {
        if let Self::Sqlite(store) = self {
            let waited = tokio::time::timeout(limit, async {
                while !store.sole_holder() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
            if waited.is_err() {
                tracing::warn!("the database file is still held after shutdown");
            }
        }
    }
}

impl Writer {
    /// Stores every draft in one transaction, in order, and reports for each
    /// whether it was new or already stored under its client id (a client
    /// id twice in one batch is new the first time). Either all drafts are
    /// committed or none is; new messages get increasing ids in the order
    /// of `drafts`. `drafts` must not be empty.
    pub async fn insert_batch(&mut self, drafts: &[Draft]) -> Result<Batch, StoreError> {
        match self {
            Self::Sqlite(writer) => writer.insert_batch(drafts).await,
            Self::Postgres(writer) => Ok(writer.insert_batch(drafts).await?),
        }
    }

    /// Applies one change, in a transaction of its own, if its client id
    /// changed nothing before and the message may take it; see
    /// [`Changed`].
    pub async fn change(&mut self, draft: &ChangeDraft) -> Result<Changed, StoreError> {
        match self {
            Self::Sqlite(writer) => writer.change(draft).await,
            Self::Postgres(writer) => Ok(writer.change(draft).await?),
        }
    }
}
