//! The chat service: validate, store, broadcast.
//!
//! Sends from every request go through one channel to a single writer task.
//! The writer takes whatever is queued (up to [`MAX_BATCH`]), stores it in
//! one transaction (group commit), and only after the commit publishes the
//! new messages to the [`Hub`] and answers each sender. One writer means the
//! hub sees messages in exactly the order of their ids, and a send is never
//! acknowledged or broadcast before it is durable.

use std::sync::Arc;

use app::{
    api::CallError,
    service::{ChatService, Page},
};
use bytes::Bytes;
use futures::{FutureExt, future::BoxFuture};
use shared::{ChatMessage, MAX_PAGE_SIZE, MessageId, NewMessage, SendMessage, ValidationError};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    hub::{Hub, Published},
    recent::Recent,
    store::{Draft, Store, StoreError, Stored, Writer},
};

/// The most sends stored in one transaction.
pub const MAX_BATCH: usize = 256;
/// How many sends may wait for the writer before senders wait too.
const QUEUE: usize = 4096;

/// Why a send was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database failed; the cause was logged by the writer.
    #[error("the message could not be stored")]
    Storage,
}

#[derive(Debug)]
struct SendJob {
    draft: Draft,
    reply: oneshot::Sender<Result<Stored, ChatError>>,
}

/// A handle to the chat service; cheap to clone. The writer task stops once
/// every handle is dropped and the queued sends are stored.
#[derive(Clone, Debug)]
pub struct Chat {
    store: Store,
    hub: Hub,
    recent: Arc<Recent>,
    writer: mpsc::Sender<SendJob>,
}

impl Chat {
    /// Reads the newest messages into memory and starts the writer task on
    /// the current Tokio runtime.
    pub async fn start(store: Store, hub: Hub) -> Result<Self, StoreError> {
        let recent = Arc::new(Recent::new(store.latest(MAX_PAGE_SIZE).await?));
        let connection = store.writer().await?;
        let (writer, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(
            connection,
            hub.clone(),
            Arc::clone(&recent),
            jobs,
        ));
        Ok(Self {
            store,
            hub,
            recent,
            writer,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The newest `limit` messages (at most [`MAX_PAGE_SIZE`]), oldest
    /// first, from memory.
    pub fn latest(&self, limit: u32) -> Vec<ChatMessage> {
        self.recent.latest(limit)
    }

    /// The id of the newest stored message, if any, from memory.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.recent.newest_id()
    }

    /// The frames of every message after `after`, shared, if the
    /// in-memory window holds them all (see [`Recent::frames_after`]).
    pub fn frames_after(&self, after: MessageId) -> Option<Vec<Arc<Published>>> {
        self.recent.frames_after(after)
    }

    /// `latest(DEFAULT_PAGE_SIZE)` as JSON, encoded once per change.
    pub fn latest_json(&self) -> Bytes {
        self.recent.default_page_json()
    }

    /// Validates and stores a message, then broadcasts it if it is new.
    pub async fn send(&self, request: SendMessage) -> Result<Stored, ChatError> {
        let message = NewMessage::parse(&request.username, &request.text)?;
        let draft = Draft {
            // Time-ordered, like the page's: consecutive ids land side by side
            // in the unique index, so a batch touches few of its pages.
            client_id: request.client_id.unwrap_or_else(Uuid::now_v7),
            message,
        };
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(SendJob { draft, reply })
            .await
            .map_err(|_| ChatError::Storage)?;
        answer.await.map_err(|_| ChatError::Storage)?
    }
}

async fn write_loop(
    mut store: Writer,
    hub: Hub,
    recent: Arc<Recent>,
    mut jobs: mpsc::Receiver<SendJob>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (drafts, replies): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|job| (job.draft, job.reply)).unzip();
        match store.insert_batch(&drafts).await {
            Ok(results) => {
                // Each new message is framed once: the window replays these
                // bytes and the hub sends them.
                let new: Vec<(&ChatMessage, Arc<Published>)> = results
                    .iter()
                    .filter_map(|stored| match stored {
                        Stored::New(message) => Some((message, Arc::new(Published::new(message)))),
                        Stored::Existing(_) => None,
                    })
                    .collect();
                // Newest in memory first, then published: a stream that
                // subscribed before this reads it from one or the other.
                recent.extend(new.iter().map(|(message, frame)| (*message, frame)));
                for (_, frame) in new {
                    hub.publish(frame);
                }
                for (reply, stored) in replies.into_iter().zip(results) {
                    // The sender may have given up (client gone); the message stays stored.
                    let _ = reply.send(Ok(stored));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, batch = drafts.len(), "storing messages failed");
                for reply in replies {
                    let _ = reply.send(Err(ChatError::Storage));
                }
            }
        }
    }
    tracing::debug!("message writer stopped");
}

/// The server functions' view of the service.
impl ChatService for Chat {
    fn history(
        &self,
        page: Page,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, CallError>> {
        async move {
            let page = match page {
                Page::Latest => Ok(self.latest(limit)),
                Page::Before(before) => self.store.before(before, limit).await,
                Page::After(after) => self.store.after(after, limit).await,
            };
            page.map_err(|err| {
                tracing::error!(error = %err, "reading history failed");
                CallError::Unavailable
            })
        }
        .boxed()
    }

    fn send(&self, request: SendMessage) -> BoxFuture<'_, Result<ChatMessage, CallError>> {
        async move {
            match Chat::send(self, request).await {
                Ok(stored) => Ok(stored.into_message()),
                Err(ChatError::Invalid(invalid)) => Err(CallError::Invalid(invalid)),
                Err(ChatError::Storage) => Err(CallError::Unavailable),
            }
        }
        .boxed()
    }
}
