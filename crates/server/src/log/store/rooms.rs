//! Rooms and read positions in the database, the same on both backends
//! (one SQL text each, as in `accounts`).

use std::collections::HashMap;

use shared::{
    MessageId,
    room::{MAX_MEMBERS, ReadPosition, RoomKind},
};

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
    /// Who may see it (a direct conversation is stored as a private room
    /// marked `direct`, and read as [`RoomKind::Direct`]).
    #[sqlx(try_from = "String")]
    pub kind: RoomKind,
}

/// One membership of a private room.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Membership {
    pub room_id: RoomId,
    pub account_id: i64,
    /// Whether the member manages the room's members.
    pub owner: bool,
}

/// Adds an account (`$2`) to a room (`$1`) at `$3`, not an owner, unless
/// it is a member already or the room holds `$4` members (checked in the
/// inserting statement): one row affected if added.
pub(super) const JOIN: &str = "INSERT INTO room_members (room_id, account_id, owner, added_at) \
                               SELECT $1, $2, FALSE, $3 \
                               WHERE (SELECT count(*) FROM room_members WHERE room_id = $1) < $4 \
                               ON CONFLICT (room_id, account_id) DO NOTHING";

/// Whether an account (`$2`) is a member of a room (`$1`): a count.
pub(super) const IS_MEMBER: &str =
    "SELECT count(*) FROM room_members WHERE room_id = $1 AND account_id = $2";

/// What [`Store::create_direct`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum DirectMade {
    Created(RoomRecord),
    /// The same people's conversation existed.
    Existing(RoomRecord),
    /// A room that is no conversation holds the name's key (one named so
    /// before such names were refused).
    Taken,
    /// The chat holds as many direct conversations as it may.
    ChatFull,
}

/// What adding a member did.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberAdded {
    Added,
    /// They were a member already.
    Already,
    /// The room holds [`MAX_MEMBERS`].
    Full,
}

impl Store {
    /// Every room, oldest first.
    pub async fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        const SELECT: &str = "SELECT id, name, CASE WHEN direct THEN 'direct' ELSE kind END AS kind \
                              FROM rooms ORDER BY id";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).fetch_all(pool).await?
        }))
    }

    /// The room whose name has this key, if any.
    pub async fn room_by_key(&self, name_key: &str) -> Result<Option<RoomRecord>, StoreError> {
        const SELECT: &str = "SELECT id, name, CASE WHEN direct THEN 'direct' ELSE kind END AS kind \
                              FROM rooms WHERE name_key = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(name_key).fetch_optional(pool).await?
        }))
    }

    /// The room `id`, if any.
    pub async fn room_by_id(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        const SELECT: &str = "SELECT id, name, CASE WHEN direct THEN 'direct' ELSE kind END AS kind \
                              FROM rooms WHERE id = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Creates a room of `kind` unless a room holds `name_key` already, the
    /// chat holds `max_rooms`, or `created_by` made `max_per_creator`:
    /// checked and inserted as one step, so that rooms created at once (on
    /// any server) cannot pass a cap together. A private room is created
    /// with its creator as its owner, in the same transaction.
    pub async fn create_room(
        &self,
        name: &str,
        name_key: &str,
        kind: RoomKind,
        created_by: Option<i64>,
        now: i64,
        caps: RoomCaps,
    ) -> Result<RoomCreated, StoreError> {
        // SQLite runs the insert under its write lock (and refuses it if
        // another connection wrote since it read).
        const INSERT: &str = "INSERT INTO rooms (name, name_key, kind, created_by, created_at) \
                              SELECT $1, $2, $3, $4, $5 \
                              WHERE (SELECT count(*) FROM rooms WHERE NOT direct) < $6 \
                              AND (SELECT count(*) FROM rooms \
                                   WHERE created_by = $4 AND NOT direct) < $7 \
                              RETURNING id, name, kind";
        const OWNER: &str = "INSERT INTO room_members (room_id, account_id, owner, added_at) \
                             VALUES ($1, $2, TRUE, $3)";
        let (max_rooms, per_creator) = (caps.max_rooms as i64, caps.max_per_creator as i64);
        let created: Result<Option<RoomRecord>, sqlx::Error> = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                if matches!(self, Store::Postgres(_)) {
                    // Several servers: one room creation at a time, so the
                    // counts each reads are the ones it inserts under.
                    sqlx::query("LOCK TABLE rooms IN SHARE ROW EXCLUSIVE MODE")
                        .execute(&mut *tx)
                        .await?;
                }
                let room: Option<RoomRecord> = sqlx::query_as(INSERT)
                    .bind(name)
                    .bind(name_key)
                    .bind(kind.as_str())
                    .bind(created_by)
                    .bind(now)
                    .bind(max_rooms)
                    .bind(per_creator)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(room) = &room
                    && let Some(owner) = created_by
                    && !room.kind.is_public()
                {
                    sqlx::query(OWNER)
                        .bind(room.id)
                        .bind(owner)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(room)
            }
            .await
        });
        match created {
            Ok(Some(room)) => Ok(RoomCreated::Created(room)),
            Ok(None) => {
                const MINE: &str =
                    "SELECT count(*) FROM rooms WHERE created_by = $1 AND NOT direct";
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

    /// The direct conversation `name` (keyed `name_key`) of the accounts
    /// `people`, made now by `opener` unless it exists (then it is read)
    /// or the chat holds `max_direct` of them: the room and its members
    /// inserted as one step.
    pub async fn create_direct(
        &self,
        name: &str,
        name_key: &str,
        people: &[i64],
        opener: i64,
        now: i64,
        max_direct: usize,
    ) -> Result<DirectMade, StoreError> {
        const INSERT: &str = "INSERT INTO rooms (name, name_key, kind, direct, created_by, created_at) \
                              SELECT $1, $2, 'private', TRUE, $3, $4 \
                              WHERE (SELECT count(*) FROM rooms WHERE direct) < $5 \
                              RETURNING id, name, 'direct' AS kind";
        const MEMBER: &str = "INSERT INTO room_members (room_id, account_id, owner, added_at) \
                              VALUES ($1, $2, FALSE, $3)";
        let made: Result<Option<RoomRecord>, sqlx::Error> = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let room: Option<RoomRecord> = sqlx::query_as(INSERT)
                    .bind(name)
                    .bind(name_key)
                    .bind(opener)
                    .bind(now)
                    .bind(max_direct as i64)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(room) = &room {
                    for &person in people {
                        sqlx::query(MEMBER)
                            .bind(room.id)
                            .bind(person)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(room)
            }
            .await
        });
        match made {
            Ok(Some(room)) => Ok(DirectMade::Created(room)),
            Ok(None) => Ok(DirectMade::ChatFull),
            // Made already (by these people, at once or before).
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
                match self.room_by_key(name_key).await? {
                    Some(room) if room.kind == RoomKind::Direct => Ok(DirectMade::Existing(room)),
                    _ => Ok(DirectMade::Taken),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Every direct conversation's people by account name, by room.
    pub async fn direct_people(&self) -> Result<Vec<(RoomId, String)>, StoreError> {
        const SELECT: &str = "SELECT m.room_id, a.name FROM room_members m \
                              JOIN accounts a ON a.id = m.account_id \
                              JOIN rooms r ON r.id = m.room_id WHERE r.direct";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).fetch_all(pool).await?
        }))
    }

    /// Every membership of every private room.
    pub async fn memberships(&self) -> Result<Vec<Membership>, StoreError> {
        const SELECT: &str = "SELECT room_id, account_id, owner FROM room_members";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).fetch_all(pool).await?
        }))
    }

    /// The memberships of `room`.
    pub async fn members_of(&self, room: RoomId) -> Result<Vec<Membership>, StoreError> {
        const SELECT: &str =
            "SELECT room_id, account_id, owner FROM room_members WHERE room_id = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(room).fetch_all(pool).await?
        }))
    }

    /// The members of `room` by name, with whether each is an owner.
    pub async fn member_names(&self, room: RoomId) -> Result<Vec<(String, bool)>, StoreError> {
        const SELECT: &str = "SELECT a.name, m.owner FROM room_members m \
                              JOIN accounts a ON a.id = m.account_id \
                              WHERE m.room_id = $1 ORDER BY m.added_at, a.id";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(room).fetch_all(pool).await?
        }))
    }

    /// Adds `account_id` to `room` unless it holds [`MAX_MEMBERS`] (checked
    /// in the inserting statement).
    pub async fn add_member(
        &self,
        room: RoomId,
        account_id: i64,
        now: i64,
    ) -> Result<MemberAdded, StoreError> {
        let added = on_pool!(self, pool => {
            sqlx::query(JOIN)
                .bind(room)
                .bind(account_id)
                .bind(now)
                .bind(MAX_MEMBERS as i64)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if added == 1 {
            return Ok(MemberAdded::Added);
        }
        let member: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(IS_MEMBER).bind(room).bind(account_id).fetch_one(pool).await?
        });
        Ok(if member > 0 {
            MemberAdded::Already
        } else {
            MemberAdded::Full
        })
    }

    /// Takes `account_id` out of `room`; whether they were a member.
    pub async fn remove_member(&self, room: RoomId, account_id: i64) -> Result<bool, StoreError> {
        const DELETE: &str = "DELETE FROM room_members WHERE room_id = $1 AND account_id = $2";
        Ok(on_pool!(self, pool => {
            sqlx::query(DELETE).bind(room).bind(account_id).execute(pool).await?.rows_affected()
        }) == 1)
    }

    /// Makes the member `account_id` of `room` an owner or not; whether
    /// they are a member.
    pub async fn set_owner(
        &self,
        room: RoomId,
        account_id: i64,
        owner: bool,
    ) -> Result<bool, StoreError> {
        const UPDATE: &str =
            "UPDATE room_members SET owner = $3 WHERE room_id = $1 AND account_id = $2";
        Ok(on_pool!(self, pool => {
            sqlx::query(UPDATE)
                .bind(room)
                .bind(account_id)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        }) == 1)
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
