//! The PostgreSQL backend: several servers share one message log.
//!
//! Ids are not taken from a sequence: a sequence hands out 101 and 102 to
//! two transactions that may commit 102 first, and a stream that read 102
//! would then ask for `id > 102` and never see 101. Instead every append
//! (the `append_messages` function of the migration, one statement and one
//! round trip) first locks the one row of `message_log` (the newest id
//! given out), takes the next ids from it and writes it back in the same
//! transaction.
//! The lock is held until the commit is visible, so appends from every
//! server commit one after another, in id order: whoever reads `id > n`
//! has seen every id up to `n`. The same lock makes the client-id check
//! and the insert one step across servers.
//!
//! Each append ends with a `NOTIFY` on [`CHANNEL`] (sent at commit). It is
//! only a wake-up: a server's fan-out reads what to publish from the table
//! by id (see [`crate::log::fanout`]), so a lost notification delays, never
//! loses, a message.

use std::{collections::HashSet, str::FromStr, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use shared::{ChatMessage, MessageId};
use sqlx::{
    Acquire, PgPool,
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgListener, PgPoolOptions},
};
use uuid::Uuid;

use super::{
    Batch, Draft, Durability, Row, StoreError, Stored,
    changes::{
        self, Bind, ChangeDraft, Changed, Decision, Edit, Entry, Outcome, ReactionRow, Target,
    },
};

/// The notification channel every append notifies.
pub const CHANNEL: &str = "chat_messages";

/// A pool of connections to the shared database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub(super) async fn open(url: &str, durability: Durability) -> Result<Self, StoreError> {
        let synchronous_commit = match durability {
            Durability::Full => "on",
            Durability::Normal => "off",
        };
        let options = PgConnectOptions::from_str(url)?
            .application_name("chat")
            .options([("synchronous_commit", synchronous_commit)]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(super) async fn writer(&self) -> Result<PgWriter, StoreError> {
        Ok(PgWriter {
            pool: self.pool.clone(),
            connection: None,
        })
    }

    pub(super) async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A connection of its own that listens on `channel`.
    pub(super) async fn listen(&self, channel: &str) -> Result<Listener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(channel).await?;
        Ok(Listener { inner: listener })
    }

    /// Tells every server listening on `channel` (at once: outside any
    /// transaction).
    pub(super) async fn notify(&self, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

/// A connection that hears about every append, from every server.
#[derive(Debug)]
pub struct Listener {
    inner: PgListener,
}

/// What a [`Listener`] heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// An append committed; the log's newest id is now at least this
    /// (`None` if the notification did not say).
    Committed(Option<MessageId>),
    /// The connection was lost and is back: notifications sent meanwhile
    /// are gone, so what was committed meanwhile must be read from the log.
    Reconnected,
}

impl Listener {
    /// Waits for the next notification of an append, or for the
    /// connection to be lost and replaced (an error if it cannot be).
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.next_payload().await? {
            Some(payload) => Heard::Committed(payload.parse().ok()),
            None => Heard::Reconnected,
        })
    }

    /// Waits for the next notification's payload; `None` when the
    /// connection was lost and is back (what was said meanwhile is gone).
    pub async fn next_payload(&mut self) -> Result<Option<String>, StoreError> {
        Ok(self
            .inner
            .try_recv()
            .await?
            .map(|notification| notification.payload().to_owned()))
    }
}

/// The single writer of one server. It takes a connection from the pool
/// when it first writes and keeps it; one that failed is given back and
/// replaced, so a dropped connection costs one failed batch.
#[derive(Debug)]
pub struct PgWriter {
    pool: PgPool,
    connection: Option<PoolConnection<sqlx::Postgres>>,
}

impl PgWriter {
    /// See [`super::Writer::insert_batch`].
    pub(super) async fn insert_batch(&mut self, drafts: &[Draft]) -> Result<Batch, sqlx::Error> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(self.pool.acquire().await?),
        };
        let result = append(connection, drafts).await;
        if result.is_err() {
            // Rolled back (or the connection is gone): start over on another.
            self.connection = None;
        }
        result
    }
}

impl PgWriter {
    /// See [`super::Writer::change`].
    pub(super) async fn change(&mut self, draft: &ChangeDraft) -> Result<Changed, sqlx::Error> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(self.pool.acquire().await?),
        };
        let result = change(connection, draft).await;
        if result.is_err() {
            self.connection = None;
        }
        result
    }
}

/// One change, in one transaction that holds the log's head row from its
/// first statement to its commit, like an append: the client-id check,
/// the rules and the write are one step across servers, and the change's
/// id (the next after the head) becomes visible in id order. A few round
/// trips, against an append's one: changes are far rarer than sends.
async fn change(
    connection: &mut sqlx::PgConnection,
    draft: &ChangeDraft,
) -> Result<Changed, sqlx::Error> {
    let now = Utc::now().trunc_subsecs(3);
    let mut transaction = connection.begin().await?;
    let head: i64 = sqlx::query_scalar("SELECT last_id FROM message_log FOR UPDATE")
        .fetch_one(&mut *transaction)
        .await?;
    let before: Option<MessageId> = sqlx::query_scalar(changes::CHANGED_BY_CLIENT_ID)
        .bind(draft.client_id)
        .fetch_optional(&mut *transaction)
        .await?;
    let outcome = match before {
        Some(message) => Outcome::Unchanged(message),
        None => {
            let mut target: Option<Target> = sqlx::query_as(changes::SELECT_TARGET)
                .bind(draft.message)
                .fetch_optional(&mut *transaction)
                .await?;
            if let (Some(target), Edit::React { reaction, .. }) = (&mut target, &draft.edit) {
                target.given = sqlx::query_scalar(changes::GIVEN)
                    .bind(draft.message)
                    .bind(reaction)
                    .bind(draft.by.person())
                    .fetch_one(&mut *transaction)
                    .await?;
            }
            match changes::decide(target.as_ref(), draft) {
                Decision::Refuse(refusal) => Outcome::Refused(refusal),
                Decision::Unchanged => Outcome::Unchanged(draft.message),
                Decision::Apply => {
                    let id = head + 1;
                    apply(&mut transaction, target.as_ref(), draft, id, now).await?;
                    Outcome::Applied(id)
                }
            }
        }
    };
    let now_is = match outcome {
        Outcome::Applied(_) => Some(draft.message),
        Outcome::Unchanged(message) => Some(message),
        Outcome::Refused(_) => None,
    };
    let message: Option<ChatMessage> = match now_is {
        Some(id) => Some(
            sqlx::query_as::<_, Row>(super::select_messages!("WHERE m.id = $1"))
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?
                .into(),
        ),
        None => None,
    };
    transaction.commit().await?;
    Ok(match (outcome, message) {
        (Outcome::Applied(id), Some(message)) => Changed::New(Entry { id, message }),
        (Outcome::Unchanged(_), Some(message)) => Changed::Existing(message),
        (Outcome::Refused(refusal), _) => Changed::Refused(refusal),
        (_, None) => return Err(sqlx::Error::RowNotFound),
    })
}

/// Writes an applied change as entry `id` (the statements of
/// [`changes::plan`], then for a reaction the message's shown reactions),
/// moves the head and notifies (at commit).
async fn apply(
    transaction: &mut sqlx::PgTransaction<'_>,
    target: Option<&Target>,
    draft: &ChangeDraft,
    id: MessageId,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let connection = transaction.acquire().await?;
    let applied_to = target.ok_or(sqlx::Error::RowNotFound)?;
    for write in changes::plan(draft, applied_to, id, now) {
        let mut query = sqlx::query(write.sql);
        for bind in write.binds {
            query = match bind {
                Bind::Int(value) => query.bind(value),
                Bind::Text(value) => query.bind(value),
                Bind::Bool(value) => query.bind(value),
                Bind::Uuid(value) => query.bind(value),
                Bind::Time(value) => query.bind(value),
                Bind::MaybeText(value) => query.bind(value),
            };
        }
        query.execute(&mut *connection).await?;
    }
    if let (Some(target), Edit::React { reaction, .. }) = (target, &draft.edit) {
        let rows: Vec<ReactionRow> = sqlx::query_as(changes::REACTION_ROWS)
            .bind(draft.message)
            .bind(reaction)
            .bind(changes::SHOWN)
            .fetch_all(&mut *connection)
            .await?;
        sqlx::query(changes::SET_SHOWN)
            .bind(changes::shown_after(target, reaction, &rows))
            .bind(draft.message)
            .execute(&mut *connection)
            .await?;
    }
    sqlx::query("UPDATE message_log SET last_id = $1")
        .bind(id)
        .execute(&mut *connection)
        .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// What `append_messages` returns for each draft.
#[derive(sqlx::FromRow)]
struct Appended {
    o_id: i64,
    o_room: String,
    o_client_id: Uuid,
    o_username: String,
    o_text: String,
    o_created_at: DateTime<Utc>,
    o_guest: bool,
    /// Whether this call stored it.
    o_inserted: bool,
    /// The newest id before this call.
    o_head: i64,
}

/// One append, in one round trip: the `append_messages` function (see the
/// migration) locks the log's head, skips client ids already stored,
/// inserts the rest under the next ids, moves the head and notifies; the
/// statement's implicit transaction commits. Returns what each draft
/// stored and the newest id before them.
async fn append(
    connection: &mut sqlx::PgConnection,
    drafts: &[Draft],
) -> Result<Batch, sqlx::Error> {
    // Milliseconds are all a reader sees, and they survive the round trip exactly.
    let now = Utc::now().trunc_subsecs(3);
    let client_ids: Vec<Uuid> = drafts.iter().map(|draft| draft.client_id).collect();
    let rooms: Vec<i64> = drafts.iter().map(|draft| draft.room.id).collect();
    let usernames: Vec<&str> = drafts.iter().map(|d| d.message.username()).collect();
    let texts: Vec<&str> = drafts.iter().map(|d| d.message.text()).collect();
    let guests: Vec<bool> = drafts.iter().map(|d| d.guest).collect();
    let reply_tos: Vec<Option<i64>> = drafts
        .iter()
        .map(|d| d.reply.as_ref().map(|quote| quote.id))
        .collect();
    let rows: Vec<Appended> =
        sqlx::query_as("SELECT * FROM append_messages($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&client_ids)
            .bind(&rooms)
            .bind(&usernames)
            .bind(&texts)
            .bind(&guests)
            .bind(&reply_tos)
            .bind(now)
            .bind(CHANNEL)
            .fetch_all(&mut *connection)
            .await?;
    let Some(after) = rows.first().map(|row| row.o_head) else {
        return Err(sqlx::Error::RowNotFound);
    };
    if rows.len() != drafts.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    // A client id twice in one batch: new the first time only.
    let mut seen = HashSet::new();
    let mut stored: Vec<Stored> = rows
        .into_iter()
        .zip(drafts)
        .map(|(row, draft)| {
            let first_time = seen.insert(row.o_client_id);
            let message = ChatMessage {
                id: row.o_id,
                room: row.o_room,
                client_id: row.o_client_id,
                username: row.o_username,
                html: super::html(&row.o_text, false),
                text: row.o_text,
                timestamp: row.o_created_at,
                guest: row.o_guest,
                edited: None,
                deleted: false,
                removed: false,
                reactions: Vec::new(),
                reply_to: draft.reply.as_ref().map(|quote| quote.id),
                quote: draft.reply.clone(),
            };
            if row.o_inserted && first_time {
                Stored::New(message)
            } else {
                Stored::Existing(message)
            }
        })
        .collect();
    // Sent before, and perhaps edited or deleted since: as it now is.
    for earlier in &mut stored {
        if let Stored::Existing(message) = earlier {
            let row: Row = sqlx::query_as(super::select_messages!("WHERE m.client_id = $1"))
                .bind(message.client_id)
                .fetch_one(&mut *connection)
                .await?;
            *message = row.into();
        }
    }
    Ok(Batch { stored, after })
}
