//! Invite links to private rooms in the database, the same on both
//! backends: a code, its room, when it expires and how many uses it has
//! left. Using one takes a use and adds the member in one transaction, so
//! a link with one use lets one person in however many try at once, and a
//! use is taken only from someone who joined.

use shared::room::MAX_MEMBERS;

use super::{
    RoomId, Store, StoreError,
    rooms::{IS_MEMBER, JOIN},
};

/// An invite link as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct InviteRecord {
    pub code: String,
    pub room_id: RoomId,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: any number.
    pub uses_left: Option<i64>,
}

/// What [`Store::create_invite`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum InviteCreated {
    Created,
    /// The room holds as many live invites as it may.
    Full,
}

/// What using an invite did.
#[derive(Debug, PartialEq, Eq)]
pub enum InviteUsed {
    /// The account joined the room (a use taken).
    Joined(RoomId),
    /// The account was a member already (no use taken).
    Already(RoomId),
    /// The room holds [`MAX_MEMBERS`] (no use taken).
    RoomFull(RoomId),
    /// No such code, or it expired, ran out or was revoked.
    Gone,
}

impl Store {
    /// Stores an invite to its room unless the room holds `max_live` live
    /// invites (checked in the inserting statement); those that expired or
    /// ran out are deleted first.
    pub async fn create_invite(
        &self,
        invite: &InviteRecord,
        created_by: i64,
        now: i64,
        max_live: usize,
    ) -> Result<InviteCreated, StoreError> {
        const PAST: &str = "DELETE FROM room_invites WHERE room_id = $1 \
                            AND (expires_at <= $2 OR uses_left = 0)";
        const INSERT: &str = "INSERT INTO room_invites \
                              (code, room_id, created_by, created_at, expires_at, uses_left) \
                              SELECT $1, $2, $3, $4, $5, $6 \
                              WHERE (SELECT count(*) FROM room_invites WHERE room_id = $2) < $7";
        let inserted = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(PAST)
                .bind(invite.room_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(INSERT)
                .bind(&invite.code)
                .bind(invite.room_id)
                .bind(created_by)
                .bind(now)
                .bind(invite.expires_at)
                .bind(invite.uses_left)
                .bind(max_live as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            inserted
        });
        Ok(if inserted == 1 {
            InviteCreated::Created
        } else {
            InviteCreated::Full
        })
    }

    /// `room`'s invites that have not expired nor run out, newest first.
    pub async fn invites_of(
        &self,
        room: RoomId,
        now: i64,
    ) -> Result<Vec<InviteRecord>, StoreError> {
        const SELECT: &str = "SELECT code, room_id, expires_at, uses_left FROM room_invites \
                              WHERE room_id = $1 AND expires_at > $2 \
                              AND (uses_left IS NULL OR uses_left > 0) \
                              ORDER BY created_at DESC, code";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(room).bind(now).fetch_all(pool).await?
        }))
    }

    /// The live invite `code` (not expired, not run out), if any.
    pub async fn invite(&self, code: &str, now: i64) -> Result<Option<InviteRecord>, StoreError> {
        const SELECT: &str = "SELECT code, room_id, expires_at, uses_left FROM room_invites \
                              WHERE code = $1 AND expires_at > $2 \
                              AND (uses_left IS NULL OR uses_left > 0)";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(code).bind(now).fetch_optional(pool).await?
        }))
    }

    /// Deletes `room`'s invite `code`; whether there was one.
    pub async fn revoke_invite(&self, room: RoomId, code: &str) -> Result<bool, StoreError> {
        const DELETE: &str = "DELETE FROM room_invites WHERE room_id = $1 AND code = $2";
        Ok(on_pool!(self, pool => {
            sqlx::query(DELETE).bind(room).bind(code).execute(pool).await?.rows_affected()
        }) == 1)
    }

    /// Adds `account_id` to the room of the live invite `code`, taking one
    /// of its uses, as one step.
    pub async fn use_invite(
        &self,
        code: &str,
        account_id: i64,
        now: i64,
    ) -> Result<InviteUsed, StoreError> {
        // The use is taken first: a write, so that SQLite holds its write
        // lock from here on and PostgreSQL locks the invite's row (two
        // people using the last use at once: the second finds none left).
        const TAKE: &str = "UPDATE room_invites SET uses_left = uses_left - 1 \
                            WHERE code = $1 AND expires_at > $2 \
                            AND (uses_left IS NULL OR uses_left > 0) \
                            RETURNING room_id";
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let room: Option<RoomId> = sqlx::query_scalar(TAKE)
                .bind(code)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(room) = room else {
                return Ok(InviteUsed::Gone);
            };
            let joined = sqlx::query(JOIN)
                .bind(room)
                .bind(account_id)
                .bind(now)
                .bind(MAX_MEMBERS as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if joined == 1 {
                tx.commit().await?;
                InviteUsed::Joined(room)
            } else {
                let member: i64 = sqlx::query_scalar(IS_MEMBER)
                    .bind(room)
                    .bind(account_id)
                    .fetch_one(&mut *tx)
                    .await?;
                // Dropped, the transaction rolls back: the use stays.
                if member > 0 {
                    InviteUsed::Already(room)
                } else {
                    InviteUsed::RoomFull(room)
                }
            }
        }))
    }
}
