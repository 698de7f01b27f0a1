//! The PostgreSQL backend: several servers share one message log.
//!
//! Ids are not taken from a sequence: a sequence hands out 101 and 102 to
//! two transactions that may commit 102 first, and a stream that read 102
//! would then ask for `id > 102` and never see 101. Instead every append
//! first locks the one row of `message_log` (the newest id given out),
//! takes the next ids from it and writes it back in the same transaction.
//! The lock is held until the commit is visible, so appends from every
//! server commit one after another, in id order: whoever reads `id > n`
//! has seen every id up to `n`. The same lock makes the client-id check
//! and the insert one step across servers.
//!
//! Each append ends with a `NOTIFY` on [`CHANNEL`] (sent at commit). It is
//! only a wake-up: a server's fan-out reads what to publish from the table
//! by id (see [`crate::fanout`]), so a lost notification delays, never
//! loses, a message.

use std::{collections::HashMap, str::FromStr, time::Duration};

use chrono::{SubsecRound, Utc};
use shared::{ChatMessage, MessageId};
use sqlx::{
    PgPool,
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgListener, PgPoolOptions},
};
use uuid::Uuid;

use super::{Draft, Durability, Row, StoreError, Stored};

/// The notification channel every append notifies.
pub const CHANNEL: &str = "chat_messages";

/// A pool of connections to the shared database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

const SELECT_BEFORE: &str = "SELECT id, client_id, username, text, created_at FROM messages \
     WHERE id < $1 ORDER BY id DESC LIMIT $2";
const SELECT_AFTER: &str = "SELECT id, client_id, username, text, created_at FROM messages \
     WHERE id > $1 ORDER BY id ASC LIMIT $2";

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

    pub(super) async fn writer(&self) -> Result<PgWriter, StoreError> {
        Ok(PgWriter {
            pool: self.pool.clone(),
            connection: None,
        })
    }

    /// Up to `limit` rows older than `before`, newest first.
    pub(super) async fn before(
        &self,
        before: MessageId,
        limit: u32,
    ) -> Result<Vec<Row>, sqlx::Error> {
        sqlx::query_as(SELECT_BEFORE)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
    }

    /// Up to `limit` rows newer than `after`, oldest first.
    pub(super) async fn after(
        &self,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<Row>, sqlx::Error> {
        sqlx::query_as(SELECT_AFTER)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
    }

    pub(super) async fn newest_id(&self) -> Result<Option<MessageId>, sqlx::Error> {
        sqlx::query_scalar("SELECT max(id) FROM messages")
            .fetch_one(&self.pool)
            .await
    }

    pub(super) async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A connection of its own that listens on [`CHANNEL`].
    pub(super) async fn listen(&self) -> Result<Listener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Listener { inner: listener })
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

impl Listener {
    /// Waits for the next append's notification. `Ok(false)` means the
    /// connection was lost: notifications sent meanwhile are gone, and the
    /// caller must listen anew and read what it missed from the log.
    pub async fn committed(&mut self) -> Result<bool, StoreError> {
        Ok(self.inner.try_recv().await?.is_some())
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
    pub(super) async fn insert_batch(
        &mut self,
        drafts: &[Draft],
    ) -> Result<Vec<Stored>, sqlx::Error> {
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

/// One append: lock the log's head, skip client ids already stored,
/// insert the rest under the next ids, move the head, notify, commit.
async fn append(
    connection: &mut sqlx::PgConnection,
    drafts: &[Draft],
) -> Result<Vec<Stored>, sqlx::Error> {
    use sqlx::Connection;

    let mut tx = connection.begin().await?;
    // Its own statement: under READ COMMITTED each statement sees what was
    // committed when it began, so everything below sees every append that
    // held the lock before this one.
    let head: i64 = sqlx::query_scalar("SELECT last_id FROM message_log FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    let client_ids: Vec<Uuid> = drafts.iter().map(|draft| draft.client_id).collect();
    let before: Vec<Row> = sqlx::query_as(
        "SELECT id, client_id, username, text, created_at FROM messages \
         WHERE client_id = ANY($1)",
    )
    .bind(&client_ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut known: HashMap<Uuid, ChatMessage> = before
        .into_iter()
        .map(|row| (row.client_id, ChatMessage::from(row)))
        .collect();

    // Milliseconds are all a reader sees, and they survive the round trip exactly.
    let now = Utc::now().trunc_subsecs(3);
    let mut next = head;
    let mut stored = Vec::with_capacity(drafts.len());
    let mut new = Vec::new();
    for draft in drafts {
        if let Some(message) = known.get(&draft.client_id) {
            stored.push(Stored::Existing(message.clone()));
            continue;
        }
        next += 1;
        let message = ChatMessage {
            id: next,
            client_id: draft.client_id,
            username: draft.message.username().to_owned(),
            text: draft.message.text().to_owned(),
            timestamp: now,
        };
        known.insert(draft.client_id, message.clone());
        new.push(message.clone());
        stored.push(Stored::New(message));
    }
    if !new.is_empty() {
        let ids: Vec<i64> = new.iter().map(|m| m.id).collect();
        let client_ids: Vec<Uuid> = new.iter().map(|m| m.client_id).collect();
        let usernames: Vec<&str> = new.iter().map(|m| m.username.as_str()).collect();
        let texts: Vec<&str> = new.iter().map(|m| m.text.as_str()).collect();
        sqlx::query(
            "INSERT INTO messages (id, client_id, username, text, created_at) \
             SELECT id, client_id, username, text, $5 \
             FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::text[]) \
                  AS new (id, client_id, username, text)",
        )
        .bind(&ids)
        .bind(&client_ids)
        .bind(&usernames)
        .bind(&texts)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // Moves the head and wakes every server's fan-out at commit.
        sqlx::query(
            "WITH head AS (UPDATE message_log SET last_id = $1) \
             SELECT pg_notify($2, $1::text)",
        )
        .bind(next)
        .bind(CHANNEL)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(stored)
}
