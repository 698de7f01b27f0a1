//! Messages survive a restart on the same database file.

mod support;

use support::{spawn_app, temp_database};

#[tokio::test]
async fn acknowledged_messages_survive_a_restart() {
    let (_dir, db) = temp_database();
    let app = spawn_app(db.clone()).await;
    let sent = vec![
        app.send("ada", "first").await,
        app.send("grace", "second").await,
    ];
    app.shutdown().await;

    let restarted = spawn_app(db).await;
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
    let app = spawn_app(db.clone()).await;
    assert!(db.exists(), "{} should exist", db.display());
    app.shutdown().await;
}
