//! The SQLite backend: one server owns the database file.
//!
//! Ids come from SQLite's `AUTOINCREMENT` (strictly increasing, never
//! reused). Writes come in batches, one transaction per batch, from the
//! server's single writer (see [`crate::log::chat`]); reads (history pages,
//! stream catch-up) run on the pool's other connections concurrently, which
//! SQLite's WAL mode allows. The file is locked to this server (see
//! [`crate::log::dbfile`]), so its writer is the log's only writer.

use std::{
    path::PathBuf,
    str::FromStr,
    sync::{Arc, LazyLock, Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::{ChatMessage, MessageId};
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
};
use uuid::Uuid;

use super::{
    Batch, Draft, Durability, Row, StoreError, Stored,
    changes::{
        self, Bind, ChangeDraft, Changed, Decision, Edit, Entry, Outcome, ReactionRow, Target,
    },
};
use crate::log::dbfile::DatabaseFile;

/// SQLite's `synchronous` setting for each durability.
fn synchronous(durability: Durability) -> &'static str {
    match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:`,
/// `sqlite://:memory:`, `?mode=memory`) or none (`sqlite://`), as sqlx
/// reads it.
fn in_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
    database.is_empty()
        || database == ":memory:"
        || query.split('&').any(|pair| pair == "mode=memory")
}

/// How many prepared statements the writer keeps.
const STATEMENTS: usize = 64;

/// How long a write waits for another connection's write to end (sqlx's
/// own default, which the pool's connections have).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of connections to one database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The database file's path, for the writer's own connection.
    path: PathBuf,
    durability: Durability,
    /// The database file, locked to this server and watched (see
    /// [`crate::log::dbfile`]).
    file: Arc<DatabaseFile>,
}

const SELECT_BY_CLIENT_ID: &str = super::select_messages!("WHERE m.client_id = $1");
/// The messages whose ids a JSON array (`$1`) lists, in the columns of
/// [`Row`], in order.
const SELECT_BY_IDS: &str =
    super::select_messages!("WHERE m.id IN (SELECT value FROM json_each($1))");

impl SqliteStore {
    pub(super) async fn open(url: &str, durability: Durability) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("synchronous", synchronous(durability))
            .foreign_keys(true);
        // The writer's connection would not share it with the pool's.
        if in_memory(url) {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let path = options.get_filename().to_owned();
        // Before SQLite opens it: SQLite would create it readable by all.
        let file = Arc::new(DatabaseFile::claim(&path)?);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A local file does not go away under an open connection: skip
            // the round trip to the connection's thread that a check costs
            // on every acquire.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool,
            path,
            durability,
            file,
        })
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The single writer: its own connection, used by one thread at a
    /// time (see [`SqliteWriter`]).
    pub(super) async fn writer(&self) -> Result<SqliteWriter, StoreError> {
        let newest = sqlx::query_scalar::<_, Option<MessageId>>(changes::NEWEST_ID)
            .fetch_one(&self.pool)
            .await?
            .unwrap_or(0);
        let connection = rusqlite::Connection::open(&self.path)?;
        // WAL is the file's own setting (set by the pool); the rest are
        // each connection's.
        connection.pragma_update(None, "synchronous", synchronous(self.durability))?;
        connection.pragma_update(None, "foreign_keys", true)?;
        // A deleted message's text is overwritten in the file, not only
        // unlinked from it.
        connection.pragma_update(None, "secure_delete", true)?;
        // Accounts, rooms and sessions are written through the pool.
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // Every statement the writer runs stays prepared: the batch
        // inserts, the changes' reads and writes, the read-back (about 20;
        // rusqlite keeps 16 by default, and a batch insert of 64 rows
        // prepared again costs more than the rows).
        connection.set_prepared_statement_cache_capacity(STATEMENTS);
        Ok(SqliteWriter {
            connection: Arc::new(Mutex::new(connection)),
            newest,
            store: self.clone(),
        })
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.file.check()?;
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether this handle is the only one holding the file.
    pub(super) fn sole_holder(&self) -> bool {
        Arc::strong_count(&self.file) == 1
    }
}

/// The single writer's own connection. It is used synchronously, from
/// one thread: the server gives it a thread of its own (see
/// [`crate::log::chat`]), where receiving a batch, storing it and publishing it
/// cross no other thread; through sqlx, every statement was a round trip
/// to the connection's worker thread.
#[derive(Clone, Debug)]
pub struct SqliteWriter {
    /// Locked by whichever thread writes (only ever one at a time).
    connection: Arc<Mutex<rusqlite::Connection>>,
    /// The newest id stored (0 if none).
    newest: MessageId,
    /// For the file's check after every commit (see [`crate::log::dbfile`]),
    /// and for reading back drafts stored before.
    store: SqliteStore,
}

impl SqliteWriter {
    /// [`Self::insert_batch_blocking`] on a thread for blocking work.
    pub(super) async fn insert_batch(&mut self, drafts: &[Draft]) -> Result<Batch, StoreError> {
        let mut writer = self.clone();
        let drafts = drafts.to_vec();
        let runtime = tokio::runtime::Handle::current();
        let (newest, batch) = tokio::task::spawn_blocking(move || {
            let batch = writer.insert_batch_blocking(&drafts, &runtime);
            (writer.newest, batch)
        })
        .await
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        self.newest = newest;
        batch
    }

    /// See [`super::Writer::insert_batch`]; this blocks for the commit,
    /// its fsync included.
    ///
    /// One transaction (see [`Self::insert`]). Drafts whose client id was
    /// stored before (in an earlier batch, or earlier in this one) are
    /// looked up after the commit; stored messages never change, so what
    /// is read is what was there.
    ///
    /// A batch committed to a database file that was removed or replaced
    /// meanwhile fails (it would be gone at the next start), and so does
    /// every later one.
    pub fn insert_batch_blocking(
        &mut self,
        drafts: &[Draft],
        runtime: &tokio::runtime::Handle,
    ) -> Result<Batch, StoreError> {
        match self.write_blocking(&[Work::Sends(drafts)], runtime)?.pop() {
            Some(Done::Sends(batch)) => Ok(batch),
            _ => unreachable!("one batch asked, one answered"),
        }
    }

    /// Writes every piece of `work` in one transaction, in order (group
    /// commit: one fsync for sends and changes alike), and says what each
    /// did. Sends get ids from `messages`' AUTOINCREMENT; a change takes
    /// the id after the newest and moves the AUTOINCREMENT past it, so the
    /// next message follows it. Either all of it is committed or none.
    ///
    /// Drafts whose client id was stored before are read after the
    /// commit, and so is each changed message: this writer is the only
    /// one, so what is read is what it committed.
    ///
    /// A transaction committed to a database file that was removed or
    /// replaced meanwhile fails (it would be gone at the next start), and
    /// so does every later one.
    pub fn write_blocking(
        &mut self,
        work: &[Work<'_>],
        runtime: &tokio::runtime::Handle,
    ) -> Result<Vec<Done>, StoreError> {
        // Known lost: write nothing more to it. Otherwise one look after
        // the commit tells whether what was committed will still be there.
        if self.store.file.is_lost() {
            self.store.file.check()?;
        }
        let now = Utc::now().trunc_subsecs(3);
        let mut newest = self.newest;
        let written = self.write(work, now, &mut newest)?;
        self.store.file.check()?;
        self.newest = newest;
        let deleted = work.iter().zip(&written).any(|(work, written)| {
            matches!(
                (work, written),
                (Work::Change(draft), Written::Change(Outcome::Applied(_)))
                    if draft.edit == Edit::Delete
            )
        });
        if deleted {
            self.forget_old_frames();
        }
        // Every changed message as it now is, read in one query after the
        // commit.
        let changed: Vec<MessageId> = work
            .iter()
            .zip(&written)
            .filter_map(|(work, written)| match (work, written) {
                (Work::Change(draft), Written::Change(Outcome::Applied(_))) => Some(draft.message),
                (_, Written::Change(Outcome::Unchanged(id))) => Some(*id),
                _ => None,
            })
            .collect();
        let now_is = if changed.is_empty() {
            std::collections::HashMap::new()
        } else {
            self.read_messages(&changed)?
        };
        let message = |id| {
            now_is
                .get(&id)
                .cloned()
                .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
        };
        let mut done = Vec::with_capacity(work.len());
        for (work, written) in work.iter().zip(written) {
            done.push(match (work, written) {
                (Work::Sends(drafts), Written::Sends { after, ids }) => {
                    let mut stored = Vec::with_capacity(drafts.len());
                    for (draft, id) in drafts.iter().zip(ids) {
                        stored.push(match id {
                            Some(id) => Stored::New(new_message(draft, id, now)),
                            None => Stored::Existing(
                                runtime.block_on(self.store.by_client_id(draft.client_id))?,
                            ),
                        });
                    }
                    Done::Sends(Batch { stored, after })
                }
                (Work::Change(draft), Written::Change(outcome)) => {
                    Done::Change(Box::new(match outcome {
                        Outcome::Applied(id) => Changed::New(Entry {
                            id,
                            message: message(draft.message)?,
                        }),
                        Outcome::Unchanged(id) => Changed::Existing(message(id)?),
                        Outcome::Refused(refusal) => Changed::Refused(refusal),
                    }))
                }
                _ => unreachable!("written in the order asked"),
            });
        }
        Ok(done)
    }

    /// The transaction of [`Self::write_blocking`]; `newest` follows the
    /// ids it gives out.
    fn write(
        &mut self,
        work: &[Work<'_>],
        now: DateTime<Utc>,
        newest: &mut MessageId,
    ) -> rusqlite::Result<Vec<Written>> {
        // What sqlx writes for a timestamp, so that the pool reads it back.
        let created_at = now.to_rfc3339_opts(SecondsFormat::AutoSi, false);
        // Nothing is left half done under it: a poisoned lock is usable.
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut written = Vec::with_capacity(work.len());
        for work in work {
            written.push(match work {
                Work::Sends(drafts) => {
                    let after = *newest;
                    let ids = insert(&transaction, drafts, &created_at, newest)?;
                    Written::Sends { after, ids }
                }
                Work::Change(draft) => Written::Change(apply(&transaction, draft, now, newest)?),
            });
        }
        transaction.commit()?;
        Ok(written)
    }
}

/// What one transaction is asked to write, in order.
#[derive(Debug)]
pub enum Work<'a> {
    /// Messages to store (as one batch).
    Sends(&'a [Draft]),
    /// One change to apply.
    Change(&'a ChangeDraft),
}

/// What a piece of [`Work`] did.
#[derive(Debug)]
pub enum Done {
    Sends(Batch),
    Change(Box<Changed>),
}

/// What the transaction wrote for a piece of work, before anything is read
/// back.
enum Written {
    Sends {
        after: MessageId,
        ids: Vec<Option<MessageId>>,
    },
    Change(Outcome),
}

/// A message just stored under `id`.
fn new_message(draft: &Draft, id: MessageId, now: DateTime<Utc>) -> ChatMessage {
    ChatMessage {
        id,
        room: draft.room.name.clone(),
        client_id: draft.client_id,
        username: draft.message.username().to_owned(),
        text: draft.message.text().to_owned(),
        html: super::html(draft.message.text(), false),
        timestamp: now,
        guest: draft.guest,
        edited: None,
        deleted: false,
        removed: false,
        reactions: Vec::new(),
        reply_to: draft.reply.as_ref().map(|quote| quote.id),
        quote: draft.reply.clone(),
    }
}

/// Inserts every new draft in `transaction`; each draft's new id, or
/// `None` if its client id was stored before (in an earlier batch, or
/// earlier in this one). `newest` is the newest id before, and after.
///
/// Rows go in with multi-row `INSERT`s of [`CHUNKS`] rows, each a
/// statement prepared once and kept: a statement costs far more than a
/// row. SQLite inserts a statement's rows in `VALUES` order, so when
/// every row of a chunk is new their ids are consecutive and end at the
/// last inserted rowid (AUTOINCREMENT, under the transaction's write
/// lock); nothing is read back. A chunk with a stored client id is
/// resolved row by row.
fn insert(
    transaction: &rusqlite::Transaction<'_>,
    drafts: &[Draft],
    created_at: &str,
    newest: &mut MessageId,
) -> rusqlite::Result<Vec<Option<MessageId>>> {
    let mut ids = Vec::with_capacity(drafts.len());
    let mut rest = drafts;
    while !rest.is_empty() {
        // The largest chunk that fits; the last, one row, always does.
        let chunk_index = CHUNKS
            .iter()
            .position(|&size| size <= rest.len())
            .unwrap_or(CHUNKS.len() - 1);
        let size = CHUNKS[chunk_index];
        let (chunk, later) = rest.split_at(size);
        rest = later;
        let mut insert = transaction.prepare_cached(&INSERTS[chunk_index])?;
        for (row, draft) in chunk.iter().enumerate() {
            let at = row * 7;
            insert.raw_bind_parameter(at + 1, draft.client_id.as_bytes())?;
            insert.raw_bind_parameter(at + 2, draft.room.id)?;
            insert.raw_bind_parameter(at + 3, draft.message.username())?;
            insert.raw_bind_parameter(at + 4, draft.message.text())?;
            insert.raw_bind_parameter(at + 5, created_at)?;
            insert.raw_bind_parameter(at + 6, draft.guest)?;
            insert.raw_bind_parameter(at + 7, draft.reply.as_ref().map(|quote| quote.id))?;
        }
        let inserted = insert.raw_execute()?;
        if inserted == size {
            let last = transaction.last_insert_rowid();
            ids.extend((last - size as i64 + 1..=last).map(Some));
            *newest = last;
            continue;
        }
        // A row newer than `newest` is this statement's, and new to the
        // first draft that holds its client id.
        let mut by_client_id = transaction.prepare_cached(SELECT_ID_BY_CLIENT_ID)?;
        for draft in chunk {
            let id: MessageId =
                by_client_id.query_row([draft.client_id.as_bytes()], |row| row.get(0))?;
            let first_time = id > *newest && !ids.contains(&Some(id));
            ids.push(first_time.then_some(id));
        }
        *newest = (*newest).max(transaction.last_insert_rowid());
    }
    Ok(ids)
}

impl SqliteWriter {
    /// [`Self::change_blocking`] on a thread for blocking work.
    pub(super) async fn change(&mut self, draft: &ChangeDraft) -> Result<Changed, StoreError> {
        let mut writer = self.clone();
        let draft = draft.clone();
        let runtime = tokio::runtime::Handle::current();
        let (newest, changed) = tokio::task::spawn_blocking(move || {
            let changed = writer.change_blocking(&draft, &runtime);
            (writer.newest, changed)
        })
        .await
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        self.newest = newest;
        changed
    }

    /// See [`super::Writer::change`]; blocks for the commit (see
    /// [`Self::write_blocking`]).
    pub fn change_blocking(
        &mut self,
        draft: &ChangeDraft,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Changed, StoreError> {
        match self.write_blocking(&[Work::Change(draft)], runtime)?.pop() {
            Some(Done::Change(changed)) => Ok(*changed),
            _ => unreachable!("one change asked, one answered"),
        }
    }
}

/// Applies `draft` in `transaction` if the message may take it, as the
/// entry after `newest` (which it then is).
fn apply(
    transaction: &rusqlite::Transaction<'_>,
    draft: &ChangeDraft,
    now: DateTime<Utc>,
    newest: &mut MessageId,
) -> rusqlite::Result<Outcome> {
    let before: Option<MessageId> = transaction
        .prepare_cached(changes::CHANGED_BY_CLIENT_ID)?
        .query_row([draft.client_id.as_bytes()], |row| row.get(0))
        .optional()?;
    if let Some(message) = before {
        return Ok(Outcome::Unchanged(message));
    }
    let mut target = transaction
        .prepare_cached(changes::SELECT_TARGET)?
        .query_row([draft.message], |row| {
            Ok(Target {
                room_id: row.get(0)?,
                username: row.get(1)?,
                guest: row.get(2)?,
                deleted: row.get(3)?,
                text: row.get(4)?,
                reactions: row.get(5)?,
                given: false,
            })
        })
        .optional()?;
    if let (Some(target), Edit::React { reaction, .. }) = (&mut target, &draft.edit) {
        target.given = transaction
            .prepare_cached(changes::GIVEN)?
            .query_row(params![draft.message, reaction, draft.by.person()], |row| {
                row.get(0)
            })?;
    }
    match changes::decide(target.as_ref(), draft) {
        Decision::Refuse(refusal) => Ok(Outcome::Refused(refusal)),
        Decision::Unchanged => Ok(Outcome::Unchanged(draft.message)),
        Decision::Apply => {
            let id = *newest + 1;
            let applied_to = target.as_ref().expect("a change applies to a message");
            for write in changes::plan(draft, applied_to, id, now) {
                let binds = write.binds.iter().map(sql_value);
                transaction
                    .prepare_cached(write.sql)?
                    .execute(rusqlite::params_from_iter(binds))?;
            }
            if let (Some(target), Edit::React { reaction, .. }) = (&target, &draft.edit) {
                let rows = transaction
                    .prepare_cached(changes::REACTION_ROWS)?
                    .query_map(params![draft.message, reaction, changes::SHOWN], |row| {
                        Ok(ReactionRow {
                            name: row.get(0)?,
                            guest: row.get(1)?,
                            total: row.get(2)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let shown = changes::shown_after(target, reaction, &rows);
                transaction
                    .prepare_cached(changes::SET_SHOWN)?
                    .execute(params![shown, draft.message])?;
            }
            transaction.prepare_cached(MOVE_SEQUENCE)?.execute([id])?;
            *newest = id;
            Ok(Outcome::Applied(id))
        }
    }
}

/// A [`Bind`] as SQLite stores it (times as sqlx writes them, so that the
/// pool reads them back; UUIDs as their 16 bytes).
fn sql_value(bind: &Bind) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match bind {
        Bind::Int(value) => Value::Integer(*value),
        Bind::Text(value) => Value::Text(value.clone()),
        Bind::Bool(value) => Value::Integer(i64::from(*value)),
        Bind::Uuid(value) => Value::Blob(value.as_bytes().to_vec()),
        Bind::Time(value) => Value::Text(value.to_rfc3339_opts(SecondsFormat::AutoSi, false)),
        Bind::MaybeText(value) => value.clone().map_or(Value::Null, Value::Text),
    }
}

impl SqliteWriter {
    /// The messages `ids` as they now are, by id, in one query on the
    /// writer's own connection (not the pool's, where requests queue).
    fn read_messages(
        &self,
        ids: &[MessageId],
    ) -> Result<std::collections::HashMap<MessageId, ChatMessage>, StoreError> {
        let listed = serde_json::to_string(ids).expect("ids always serialize");
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut select = connection.prepare_cached(SELECT_BY_IDS)?;
        let rows = select.query_map([listed], |row| {
            let time = |at: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
                row.get::<_, Option<String>>(at)?
                    .map(|text| {
                        DateTime::parse_from_rfc3339(&text)
                            .map(|time| time.with_timezone(&Utc))
                            .map_err(|err| {
                                rusqlite::Error::FromSqlConversionFailure(
                                    at,
                                    rusqlite::types::Type::Text,
                                    Box::new(err),
                                )
                            })
                    })
                    .transpose()
            };
            let client_id: Vec<u8> = row.get(2)?;
            Ok(Row {
                id: row.get(0)?,
                room: row.get(1)?,
                client_id: Uuid::from_slice(&client_id).unwrap_or_default(),
                username: row.get(3)?,
                text: row.get(4)?,
                created_at: time(5)?.unwrap_or_default(),
                guest: row.get(6)?,
                edited_at: time(7)?,
                deleted: row.get(8)?,
                removed: row.get(9)?,
                reactions: row.get(10)?,
                reply_to: row.get(11)?,
                quote_username: row.get(12)?,
                quote_guest: row.get(13)?,
                quote_text: row.get(14)?,
                quote_deleted: row.get(15)?,
            })
        })?;
        let mut messages = std::collections::HashMap::with_capacity(ids.len());
        for row in rows {
            let row = row?;
            messages.insert(row.id, ChatMessage::from(row));
        }
        Ok(messages)
    }

    /// Copies the write-ahead log into the database and empties it, so
    /// that the page images it held from before a deletion (with the
    /// deleted text) are gone from the disk too, not only from the
    /// database (whose freed space `secure_delete` overwrites). It waits
    /// for readers (at most [`BUSY_TIMEOUT`]); one still reading an older
    /// snapshot leaves the frames until the log is next reused.
    fn forget_old_frames(&self) {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let busy = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            row.get::<_, i64>(0)
        });
        if !matches!(busy, Ok(0)) {
            tracing::warn!(
                ?busy,
                "the write-ahead log could not be emptied after a deletion"
            );
        }
    }
}

/// Moves `messages`' AUTOINCREMENT to a change's id: the next message
/// takes the id after it.
const MOVE_SEQUENCE: &str = "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'messages'";

/// The sizes of the multi-row `INSERT`s a batch is cut into, largest
/// first: a few statements, each prepared once, serve every batch size.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

const SELECT_ID_BY_CLIENT_ID: &str = "SELECT id FROM messages WHERE client_id = ?1";

/// The `INSERT` of each of [`CHUNKS`] rows.
static INSERTS: LazyLock<[String; CHUNKS.len()]> = LazyLock::new(|| {
    CHUNKS.map(|rows| {
        let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
        format!(
            "INSERT INTO messages (client_id, room_id, username, text, created_at, guest, reply_to) \
             VALUES {values} ON CONFLICT (client_id) DO NOTHING"
        )
    })
});

impl SqliteStore {
    /// The stored message with this client id.
    async fn by_client_id(&self, client_id: Uuid) -> Result<ChatMessage, StoreError> {
        let row: Row = sqlx::query_as(SELECT_BY_CLIENT_ID)
            .bind(client_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.into())
    }
}
