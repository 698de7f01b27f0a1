//! Messages survive a restart on the same database file.

mod support;

use support::{spawn_app_at, temp_database};

#[tokio::test]
async fn acknowledged_messages_survive_a_restart() {
    let (_dir, db) = temp_database();
    let app = spawn_app_at(db.clone()).await;
    let sent = vec![
        app.send("ada", "first").await,
        app.send("grace", "second").await,
    ];
    app.shutdown().await;

    let restarted = spawn_app_at(db).await;
    assert_eq!(restarted.history("").await, sent);

    // Ids keep increasing after the restart.
    let next = restarted.send("ada", "third").await;
    assert!(next["id"].as_i64() > sent[1]["id"].as_i64());
    restarted.shutdown().await;
}

#[tokio::test]
async fn database_file_and_folder_are_created_on_first_start() {
    let (_dir, db) = temp_database();
    assert!(!db.exists());
    let app = spawn_app_at(db.clone()).await;
    assert!(db.exists(), "{} should exist", db.display());
    app.shutdown().await;
}

#[tokio::test]
async fn a_second_server_on_the_same_file_refuses_to_start() {
    let (_dir, db) = temp_database();
    let app = spawn_app_at(db.clone()).await;
    let Err(err) = support::try_spawn_app_at(db).await else {
        panic!("the second server must not start");
    };
    assert!(
        err.to_string().contains("another server is using"),
        "{err:#}"
    );
    // The first one is unaffected.
    app.send("ada", "still here").await;
    app.shutdown().await;
}

#[tokio::test]
async fn nothing_is_acknowledged_after_the_database_file_is_removed() {
    let (_dir, db) = temp_database();
    let app = spawn_app_at(db.clone()).await;
    app.send("ada", "before").await;

    std::fs::remove_file(&db).expect("removes the file");
    let response = app
        .post(&serde_json::json!({ "username": "ada", "text": "after" }))
        .await;
    assert_eq!(response.status(), 503);
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 503);
    assert_eq!(
        health.text().await.expect("text"),
        "database file removed or replaced"
    );
    app.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, db) = temp_database();
    let app = spawn_app_at(db.clone()).await;
    app.send("ada", "secret").await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().expect("folder")), 0o700);
    let wal = db.with_extension("db-wal");
    assert_eq!(mode(&wal), 0o600, "{}", wal.display());
    app.shutdown().await;
}
