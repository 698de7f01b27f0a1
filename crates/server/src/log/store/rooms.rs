//! Rooms and read positions in the database, the same on both backends
//! (one SQL text each, as in `accounts`).

use std::collections::HashMap;

use shared::{MessageId, room::ReadPosition};

use super::{Store, StoreError};

/// A room's id in the database (never shown: rooms are named by name).
pub type RoomId = i64;

/// How many messages each room holds, by the room's name.
pub type RoomCounts = HashMap<String, u64>;

/// How many rooms a chat, and one account, may create.
#[derive(Clone, Copy, Debug)]
pub struct RoomCaps {
    pub max_rooms: usize,
    pub max_per_creator: usize,
}

/// What [`Store::create_room`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum RoomCreated {
    Created(RoomRecord),
    /// A room holds the name's key already.
    Taken,
    /// The chat holds as many rooms as it may.
    ChatFull,
    /// The creator made as many rooms as one account may.
    CreatorFull,
}

/// A room as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RoomRecord {
    pub id: RoomId,
    pub name: String,
}

impl Store {
    /// Every room, oldest first.
    pub async fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        const SELECT: &str = "SELECT id, name FROM rooms ORDER BY id";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).fetch_all(pool).await?
        }))
    }

    /// The room whose name has this key, if any.
    pub async fn room_by_key(&self, name_key: &str) -> Result<Option<RoomRecord>, StoreError> {
        const SELECT: &str = "SELECT id, name FROM rooms WHERE name_key = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(name_key).fetch_optional(pool).await?
        }))
    }

    /// Creates a room unless a room holds `name_key` already, the chat
    /// holds `max_rooms`, or `created_by` made `max_per_creator`: checked
    /// and inserted as one step, so that rooms created at once (on any
    /// server) cannot pass a cap together.
    pub async fn create_room(
        &self,
        name: &str,
        name_key: &str,
        created_by: Option<i64>,
        now: i64,
        caps: RoomCaps,
    ) -> Result<RoomCreated, StoreError> {
        // One statement: SQLite runs it under its write lock (and refuses
        // it if another connection wrote since it read).
        const INSERT: &str = "INSERT INTO rooms (name, name_key, created_by, created_at) \
                              SELECT $1, $2, $3, $4 \
                              WHERE (SELECT count(*) FROM rooms) < $5 \
                              AND (SELECT count(*) FROM rooms WHERE created_by = $3) < $6 \
                              RETURNING id, name";
        let (max_rooms, per_creator) = (caps.max_rooms as i64, caps.max_per_creator as i64);
        let created: Result<Option<RoomRecord>, sqlx::Error> = match self {
            Store::Sqlite(store) => {
                sqlx::query_as(INSERT)
                    .bind(name)
                    .bind(name_key)
                    .bind(created_by)
                    .bind(now)
                    .bind(max_rooms)
                    .bind(per_creator)
                    .fetch_optional(store.pool())
                    .await
            }
            Store::Postgres(store) => {
                // Several servers: one room creation at a time, so the
                // counts each reads are the ones it inserts under.
                async {
                    let mut tx = store.pool().begin().await?;
                    sqlx::query("LOCK TABLE rooms IN SHARE ROW EXCLUSIVE MODE")
                        .execute(&mut *tx)
                        .await?;
                    let room = sqlx::query_as(INSERT)
                        .bind(name)
                        .bind(name_key)
                        .bind(created_by)
                        .bind(now)
                        .bind(max_rooms)
                        .bind(per_creator)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(room)
                }
                .await
            }
        };
        match created {
            Ok(Some(room)) => Ok(RoomCreated::Created(room)),
            Ok(None) => {
                const MINE: &str = "SELECT count(*) FROM rooms WHERE created_by = $1";
                let mine: i64 = on_pool!(self, pool => {
                    sqlx::query_scalar(MINE).bind(created_by).fetch_one(pool).await?
                });
                Ok(if mine >= per_creator {
                    RoomCreated::CreatorFull
                } else {
                    RoomCreated::ChatFull
                })
            }
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(RoomCreated::Taken),
            Err(err) => Err(err.into()),
        }
    }

    /// How far `account_id` has read each room it has read, by room name.
    pub async fn read_positions(
        &self,
        account_id: i64,
    ) -> Result<HashMap<String, ReadPosition>, StoreError> {
        const SELECT: &str = "SELECT r.name, p.last_read, p.read_count FROM read_positions p \
                              JOIN rooms r ON r.id = p.room_id WHERE p.account_id = $1";
        let positions: Vec<(String, MessageId, i64)> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(account_id).fetch_all(pool).await?
        });
        Ok(positions
            .into_iter()
            .map(|(room, last_read, count)| {
                let count = count.try_into().unwrap_or_default();
                (room, ReadPosition { last_read, count })
            })
            .collect())
    }

    /// Records that `account_id` has read `room` as far as `position`
    /// says; a position never moves back.
    pub async fn mark_read(
        &self,
        account_id: i64,
        room: RoomId,
        position: ReadPosition,
    ) -> Result<(), StoreError> {
        const UPSERT: &str = "INSERT INTO read_positions (account_id, room_id, last_read, read_count) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, room_id) DO UPDATE \
             SET last_read = excluded.last_read, read_count = excluded.read_count \
             WHERE read_positions.last_read < excluded.last_read";
        let count = i64::try_from(position.count).unwrap_or(i64::MAX);
        on_pool!(self, pool => {
            sqlx::query(UPSERT)
                .bind(account_id)
                .bind(room)
                .bind(position.last_read)
                .bind(count)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }
}
