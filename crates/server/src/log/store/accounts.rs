//! Accounts and sessions in the database, the same on both backends: the
//! statements use `$1`, `$2`, … in order, which SQLite reads as numbered
//! parameters too, so each is written once.

use chrono::{DateTime, Utc};
use shared::{account::Role, moderation::BanNotice};

use super::{Store, StoreError};

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub name: String,
    /// The PHC string of its password's Argon2id hash.
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Whether a ban was recorded (it may have ended: see [`Self::ban`]).
    pub banned: bool,
    pub ban_until: Option<DateTime<Utc>>,
    pub ban_reason: Option<String>,
    /// When the ban was made, by whom, and which messages go with it.
    pub ban_at: Option<DateTime<Utc>>,
    pub ban_by: Option<String>,
    pub ban_removes: Option<String>,
}

impl Account {
    /// Its ban, if one holds at `now`.
    pub fn ban(&self, now: DateTime<Utc>) -> Option<BanNotice> {
        let ban = BanNotice {
            reason: self.ban_reason.clone(),
            until: self.ban_until,
        };
        (self.banned && ban.holds_at(now)).then_some(ban)
    }

    /// If a ban holding at `now` takes a message sent at `sent` with it:
    /// the moderator who made it.
    pub fn ban_takes(&self, sent: DateTime<Utc>, now: DateTime<Utc>) -> Option<&str> {
        self.ban(now)?;
        let removes: shared::moderation::RemoveMessages =
            self.ban_removes.as_deref()?.parse().ok()?;
        removes
            .covers(sent, self.ban_at?)
            .then_some(self.ban_by.as_deref()?)
    }
}

/// The columns of an [`Account`], `a` being `accounts` and `b` its row of
/// `bans` (joined `LEFT`).
macro_rules! account_columns {
    () => {
        "a.id, a.name, a.password_hash, a.role, b.account_id IS NOT NULL AS banned, \
         b.until AS ban_until, b.reason AS ban_reason, b.created_at AS ban_at, \
         b.by_name AS ban_by, b.remove_messages AS ban_removes"
    };
}

/// A session's account and when the session was last seen.
#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    account: Account,
    last_seen_at: i64,
}

impl Store {
    /// Creates an account; `None` if an account holds `name_key` already.
    pub async fn create_account(
        &self,
        name: &str,
        name_key: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        const INSERT: &str = "INSERT INTO accounts (name, name_key, password_hash, created_at) \
                              VALUES ($1, $2, $3, $4) RETURNING id";
        let created: Result<i64, sqlx::Error> = on_pool!(self, pool => {
            sqlx::query_scalar(INSERT)
                .bind(name)
                .bind(name_key)
                .bind(password_hash)
                .bind(now)
                .fetch_one(pool)
                .await
        });
        match created {
            Ok(id) => Ok(Some(id)),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The account whose name has this key, if any.
    pub async fn account_by_key(&self, name_key: &str) -> Result<Option<Account>, StoreError> {
        const SELECT: &str = concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts a LEFT JOIN bans b ON b.account_id = a.id WHERE a.name_key = $1"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(name_key).fetch_optional(pool).await?
        }))
    }

    /// Whether an account holds this name key.
    pub async fn name_key_taken(&self, name_key: &str) -> Result<bool, StoreError> {
        Ok(self.account_by_key(name_key).await?.is_some())
    }

    /// Records a new session of `account_id` under its token's hash.
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        account_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at) \
                              VALUES ($1, $2, $3, $3)";
        on_pool!(self, pool => {
            sqlx::query(INSERT)
                .bind(token_hash)
                .bind(account_id)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The account of the session with this token hash, if the session
    /// was last seen at or after `seen_since`, and when it was last seen.
    pub async fn session_account(
        &self,
        token_hash: &[u8],
        seen_since: i64,
    ) -> Result<Option<(Account, i64)>, StoreError> {
        const SELECT: &str = concat!(
            "SELECT ",
            account_columns!(),
            ", s.last_seen_at FROM sessions s JOIN accounts a ON a.id = s.account_id \
             LEFT JOIN bans b ON b.account_id = a.id \
             WHERE s.token_hash = $1 AND s.last_seen_at >= $2"
        );
        let row: Option<SessionRow> = on_pool!(self, pool => {
            sqlx::query_as(SELECT)
                .bind(token_hash)
                .bind(seen_since)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|row| (row.account, row.last_seen_at)))
    }

    /// Marks the session as seen at `now`.
    pub async fn touch_session(&self, token_hash: &[u8], now: i64) -> Result<(), StoreError> {
        const UPDATE: &str = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
        on_pool!(self, pool => {
            sqlx::query(UPDATE).bind(token_hash).bind(now).execute(pool).await?;
        });
        Ok(())
    }

    /// Ends the session with this token hash (nothing if there is none).
    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM sessions WHERE token_hash = $1";
        on_pool!(self, pool => {
            sqlx::query(DELETE).bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }

    /// Forgets sessions last seen before `seen_before`; returns how many.
    pub async fn delete_idle_sessions(&self, seen_before: i64) -> Result<u64, StoreError> {
        const DELETE: &str = "DELETE FROM sessions WHERE last_seen_at < $1";
        Ok(on_pool!(self, pool => {
            sqlx::query(DELETE).bind(seen_before).execute(pool).await?.rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(removes: &str, until: Option<DateTime<Utc>>) -> Account {
        Account {
            id: 1,
            name: "troll".into(),
            password_hash: String::new(),
            role: Role::Member,
            banned: true,
            ban_until: until,
            ban_reason: Some("trolling".into()),
            ban_at: Some(Utc::now() - chrono::Duration::minutes(1)),
            ban_by: Some("mo".into()),
            ban_removes: Some(removes.into()),
        }
    }

    #[test]
    fn a_send_that_lands_after_a_ban_goes_with_it_if_the_ban_takes_its_window() {
        let now = Utc::now();
        assert_eq!(account("hour", None).ban_takes(now, now), Some("mo"));
        assert_eq!(account("none", None).ban_takes(now, now), None);
        let ended = Some(now - chrono::Duration::seconds(1));
        assert_eq!(
            account("all", ended).ban_takes(now, now),
            None,
            "an ended ban"
        );
        let not_banned = Account {
            banned: false,
            ..account("all", None)
        };
        assert_eq!(not_banned.ban_takes(now, now), None);
    }
}
