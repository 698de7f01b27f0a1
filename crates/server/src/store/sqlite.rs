//! The SQLite backend: one server owns the database file.
//!
//! Ids come from SQLite's `AUTOINCREMENT` (strictly increasing, never
//! reused). Writes come in batches, one transaction per batch, from the
//! server's single writer (see [`crate::chat`]); reads (history pages,
//! stream catch-up) run on the pool's other connections concurrently, which
//! SQLite's WAL mode allows. The file is locked to this server (see
//! [`crate::dbfile`]), so its writer is the log's only writer.

use std::{collections::HashSet, str::FromStr, sync::Arc};

use chrono::{SubsecRound, Utc};
use shared::{ChatMessage, MessageId};
use sqlx::{
    QueryBuilder, Sqlite, SqlitePool,
    pool::PoolConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{Batch, Draft, Durability, Row, StoreError, Stored};
use crate::dbfile::{DatabaseFile, FileLost};

impl From<Durability> for SqliteSynchronous {
    fn from(durability: Durability) -> Self {
        match durability {
            Durability::Full => Self::Full,
            Durability::Normal => Self::Normal,
        }
    }
}

/// A pool of connections to one database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The database file, locked to this server and watched (see
    /// [`crate::dbfile`]); `None` for an in-memory database.
    file: Option<Arc<DatabaseFile>>,
}

const SELECT_BY_CLIENT_ID: &str = super::select_messages!("WHERE m.client_id = $1");

impl SqliteStore {
    pub(super) async fn open(url: &str, durability: Durability) -> Result<Self, StoreError> {
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
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool, file })
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) async fn writer(&self) -> Result<SqliteWriter, StoreError> {
        Ok(SqliteWriter {
            newest: sqlx::query_scalar::<_, Option<MessageId>>("SELECT max(id) FROM messages")
                .fetch_one(&self.pool)
                .await?
                .unwrap_or(0),
            connection: self.pool.acquire().await?,
            file: self.file.clone(),
        })
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        check_file(self.file.as_deref())?;
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn close(&self) {
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
pub struct SqliteWriter {
    connection: PoolConnection<Sqlite>,
    /// The newest id stored (0 if none): a stored row with a greater id
    /// was inserted by the statement that just ran.
    newest: MessageId,
    /// Checked after every commit (see [`crate::dbfile`]).
    file: Option<Arc<DatabaseFile>>,
}

impl SqliteWriter {
    /// See [`super::Writer::insert_batch`].
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
    pub(super) async fn insert_batch(&mut self, drafts: &[Draft]) -> Result<Batch, StoreError> {
        // Known lost: write nothing more to it. Otherwise one look after
        // the commit tells whether what was committed will still be there.
        if let Some(file) = self.file.as_deref().filter(|file| file.is_lost()) {
            file.check()?;
        }
        let stored = self.insert(drafts).await?;
        check_file(self.file.as_deref())?;
        // The only writer: nothing came between the newest id and these.
        let after = self.newest;
        for result in &stored {
            if let Stored::New(message) = result {
                self.newest = self.newest.max(message.id);
            }
        }
        Ok(Batch { stored, after })
    }

    async fn insert(&mut self, drafts: &[Draft]) -> Result<Vec<Stored>, sqlx::Error> {
        // Milliseconds are all a reader sees, and they survive the round trip exactly.
        let now = Utc::now().trunc_subsecs(3);
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (client_id, room_id, username, text, created_at, guest) ",
        );
        insert.push_values(drafts, |mut row, draft| {
            row.push_bind(draft.client_id)
                .push_bind(draft.room.id)
                .push_bind(draft.message.username())
                .push_bind(draft.message.text())
                .push_bind(now)
                .push_bind(draft.guest);
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
                    room: draft.room.name.clone(),
                    client_id: draft.client_id,
                    username: draft.message.username().to_owned(),
                    text: draft.message.text().to_owned(),
                    timestamp: now,
                    guest: draft.guest,
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
