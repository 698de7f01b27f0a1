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
//! the committed log (see [`crate::fanout`]).

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
mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use shared::{ChatMessage, MessageId, NewMessage};
use uuid::Uuid;

pub use self::{
    accounts::Account,
    postgres::{Heard, Listener},
};
use crate::dbfile::{ClaimError, FileLost};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
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
    pub message: NewMessage,
    /// Sent by a guest (under a name of their choosing), not an account.
    pub guest: bool,
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

/// The columns of a stored message, as both backends read them.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    client_id: Uuid,
    username: String,
    text: String,
    created_at: DateTime<Utc>,
    guest: bool,
}

impl From<Row> for ChatMessage {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            client_id: row.client_id,
            username: row.username,
            text: row.text,
            timestamp: row.created_at,
            guest: row.guest,
        }
    }
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
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(
                sqlite::SqliteStore::open(url, durability).await?,
            ))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres(
                postgres::PgStore::open(url, durability).await?,
            ))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
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

    /// A connection held for good by this server's single writer.
    pub async fn writer(&self) -> Result<Writer, StoreError> {
        Ok(match self {
            Self::Sqlite(store) => Writer::Sqlite(store.writer().await?),
            Self::Postgres(store) => Writer::Postgres(store.writer().await?),
        })
    }

    /// The newest `limit` messages, oldest first.
    pub async fn latest(&self, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        self.page(None, limit).await
    }

    /// The `limit` messages just older than `before`, oldest first.
    pub async fn before(
        &self,
        before: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.page(Some(before), limit).await
    }

    async fn page(
        &self,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let before = before.unwrap_or(MessageId::MAX);
        let rows = match self {
            Self::Sqlite(store) => store.before(before, limit).await?,
            Self::Postgres(store) => store.before(before, limit).await?,
        };
        Ok(rows.into_iter().rev().map(ChatMessage::from).collect())
    }

    /// Up to `limit` messages newer than `after`, oldest first: what a
    /// resuming stream replays, and what the fan-out publishes.
    pub async fn after(
        &self,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows = match self {
            Self::Sqlite(store) => store.after(after, limit).await?,
            Self::Postgres(store) => store.after(after, limit).await?,
        };
        Ok(rows.into_iter().map(ChatMessage::from).collect())
    }

    /// How many messages have ids up to `id`.
    pub async fn count_through(&self, id: MessageId) -> Result<u64, StoreError> {
        const COUNT: &str = "SELECT count(*) FROM messages WHERE id <= $1";
        let count: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(COUNT).bind(id).fetch_one(pool).await?
        });
        Ok(count.try_into().unwrap_or_default())
    }

    /// The id of the newest stored message, if any.
    pub async fn newest_id(&self) -> Result<Option<MessageId>, StoreError> {
        Ok(match self {
            Self::Sqlite(store) => store.newest_id().await?,
            Self::Postgres(store) => store.newest_id().await?,
        })
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
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres(store) => Ok(Some(store.listen().await?)),
        }
    }

    /// Closes every connection (SQLite: checkpointing the WAL).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
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
}
