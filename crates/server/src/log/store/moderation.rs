//! Roles and the audit log in the database, the same SQL on both
//! backends except for the lock that keeps the last admin.

use chrono::{DateTime, Utc};
use shared::{account::Role, moderation::AuditEntry};
use sqlx::Connection;

use super::{Store, StoreError};

/// What setting an account's role did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleSet {
    /// The account (by its name as chosen) now has the role; the audit
    /// log says who gave it.
    Set {
        name: String,
    },
    NoSuchAccount,
    /// It is the last admin, and the role would take admin away.
    LastAdmin,
}

/// Sets the role where the account is not the last admin losing it.
const UPDATE_ROLE: &str = "UPDATE accounts SET role = $1 WHERE name_key = $2 \
     AND ($1 = 'admin' OR role <> 'admin' \
          OR (SELECT count(*) FROM accounts WHERE role = 'admin') > 1) \
     RETURNING name";

/// PostgreSQL: the admins' rows, locked until the transaction ends.
const LOCK_ADMINS: &str = "SELECT id FROM accounts WHERE role = 'admin' FOR UPDATE";

const INSERT_AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject, detail) \
     VALUES ($1, $2, 'set_role', $3, $4)";

/// Sets the role in `$transaction` (the last admin's excepted) and
/// records it; commits if it did.
macro_rules! set {
    ($transaction:ident, $name_key:expr, $role:expr, $by:expr, $at:expr) => {{
        let name: Option<String> = sqlx::query_scalar(UPDATE_ROLE)
            .bind($role.as_str())
            .bind($name_key)
            .fetch_optional(&mut *$transaction)
            .await?;
        match name {
            Some(name) => {
                sqlx::query(INSERT_AUDIT)
                    .bind($at)
                    .bind($by)
                    .bind(&name)
                    .bind($role.as_str())
                    .execute(&mut *$transaction)
                    .await?;
                $transaction.commit().await?;
                RoleSet::Set { name }
            }
            None => {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM accounts WHERE name_key = $1")
                        .bind($name_key)
                        .fetch_optional(&mut *$transaction)
                        .await?;
                match exists {
                    Some(_) => RoleSet::LastAdmin,
                    None => RoleSet::NoSuchAccount,
                }
            }
        }
    }};
}

impl Store {
    /// Gives the account whose name has `name_key` the `role`, as `by`
    /// (an admin's name, or the command line), and records it in the
    /// audit log, in one transaction. The last admin keeps the role.
    pub async fn set_role(
        &self,
        name_key: &str,
        role: Role,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<RoleSet, StoreError> {
        Ok(match self {
            // SQLite runs one writing statement at a time: the update's
            // count of admins is the one it writes against.
            Self::Sqlite(store) => {
                let mut transaction = store.pool().begin().await?;
                set!(transaction, name_key, role, by, at)
            }
            // PostgreSQL's statements see what was committed when each
            // began: two admins demoting each other at once would both
            // count two. Locking the admins' rows first makes the second
            // wait for the first and count again.
            Self::Postgres(store) => {
                let mut transaction = store.pool().begin().await?;
                sqlx::query(LOCK_ADMINS).execute(&mut *transaction).await?;
                set!(transaction, name_key, role, by, at)
            }
        })
    }

    /// Up to `limit` audit entries before id `before` (all when `None`),
    /// newest first.
    pub async fn audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        const SELECT: &str = "SELECT id, created_at, actor, action, subject, message_id, \
                              reason, detail, text FROM audit WHERE id < $1 \
                              ORDER BY id DESC LIMIT $2";
        type AuditRow = (
            i64,
            DateTime<Utc>,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<AuditRow> = on_pool!(self, pool => {
            sqlx::query_as(SELECT)
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, at, actor, action, subject, message_id, reason, detail, text)| AuditEntry {
                    id,
                    at,
                    actor,
                    action,
                    subject,
                    message_id,
                    reason,
                    detail,
                    text,
                },
            )
            .collect())
    }
}

/// [`Store::set_role`] for the operator's command line, on the database at
/// `url` without opening it as a server does (no lock on the SQLite file,
/// no writer): a server may be running on it. The database must exist
/// (and so must the account).
pub async fn set_role_at(
    url: &str,
    name_key: &str,
    role: Role,
    by: &str,
    at: DateTime<Utc>,
) -> Result<RoleSet, StoreError> {
    if url.starts_with("sqlite:") {
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)?
            .create_if_missing(false)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut connection)
            .await?;
        let mut transaction = connection.begin().await?;
        Ok(set!(transaction, name_key, role, by, at))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&mut connection)
            .await?;
        let mut transaction = connection.begin().await?;
        sqlx::query(LOCK_ADMINS).execute(&mut *transaction).await?;
        Ok(set!(transaction, name_key, role, by, at))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// What a ban did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BanSet {
    /// Recorded (or replaced an earlier ban of the account).
    Set {
        account: i64,
        name: String,
    },
    NoSuchAccount,
    /// The account is an admin, and the one banning may not ban admins.
    Admin,
    /// One does not ban oneself.
    Yourself,
}

impl Store {
    /// Bans the account whose name has `name_key` as `by` (an account,
    /// which may ban admins if `may_ban_admins`), recording it in the
    /// audit log, in one transaction; `remove` says which of its messages
    /// go with it (the audit says so; the caller removes them).
    pub async fn ban(
        &self,
        name_key: &str,
        ban: &shared::moderation::BanNotice,
        remove: shared::moderation::RemoveMessages,
        by: &super::Account,
        may_ban_admins: bool,
        at: DateTime<Utc>,
    ) -> Result<BanSet, StoreError> {
        const TARGET: &str = "SELECT id, name, role FROM accounts WHERE name_key = $1";
        const UPSERT: &str = "INSERT INTO bans \
             (account_id, until, reason, by_name, created_at, remove_messages) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET \
             until = excluded.until, reason = excluded.reason, by_name = excluded.by_name, \
             created_at = excluded.created_at, remove_messages = excluded.remove_messages";
        const AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject, reason, detail) \
             VALUES ($1, $2, 'ban', $3, $4, $5)";
        let detail = format!(
            "{}; messages removed: {}",
            ban.until.map_or_else(
                || "for good".to_owned(),
                |until| format!("until {}", until.to_rfc3339())
            ),
            serde_json::to_value(remove)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
        macro_rules! ban {
            ($pool:expr) => {{
                let mut transaction = $pool.begin().await?;
                let target: Option<(i64, String, String)> = sqlx::query_as(TARGET)
                    .bind(name_key)
                    .fetch_optional(&mut *transaction)
                    .await?;
                match target {
                    None => BanSet::NoSuchAccount,
                    Some((id, _, _)) if id == by.id => BanSet::Yourself,
                    Some((_, _, role)) if role == Role::Admin.as_str() && !may_ban_admins => {
                        BanSet::Admin
                    }
                    Some((id, name, _)) => {
                        sqlx::query(UPSERT)
                            .bind(id)
                            .bind(ban.until)
                            .bind(&ban.reason)
                            .bind(&by.name)
                            .bind(at)
                            .bind(remove.as_str())
                            .execute(&mut *transaction)
                            .await?;
                        sqlx::query(AUDIT)
                            .bind(at)
                            .bind(&by.name)
                            .bind(&name)
                            .bind(&ban.reason)
                            .bind(&detail)
                            .execute(&mut *transaction)
                            .await?;
                        transaction.commit().await?;
                        BanSet::Set { account: id, name }
                    }
                }
            }};
        }
        Ok(on_pool!(self, pool => ban!(pool)))
    }

    /// Ends the ban of the account whose name has `name_key`, as `by`:
    /// its name, and whether it was banned (`None`: no such account).
    /// Recorded in the audit log when a ban ended.
    pub async fn unban(
        &self,
        name_key: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(String, bool)>, StoreError> {
        const TARGET: &str = "SELECT id, name FROM accounts WHERE name_key = $1";
        const DELETE: &str = "DELETE FROM bans WHERE account_id = $1";
        const AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject) \
             VALUES ($1, $2, 'unban', $3)";
        macro_rules! unban {
            ($pool:expr) => {{
                let mut transaction = $pool.begin().await?;
                let target: Option<(i64, String)> = sqlx::query_as(TARGET)
                    .bind(name_key)
                    .fetch_optional(&mut *transaction)
                    .await?;
                match target {
                    None => None,
                    Some((id, name)) => {
                        let ended = sqlx::query(DELETE)
                            .bind(id)
                            .execute(&mut *transaction)
                            .await?
                            .rows_affected()
                            > 0;
                        if ended {
                            sqlx::query(AUDIT)
                                .bind(at)
                                .bind(by)
                                .bind(&name)
                                .execute(&mut *transaction)
                                .await?;
                        }
                        transaction.commit().await?;
                        Some((name, ended))
                    }
                }
            }};
        }
        Ok(on_pool!(self, pool => unban!(pool)))
    }

    /// The ids of the account `name`'s messages not yet deleted, sent at
    /// or after `since` (all when `None`), oldest first.
    pub async fn messages_of(
        &self,
        name: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<shared::MessageId>, StoreError> {
        const SELECT: &str = "SELECT id, created_at FROM messages \
             WHERE NOT guest AND username = $1 AND NOT deleted ORDER BY id";
        let rows: Vec<(i64, DateTime<Utc>)> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(name).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .filter(|(_, at)| since.is_none_or(|since| *at >= since))
            .map(|(id, _)| id)
            .collect())
    }
}

impl Store {
    /// Records a block of guests by `kind` on `key` (a name's key, or a
    /// client key), shown as `shown`, made by `by`, with the audit's
    /// entry, in one transaction: the block's id.
    #[allow(clippy::too_many_arguments)]
    pub async fn block(
        &self,
        kind: shared::moderation::BlockKind,
        key: &str,
        shown: &str,
        until: Option<DateTime<Utc>>,
        reason: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        const INSERT: &str = "INSERT INTO blocks (kind, key, shown, until, reason, by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        const AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject, reason, detail) \
             VALUES ($1, $2, 'block', $3, $4, $5)";
        let detail = format!(
            "{} {}",
            kind.as_str(),
            until.map_or_else(
                || "for good".to_owned(),
                |until| format!("until {}", until.to_rfc3339())
            )
        );
        macro_rules! block {
            ($pool:expr) => {{
                let mut transaction = $pool.begin().await?;
                let id: i64 = sqlx::query_scalar(INSERT)
                    .bind(kind.as_str())
                    .bind(key)
                    .bind(shown)
                    .bind(until)
                    .bind(reason)
                    .bind(by)
                    .bind(at)
                    .fetch_one(&mut *transaction)
                    .await?;
                sqlx::query(AUDIT)
                    .bind(at)
                    .bind(by)
                    .bind(shown)
                    .bind(reason)
                    .bind(&detail)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await?;
                id
            }};
        }
        Ok(on_pool!(self, pool => block!(pool)))
    }

    /// Every block, with its key, newest first (ended ones too: the
    /// caller keeps those that hold).
    pub async fn blocks(&self) -> Result<Vec<(String, shared::moderation::Block)>, StoreError> {
        const SELECT: &str = "SELECT id, kind, key, shown, until, reason, by_name, created_at \
             FROM blocks ORDER BY id DESC";
        type BlockRow = (
            i64,
            String,
            String,
            String,
            Option<DateTime<Utc>>,
            Option<String>,
            String,
            DateTime<Utc>,
        );
        let rows: Vec<BlockRow> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, kind, key, shown, until, reason, by, at)| {
                let kind = if kind == "name" {
                    shared::moderation::BlockKind::Name
                } else {
                    shared::moderation::BlockKind::Address
                };
                let block = shared::moderation::Block {
                    id,
                    kind,
                    value: shown,
                    until,
                    reason,
                    by,
                    at,
                };
                (key, block)
            })
            .collect())
    }

    /// Removes block `id` as `by`, with the audit's entry: what it
    /// blocked, if there was such a block.
    pub async fn unblock(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        const DELETE: &str = "DELETE FROM blocks WHERE id = $1 RETURNING shown";
        const AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject) \
             VALUES ($1, $2, 'unblock', $3)";
        macro_rules! unblock {
            ($pool:expr) => {{
                let mut transaction = $pool.begin().await?;
                let shown: Option<String> = sqlx::query_scalar(DELETE)
                    .bind(id)
                    .fetch_optional(&mut *transaction)
                    .await?;
                if let Some(shown) = &shown {
                    sqlx::query(AUDIT)
                        .bind(at)
                        .bind(by)
                        .bind(shown)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
                shown
            }};
        }
        Ok(on_pool!(self, pool => unblock!(pool)))
    }
}

impl Store {
    /// Every room's settings, by room id.
    pub async fn room_settings(
        &self,
    ) -> Result<std::collections::HashMap<super::RoomId, shared::room::RoomSettings>, StoreError>
    {
        const SELECT: &str = "SELECT id, slow_mode_secs, locked, archived, guests FROM rooms";
        let rows: Vec<(super::RoomId, i32, bool, bool, bool)> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, slow_mode_secs, locked, archived, guests)| {
                let settings = shared::room::RoomSettings {
                    slow_mode_secs: u32::try_from(slow_mode_secs).unwrap_or(0),
                    locked,
                    archived,
                    guests,
                };
                (id, settings)
            })
            .collect())
    }

    /// Sets `room`'s settings as `by`, with the audit's entry, in one
    /// transaction.
    pub async fn set_room_settings(
        &self,
        room: &super::RoomRecord,
        settings: shared::room::RoomSettings,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const UPDATE: &str = "UPDATE rooms SET slow_mode_secs = $1, locked = $2, archived = $3, \
             guests = $4 WHERE id = $5";
        const AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject, detail) \
             VALUES ($1, $2, 'room_settings', $3, $4)";
        let detail = serde_json::to_string(&settings).expect("settings always serialize");
        macro_rules! set {
            ($pool:expr) => {{
                let mut transaction = $pool.begin().await?;
                sqlx::query(UPDATE)
                    .bind(i32::try_from(settings.slow_mode_secs).unwrap_or(i32::MAX))
                    .bind(settings.locked)
                    .bind(settings.archived)
                    .bind(settings.guests)
                    .bind(room.id)
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query(AUDIT)
                    .bind(at)
                    .bind(by)
                    .bind(&room.name)
                    .bind(&detail)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await?;
            }};
        }
        on_pool!(self, pool => set!(pool));
        Ok(())
    }
}

/// An open report as stored: its id, the message, who reported it (by
/// name), why, when.
pub type OpenReport = (
    i64,
    shared::MessageId,
    String,
    Option<String>,
    DateTime<Utc>,
);

impl Store {
    /// Records `reporter`'s report of message `message` (one open report
    /// per reporter and message: a second answers the first's id).
    pub async fn report(
        &self,
        message: shared::MessageId,
        reporter: &str,
        reporter_name: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        const INSERT: &str = "INSERT INTO reports (message_id, reporter, reporter_name, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (message_id, reporter) WHERE closed_at IS NULL DO NOTHING RETURNING id";
        const EXISTING: &str = "SELECT id FROM reports \
             WHERE message_id = $1 AND reporter = $2 AND closed_at IS NULL";
        macro_rules! report {
            ($pool:expr) => {{
                let made: Option<i64> = sqlx::query_scalar(INSERT)
                    .bind(message)
                    .bind(reporter)
                    .bind(reporter_name)
                    .bind(reason)
                    .bind(at)
                    .fetch_optional($pool)
                    .await?;
                match made {
                    Some(id) => id,
                    None => {
                        sqlx::query_scalar(EXISTING)
                            .bind(message)
                            .bind(reporter)
                            .fetch_one($pool)
                            .await?
                    }
                }
            }};
        }
        Ok(on_pool!(self, pool => report!(pool)))
    }

    /// Up to `limit` open reports, oldest first.
    pub async fn open_reports(&self, limit: u32) -> Result<Vec<OpenReport>, StoreError> {
        const SELECT: &str = "SELECT id, message_id, reporter_name, reason, created_at \
             FROM reports WHERE closed_at IS NULL ORDER BY id LIMIT $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(i64::from(limit)).fetch_all(pool).await?
        }))
    }

    /// Report `id`'s message and whether the report is still open.
    pub async fn report_by_id(
        &self,
        id: i64,
    ) -> Result<Option<(shared::MessageId, bool)>, StoreError> {
        const SELECT: &str = "SELECT message_id, closed_at IS NULL FROM reports WHERE id = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Closes every open report of message `message` as `by` did
    /// `action`; a dismissal is recorded in the audit log (a removal or a
    /// ban is, as itself). How many were closed.
    pub async fn close_reports(
        &self,
        message: shared::MessageId,
        action: shared::moderation::ReportAction,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        const UPDATE: &str = "UPDATE reports SET closed_at = $1, closed_by = $2, action = $3 \
             WHERE message_id = $4 AND closed_at IS NULL";
        const AUDIT: &str = "INSERT INTO audit (created_at, actor, action, subject, message_id) \
             SELECT $1, $2, 'dismiss_reports', username, id FROM messages WHERE id = $3";
        macro_rules! close {
            ($pool:expr) => {{
                let mut transaction = $pool.begin().await?;
                let closed = sqlx::query(UPDATE)
                    .bind(at)
                    .bind(by)
                    .bind(action.as_str())
                    .bind(message)
                    .execute(&mut *transaction)
                    .await?
                    .rows_affected();
                if closed > 0 && action == shared::moderation::ReportAction::Dismiss {
                    sqlx::query(AUDIT)
                        .bind(at)
                        .bind(by)
                        .bind(message)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
                closed
            }};
        }
        Ok(on_pool!(self, pool => close!(pool)))
    }
}

/// The most admins and moderators the room list names.
pub const MAX_STAFF: i64 = 1000;

impl Store {
    /// The accounts with more than a member's role, by name.
    pub async fn staff(&self) -> Result<Vec<shared::account::StaffMember>, StoreError> {
        const SELECT: &str =
            "SELECT name, role FROM accounts WHERE role <> 'member' ORDER BY name LIMIT $1";
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as(SELECT).bind(MAX_STAFF).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(name, role)| shared::account::StaffMember {
                name,
                role: role.parse().unwrap_or_default(),
            })
            .collect())
    }
}
