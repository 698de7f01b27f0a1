//! Durable storage of messages in SQLite.
//!
//! The store assigns message ids (SQLite `AUTOINCREMENT`: strictly
//! increasing, never reused) and timestamps. Writes come in batches, one
//! transaction per batch, from the single writer in [`crate::chat`]; reads
//! (history pages, stream catch-up) run on the pool's other connections
//! concurrently, which SQLite's WAL mode allows.

use std::{collections::HashSet, str::FromStr, sync::Arc};

use chrono::{DateTime, SubsecRound, Utc};
use shared::{ChatMessage, MessageId, NewMessage};
use sqlx::{
    QueryBuilder, Sqlite, SqlitePool,
    pool::PoolConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use uuid::Uuid;

use crate::dbfile::{ClaimError, DatabaseFile, FileLost};

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
}

/// A validated message waiting to be stored.
#[derive(Clone, Debug)]
pub struct Draft {
    pub client_id: Uuid,
    pub message: NewMessage,
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

/// When a commit counts as done, and so when a send is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// The commit is on disk (`synchronous=FULL`: the WAL is fsynced at
    /// every commit). An acknowledged message survives a power loss.
    #[default]
    Full,
    /// The commit is in the WAL, written but not yet fsynced
    /// (`synchronous=NORMAL`, SQLite's recommended setting with WAL). An
    /// acknowledged message survives a crash or restart of the server, but
    /// not a power loss or a crash of the operating system; commits stop
    /// waiting for the disk. Messages lost that way had been broadcast, and
    /// their ids are given out again after the restart, so a page that had
    /// received them skips as many new ones until it reloads.
    Normal,
}

impl From<Durability> for SqliteSynchronous {
    fn from(durability: Durability) -> Self {
        match durability {
            Durability::Full => Self::Full,
            Durability::Normal => Self::Normal,
        }
    }
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// The database file, locked to this server and watched (see
    /// [`crate::dbfile`]); `None` for an in-memory database.
    file: Option<Arc<DatabaseFile>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    client_id: Uuid,
    username: String,
    text: String,
    created_at: DateTime<Utc>,
}

impl From<Row> for ChatMessage {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            client_id: row.client_id,
            username: row.username,
            text: row.text,
            timestamp: row.created_at,
        }
    }
}

// The fixed statements, written out once (sqlx caches each prepared statement by its text).
const SELECT_BY_CLIENT_ID: &str =
    "SELECT id, client_id, username, text, created_at FROM messages WHERE client_id = ?";
const SELECT_BEFORE: &str = "SELECT id, client_id, username, text, created_at FROM messages \
     WHERE id < ? ORDER BY id DESC LIMIT ?";
const SELECT_AFTER: &str = "SELECT id, client_id, username, text, created_at FROM messages \
     WHERE id > ? ORDER BY id ASC LIMIT ?";

impl Store {
    /// Opens (creating it and its folder if needed) the database at `url`,
    /// e.g. `sqlite://data/chat.db`, and brings its schema up to date.
    pub async fn open(url: &str, durability: Durability) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(durability.into())
            .foreign_keys(true);
        let filename = options.get_filename();
        let in_memory = filename.as_os_str() == ":memory:" || filename.as_os_str().is_empty();
        // Before SQLite opens it: SQLite would create it readable by all.
        let file = (!in_memory)
            .then(|| DatabaseFile::claim(filename).map(Arc::new))
            .transpose()?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A local file does not go away under an open connection: skip
            // the round trip to the connection's thread that a check costs
            // on every acquire.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool, file })
    }

    /// Stores every draft in one transaction; see [`Writer::insert_batch`].
    /// (The server stores through its one [`Writer`]; this is for tools.)
    pub async fn insert_batch(&self, drafts: &[Draft]) -> Result<Vec<Stored>, StoreError> {
        self.writer().await?.insert_batch(drafts).await
    }

    /// A connection of the pool, held for good by the single writer.
    pub async fn writer(&self) -> Result<Writer, StoreError> {
        Ok(Writer {
            newest: self.newest_id().await?.unwrap_or(0),
            connection: self.pool.acquire().await?,
            file: self.file.clone(),
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
        let rows: Vec<Row> = sqlx::query_as(SELECT_BEFORE)
            .bind(before.unwrap_or(MessageId::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().rev().map(ChatMessage::from).collect())
    }

    /// Up to `limit` messages newer than `after`, oldest first: what a
    /// resuming stream replays.
    pub async fn after(
        &self,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(SELECT_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(ChatMessage::from).collect())
    }

    /// The id of the newest stored message, if any.
    pub async fn newest_id(&self) -> Result<Option<MessageId>, StoreError> {
        let newest = sqlx::query_scalar("SELECT max(id) FROM messages")
            .fetch_one(&self.pool)
            .await?;
        Ok(newest)
    }

    /// Whether the database answers, from the file the server opened.
    pub async fn ping(&self) -> Result<(), StoreError> {
        check_file(self.file.as_deref())?;
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether the database path still names the file the store opened
/// (always, for an in-memory database).
fn check_file(file: Option<&DatabaseFile>) -> Result<(), FileLost> {
    file.map_or(Ok(()), DatabaseFile::check)
}

/// The single writer's own connection: batches go to the same connection
/// (and the same SQLite thread) every time, with no pool in between.
#[derive(Debug)]
pub struct Writer {
    connection: PoolConnection<Sqlite>,
    /// The newest id stored (0 if none): a stored row with a greater id
    /// was inserted by the statement that just ran.
    newest: MessageId,
    /// Checked after every commit (see [`crate::dbfile`]).
    file: Option<Arc<DatabaseFile>>,
}

impl Writer {
    /// Stores every draft in one transaction, in order, and reports for each
    /// whether it was new or already stored under its client id. Either all
    /// drafts are committed or none is.
    ///
    /// All new rows go in with one multi-row `INSERT`, its own transaction: a
    /// statement costs far more than a row, and every row read back costs a
    /// hand-off from SQLite's thread. SQLite inserts the rows in `VALUES`
    /// order, so ids increase in the order of `drafts`, and when every draft
    /// is new the ids follow from the last one; nothing is read back. Drafts
    /// whose client id was stored before are looked up after the commit;
    /// stored messages never change, so what is read is what was there.
    ///
    /// A batch committed to a database file that was removed or replaced
    /// meanwhile fails (it would be gone at the next start), and so does
    /// every later one.
    pub async fn insert_batch(&mut self, drafts: &[Draft]) -> Result<Vec<Stored>, StoreError> {
        // Known lost: write nothing more to it. Otherwise one look after
        // the commit tells whether what was committed will still be there.
        if let Some(file) = self.file.as_deref().filter(|file| file.is_lost()) {
            file.check()?;
        }
        let stored = self.insert(drafts).await?;
        check_file(self.file.as_deref())?;
        for result in &stored {
            if let Stored::New(message) = result {
                self.newest = self.newest.max(message.id);
            }
        }
        Ok(stored)
    }

    async fn insert(&mut self, drafts: &[Draft]) -> Result<Vec<Stored>, sqlx::Error> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        // Milliseconds are all a reader sees, and they survive the round trip exactly.
        let now = Utc::now().trunc_subsecs(3);
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (client_id, username, text, created_at) ",
        );
        insert.push_values(drafts, |mut row, draft| {
            row.push_bind(draft.client_id)
                .push_bind(draft.message.username())
                .push_bind(draft.message.text())
                .push_bind(now);
        });
        insert.push(" ON CONFLICT (client_id) DO NOTHING");
        let done = insert.build().execute(&mut *self.connection).await?;

        let inserted = i64::try_from(done.rows_affected()).expect("at most MAX_BATCH rows");
        if inserted == drafts.len() as i64 {
            // Every draft was new. Their rows got consecutive ids in `VALUES`
            // order, ending at the last inserted rowid: the statement held
            // SQLite's write lock throughout, AUTOINCREMENT takes the next id
            // for each row, and only a conflicting row leaves a gap. So
            // nothing needs to be read back.
            let first_new = done.last_insert_rowid() - inserted + 1;
            let messages = drafts.iter().zip(first_new..).map(|(draft, id)| {
                Stored::New(ChatMessage {
                    id,
                    client_id: draft.client_id,
                    username: draft.message.username().to_owned(),
                    text: draft.message.text().to_owned(),
                    timestamp: now,
                })
            });
            return Ok(messages.collect());
        }
        // Some client ids were stored before, or come twice in this batch: read
        // each back. A row newer than `newest` is this statement's, and new to
        // the first draft that holds its client id.
        let mut stored = Vec::with_capacity(drafts.len());
        let mut seen = HashSet::new();
        for draft in drafts {
            let row: Row = sqlx::query_as(SELECT_BY_CLIENT_ID)
                .bind(draft.client_id)
                .fetch_one(&mut *self.connection)
                .await?;
            let message = ChatMessage::from(row);
            let first_time = seen.insert(draft.client_id);
            stored.push(if first_time && message.id > self.newest {
                Stored::New(message)
            } else {
                Stored::Existing(message)
            });
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    fn draft(client_id: Uuid, text: &str) -> Draft {
        Draft {
            client_id,
            message: NewMessage::parse("ada", text).expect("valid"),
        }
    }

    #[tokio::test]
    async fn ids_increase_in_insertion_order() {
        let (_dir, store) = temp_store().await;
        let drafts: Vec<_> = (0..5)
            .map(|i| draft(Uuid::new_v4(), &format!("m{i}")))
            .collect();
        let stored = store.insert_batch(&drafts).await.expect("stores");
        let ids: Vec<_> = stored.iter().map(|s| s.message().id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let texts: Vec<_> = stored.iter().map(|s| s.message().text.clone()).collect();
        assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
    }

    #[tokio::test]
    async fn repeated_client_id_returns_the_first_message() {
        let (_dir, store) = temp_store().await;
        let id = Uuid::new_v4();
        let first = store
            .insert_batch(&[draft(id, "one")])
            .await
            .expect("stores");
        let again = store
            .insert_batch(&[draft(id, "two"), draft(id, "three")])
            .await
            .expect("stores");
        let Stored::New(original) = &first[0] else {
            panic!("first send should be new");
        };
        assert_eq!(
            again,
            [
                Stored::Existing(original.clone()),
                Stored::Existing(original.clone())
            ]
        );
        assert_eq!(store.latest(10).await.expect("reads").len(), 1);
    }

    #[tokio::test]
    async fn what_a_batch_returns_is_what_a_reader_reads() {
        let (_dir, store) = temp_store().await;
        let old = store
            .insert_batch(&[draft(Uuid::now_v7(), "older")])
            .await
            .expect("stores");
        // One repeated id among new ones: the batch is read back.
        let mixed = store
            .insert_batch(&[
                draft(Uuid::now_v7(), "a"),
                draft(old[0].message().client_id, "again"),
                draft(Uuid::now_v7(), "b"),
            ])
            .await
            .expect("stores");
        // All new: the ids follow from the last one, nothing is read.
        let fresh = store
            .insert_batch(&[draft(Uuid::now_v7(), "c"), draft(Uuid::now_v7(), "d")])
            .await
            .expect("stores");
        assert!(matches!(mixed[1], Stored::Existing(_)));
        let returned: Vec<ChatMessage> = [&old[..], &mixed[..], &fresh[..]]
            .concat()
            .into_iter()
            .filter_map(|s| match s {
                Stored::New(message) => Some(message),
                Stored::Existing(_) => None,
            })
            .collect();
        assert_eq!(store.latest(10).await.expect("reads"), returned);
    }

    #[tokio::test]
    async fn a_client_id_twice_in_one_batch_is_stored_once() {
        let (_dir, store) = temp_store().await;
        let id = Uuid::new_v4();
        let other = Uuid::new_v4();
        let stored = store
            .insert_batch(&[draft(id, "one"), draft(other, "x"), draft(id, "two")])
            .await
            .expect("stores");
        let Stored::New(first) = &stored[0] else {
            panic!("first send should be new: {stored:?}");
        };
        assert!(matches!(&stored[1], Stored::New(m) if m.text == "x"));
        assert_eq!(stored[2], Stored::Existing(first.clone()));
        assert_eq!(store.latest(10).await.expect("reads").len(), 2);
    }

    #[tokio::test]
    async fn pages_walk_back_through_history() {
        let (_dir, store) = temp_store().await;
        let drafts: Vec<_> = (1..=7)
            .map(|i| draft(Uuid::new_v4(), &format!("m{i}")))
            .collect();
        store.insert_batch(&drafts).await.expect("stores");
        let latest = store.latest(3).await.expect("reads");
        let texts = |page: &[ChatMessage]| page.iter().map(|m| m.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&latest), ["m5", "m6", "m7"]);
        let older = store.before(latest[0].id, 3).await.expect("reads");
        assert_eq!(texts(&older), ["m2", "m3", "m4"]);
        let newer = store.after(older[2].id, 10).await.expect("reads");
        assert_eq!(texts(&newer), ["m5", "m6", "m7"]);
    }
}
