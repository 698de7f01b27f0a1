//! The keys of account and room names (what makes two names one, see
//! [`shared::names::name_key`]) as the database holds them: each row keeps
//! its key, so that a name is found, and refused as taken, by an indexed
//! read. When the way keys are made changes, the keys a database holds are
//! made again as the server opens it, once: the `name_keys` table says
//! which way made them.
//!
//! Two names that had different keys may now share one (`paypal` and
//! `paypaI` both existed before look-alike capitals were folded): the
//! older row takes the new key, the newer keeps its old one (its name
//! is then found as the older one's) and a warning names both.

use shared::names::name_key;

use super::{Store, StoreError};

/// The way keys are made now. 1: lower case, then the confusable
/// skeleton (accounts) or lower case only (rooms); 2: compatibility
/// forms, then the skeleton before and after lower case, for both.
pub const NAME_KEYS_VERSION: i64 = 2;

/// The tables whose rows have a `name` and its `name_key`.
const TABLES: [&str; 2] = ["accounts", "rooms"];

/// The body of [`bring_up_to_date`] on a transaction of either backend
/// (the statements are the same text on both).
macro_rules! rekey {
    ($tx:ident) => {
        let version: i64 = sqlx::query_scalar("SELECT version FROM name_keys")
            .fetch_one(&mut *$tx)
            .await?;
        if version < NAME_KEYS_VERSION {
            for table in TABLES {
                let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
                    "SELECT id, name, name_key FROM {table} ORDER BY id"
                ))
                .fetch_all(&mut *$tx)
                .await?;
                let mut changed = 0_u64;
                for (id, name, old) in rows {
                    let new = name_key(&name);
                    if new == old {
                        continue;
                    }
                    let holder: Option<String> = sqlx::query_scalar(&format!(
                        "SELECT name FROM {table} WHERE name_key = $1"
                    ))
                    .bind(&new)
                    .fetch_optional(&mut *$tx)
                    .await?;
                    if let Some(holder) = holder {
                        tracing::warn!(
                            table,
                            name,
                            looks_like = holder,
                            "two names made earlier now look the same; the newer keeps its old key and is found as the older"
                        );
                        continue;
                    }
                    sqlx::query(&format!("UPDATE {table} SET name_key = $1 WHERE id = $2"))
                        .bind(&new)
                        .bind(id)
                        .execute(&mut *$tx)
                        .await?;
                    changed += 1;
                }
                if changed > 0 {
                    tracing::info!(table, changed, "name keys made again");
                }
            }
            sqlx::query("UPDATE name_keys SET version = $1")
                .bind(NAME_KEYS_VERSION)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Remakes every key made an older way, in one transaction (on PostgreSQL
/// under a lock, so servers starting at once do it once).
pub(super) async fn bring_up_to_date(store: &Store) -> Result<(), StoreError> {
    match store {
        Store::Sqlite(store) => {
            let mut tx = store.pool().begin().await?;
            rekey!(tx);
            tx.commit().await?;
        }
        Store::Postgres(store) => {
            let mut tx = store.pool().begin().await?;
            sqlx::query("LOCK TABLE name_keys IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            rekey!(tx);
            tx.commit().await?;
        }
    }
    Ok(())
}
