//! Rooms and read positions in the database, the same on both backends
//! (one SQL text each, as in `accounts`).

use std::collections::HashMap;

use shared::{MessageId, room::ReadPosition};

use super::{Store, StoreError};

/// A room's id in the database (never shown: rooms are named by name).
pub type RoomId = i64;

/// How many messages each room holds, by the room's name.
pub type RoomCounts = HashMap<String, u64>;

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

    /// Creates a room; `None` if a room holds `name_key` already.
    pub async fn create_room(
        &self,
        name: &str,
        name_key: &str,
        created_by: Option<i64>,
        now: i64,
    ) -> Result<Option<RoomRecord>, StoreError> {
        const INSERT: &str = "INSERT INTO rooms (name, name_key, created_by, created_at) \
                              VALUES ($1, $2, $3, $4) RETURNING id, name";
        let created: Result<RoomRecord, sqlx::Error> = on_pool!(self, pool => {
            sqlx::query_as(INSERT)
                .bind(name)
                .bind(name_key)
                .bind(created_by)
                .bind(now)
                .fetch_one(pool)
                .await
        });
        match created {
            Ok(room) => Ok(Some(room)),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(None),
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
