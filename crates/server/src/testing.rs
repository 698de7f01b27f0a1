//! Helpers for this crate's unit tests.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use shared::{ChatMessage, MessageId};
use uuid::Uuid;

use crate::{
    log::hub::Published,
    log::store::{Durability, Store},
};

/// A store on a fresh file (an in-memory database would be one per pooled
/// connection), living as long as the returned folder.
pub async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store = Store::open(&url, Durability::Full).await.expect("opens");
    (dir, store)
}

/// The chat service on `store`, running until the test ends.
pub async fn start_chat(store: Store, hub: crate::log::hub::Hub) -> crate::log::chat::Chat {
    let stop = tokio_util::sync::CancellationToken::new();
    crate::log::chat::Chat::start(store, hub, stop)
        .await
        .expect("chat")
}

/// A stored-looking message with id `id` and text `m<id>`.
pub fn message(id: MessageId) -> ChatMessage {
    ChatMessage {
        id,
        room: shared::GENERAL.into(),
        client_id: Uuid::now_v7(),
        username: "ada".into(),
        text: format!("m{id}"),
        timestamp: Utc::now(),
        guest: true,
        ..Default::default()
    }
}

/// [`message`]`(id)`, framed for the hub.
pub fn published(id: MessageId) -> Arc<Published> {
    Arc::new(Published::new(&message(id)))
}

/// The ids of the events in `frames`, in order.
pub fn frame_ids(frames: &Bytes) -> Vec<MessageId> {
    String::from_utf8_lossy(frames)
        .lines()
        .filter_map(|line| line.strip_prefix("id: ")?.parse().ok())
        .collect()
}
