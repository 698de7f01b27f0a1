//! A fresh PostgreSQL database per test, on the cluster that
//! `CHAT_TEST_POSTGRES_URL` names (`cargo xtask test` starts one).

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The variable naming a database on the test cluster, e.g.
/// `postgres://chat@127.0.0.1:5432/postgres`.
pub const URL_VARIABLE: &str = "CHAT_TEST_POSTGRES_URL";

/// The URL of a new, empty database on the test cluster. Without a
/// cluster: `None` and a notice, except in CI, where that is a failure.
pub async fn fresh_database() -> Option<String> {
    let Ok(admin) = std::env::var(URL_VARIABLE) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{URL_VARIABLE} must be set in CI (`cargo xtask test` sets it)"
        );
        eprintln!("skipped: set {URL_VARIABLE} to run the PostgreSQL tests");
        return None;
    };
    let name = format!("chat_test_{}", Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&admin)
        .await
        .expect("connects to the test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .expect("creates a database");
    let (cluster, _) = admin.rsplit_once('/').expect("the URL names a database");
    Some(format!("{cluster}/{name}"))
}

/// Ends every connection on which the chat servers on `url`'s database
/// listen for appends (not those for presence), as a network failure or a
/// restart of PostgreSQL would; returns how many.
pub async fn drop_listener_connections(url: &str) -> u64 {
    let admin = std::env::var(URL_VARIABLE).expect("a test cluster");
    let database = url.rsplit_once('/').expect("the URL names a database").1;
    let mut connection = PgConnection::connect(&admin).await.expect("connects");
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND query ILIKE 'LISTEN %chat_messages%'",
    )
    .bind(database)
    .fetch_all(&mut connection)
    .await
    .expect("ends listeners");
    ended.into_iter().filter(|ended| *ended).count() as u64
}
