//! The chat service: store, then broadcast. What a caller may send, and
//! under which name, is decided before, at the caller door
//! ([`crate::door::caller`]); a [`NewMessage`] has passed the shared rules.
//!
//! Sends and changes (edits, deletions, reactions) from every request go
//! through one channel to this server's single writer: a thread of its own
//! on SQLite, a task on PostgreSQL. The writer takes whatever is queued
//! (up to [`MAX_BATCH`]), stores it in one transaction on SQLite (group
//! commit; on PostgreSQL each batch of sends, and each change, in its
//! own), and only after the commit has the new entries published (see
//! [`crate::log::fanout`]) and answers each sender once its entry is
//! published here. So a send is never
//! acknowledged or broadcast before it is durable, and a sender that reads
//! history after its acknowledgement sees its own message.

use std::{collections::HashMap, sync::Arc, time::Duration};

use bytes::Bytes;
use shared::{
    ChatMessage, MAX_PAGE_SIZE, MessageCount, MessageId, NewMessage, history::Page, message::Quote,
    room::ReadPosition,
};
use tokio::{
    runtime::Handle,
    sync::{mpsc, oneshot},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    log::fanout::{self, Fanout},
    log::hub::{Hub, Published},
    log::recent::Recent,
    log::store::{
        Batch, ChangeDraft, Changed, Done, Draft, Entry, RoomCounts, RoomRecord, SqliteWriter,
        Store, StoreError, Stored, Work, Writer,
    },
    log::visibility::Visibility,
};

/// The most sends stored in one transaction.
pub const MAX_BATCH: usize = 256;
/// How many sends may wait for the writer before senders wait too.
const QUEUE: usize = 4096;

/// Why a send was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The database failed; the cause was logged by the writer.
    #[error("the message could not be stored")]
    Storage,
}

/// What the writer is asked to do, in the order asked.
#[derive(Debug)]
enum Job {
    Send(SendJob),
    Change(ChangeJob),
}

#[derive(Debug)]
struct SendJob {
    draft: Draft,
    reply: Reply,
}

/// Where a sender waits for what became of its draft.
type Reply = oneshot::Sender<Result<Stored, ChatError>>;

#[derive(Debug)]
struct ChangeJob {
    draft: ChangeDraft,
    reply: oneshot::Sender<Result<Changed, ChatError>>,
}

/// A handle to the chat service; cheap to clone. The writer stops once
/// every handle is dropped and the queued sends are stored.
#[derive(Clone, Debug)]
pub struct Chat {
    store: Store,
    hub: Hub,
    recent: Arc<Recent>,
    fanout: Fanout,
    writer: mpsc::Sender<Job>,
    visibility: Visibility,
}

impl Chat {
    /// Reads the newest messages into memory and starts the writer (and,
    /// for a log with several writers, the task that follows it; on the
    /// current Tokio runtime). Following stops at `stop`.
    pub async fn start(
        store: Store,
        hub: Hub,
        stop: CancellationToken,
    ) -> Result<Self, StoreError> {
        let visibility = Visibility::default();
        visibility.set(&store.rooms().await?, &store.memberships().await?);
        let recent = Arc::new(Recent::new(
            store.newest(MAX_PAGE_SIZE).await?,
            &store.newest_entries(MAX_PAGE_SIZE).await?,
        ));
        let counts = match recent.newest_id() {
            Some(newest) => store.counts_through(newest).await?,
            None => RoomCounts::new(),
        };
        // A log with several writers is in step once it is followed.
        let fanout = Fanout::new(
            Arc::clone(&recent),
            hub.clone(),
            store.single_writer(),
            counts,
            visibility.clone(),
        );
        let (writer, jobs) = mpsc::channel(QUEUE);
        match store.writer().await? {
            Writer::Sqlite(connection) => {
                let (fanout, runtime) = (fanout.clone(), Handle::current());
                std::thread::Builder::new()
                    .name("chat-writer".into())
                    .spawn(move || write_thread(connection, &fanout, jobs, &runtime))
                    .expect("a thread for the writer");
            }
            connection @ Writer::Postgres(_) => {
                tokio::spawn(write_loop(connection, fanout.clone(), jobs));
            }
        }
        tokio::spawn(fanout::follow(store.clone(), fanout.clone(), stop));
        Ok(Self {
            store,
            hub,
            recent,
            fanout,
            writer,
            visibility,
        })
    }

    /// Who may see which room: read from the store as the chat starts,
    /// kept up to date by the rooms (`door::rooms`), followed by every
    /// stream.
    pub fn visibility(&self) -> &Visibility {
        &self.visibility
    }

    /// How many messages `room` holds, as of the newest this server
    /// published.
    pub fn count(&self, room: &RoomRecord) -> MessageCount {
        self.fanout.count(&room.name)
    }

    /// How many messages each room holds, as of the newest this server
    /// published (rooms with none are left out).
    pub fn counts(&self) -> (MessageId, HashMap<String, u64>) {
        self.fanout.counts()
    }

    /// Whether the database answers and this server's streams are in step
    /// with the message log.
    /// Within [`HEALTH_TIMEOUT`] whatever the database does: a load
    /// balancer's check must not wait on a database that stopped answering.
    pub async fn health(&self) -> Result<(), Unhealthy> {
        tokio::time::timeout(HEALTH_TIMEOUT, self.store.ping())
            .await
            .map_err(|_| Unhealthy::NotAnswering)?
            .map_err(Unhealthy::Store)?;
        if self.fanout.in_step() {
            Ok(())
        } else {
            Err(Unhealthy::NotFollowing)
        }
    }

    /// A subscription to everything published from now on: messages as
    /// their commits are followed, and passing events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Published>> {
        self.hub.subscribe()
    }

    /// Up to `limit` entries of the log after `after`, from the store (a
    /// stream catching up from further back than memory holds).
    pub async fn stored_after(
        &self,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<Entry>, StoreError> {
        self.store.after(after, limit).await
    }

    /// How far `account` has read each room, by the room's name.
    pub async fn read_positions(
        &self,
        account: i64,
    ) -> Result<HashMap<String, ReadPosition>, StoreError> {
        self.store.read_positions(account).await
    }

    /// Records that `account` has read `room` as far as `position` (never
    /// back).
    pub async fn mark_read(
        &self,
        account: i64,
        room: &RoomRecord,
        position: ReadPosition,
    ) -> Result<(), StoreError> {
        self.store.mark_read(account, room.id, position).await
    }

    /// The message `id` as it now is, if there is one.
    pub async fn message(&self, id: MessageId) -> Result<Option<ChatMessage>, StoreError> {
        self.store.message(id).await
    }

    /// The texts that edits of message `id` replaced, oldest first.
    pub async fn versions(&self, id: MessageId) -> Result<Vec<String>, StoreError> {
        self.store.versions(id).await
    }

    /// Up to `limit` entries of the audit log before id `before` (all
    /// when `None`), newest first.
    pub async fn audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<shared::moderation::AuditEntry>, StoreError> {
        self.store.audit(before, limit).await
    }

    /// Bans an account (see [`Store::ban`]).
    pub async fn ban(
        &self,
        name_key: &str,
        ban: &shared::moderation::BanNotice,
        remove: shared::moderation::RemoveMessages,
        by: &crate::log::store::Account,
        may_ban_admins: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::log::store::BanSet, StoreError> {
        self.store
            .ban(name_key, ban, remove, by, may_ban_admins, at)
            .await
    }

    /// Ends an account's ban (see [`Store::unban`]).
    pub async fn unban(
        &self,
        name_key: &str,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<(String, bool)>, StoreError> {
        self.store.unban(name_key, by, at).await
    }

    /// Records a report of message `message` (see [`Store::report`]).
    pub async fn report(
        &self,
        message: MessageId,
        reporter: &str,
        reporter_name: &str,
        reason: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.store
            .report(message, reporter, reporter_name, reason, chrono::Utc::now())
            .await
    }

    /// Up to `limit` open reports, oldest first.
    pub async fn open_reports(
        &self,
        limit: u32,
    ) -> Result<Vec<crate::log::store::OpenReport>, StoreError> {
        self.store.open_reports(limit).await
    }

    /// Report `id`'s message, and whether it is open.
    pub async fn report_by_id(&self, id: i64) -> Result<Option<(MessageId, bool)>, StoreError> {
        self.store.report_by_id(id).await
    }

    /// Closes the open reports of `message` (see [`Store::close_reports`]).
    pub async fn close_reports(
        &self,
        message: MessageId,
        action: shared::moderation::ReportAction,
        by: &str,
    ) -> Result<u64, StoreError> {
        self.store
            .close_reports(message, action, by, chrono::Utc::now())
            .await
    }

    /// The account `name`'s messages not yet deleted since `since`.
    pub async fn messages_of(
        &self,
        name: &str,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<MessageId>, StoreError> {
        self.store.messages_of(name, since).await
    }

    /// The id of the log's newest entry, if any, from memory.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.recent.newest_id()
    }

    /// The frames of every message after `after`, shared, if the
    /// in-memory window holds them all (see [`Recent::frames_after`]).
    pub fn frames_after(&self, after: MessageId) -> Option<Vec<Arc<Published>>> {
        self.recent.frames_after(after)
    }

    /// Up to `limit` messages of `room`'s `page`, oldest first: the
    /// newest from memory when the window holds them, the rest from the
    /// store.
    pub async fn page(
        &self,
        room: &RoomRecord,
        page: Page,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        match page {
            Page::Latest => match self.recent.latest_in(&room.name, limit) {
                Some(latest) => Ok(latest),
                None => self.store.latest(room.id, limit).await,
            },
            Page::Before(before) => self.store.before(room.id, before, limit).await,
            Page::After(after) => self.store.after_in(room.id, after, limit).await,
        }
    }

    /// `room`'s latest page of [`shared::DEFAULT_PAGE_SIZE`] as JSON,
    /// encoded once per change when the window holds it.
    pub async fn latest_json(&self, room: &RoomRecord) -> Result<Bytes, StoreError> {
        if let Some(json) = self.recent.default_page_json(&room.name) {
            return Ok(json);
        }
        let page = self
            .store
            .latest(room.id, shared::DEFAULT_PAGE_SIZE)
            .await?;
        Ok(Bytes::from(
            serde_json::to_vec(&page).expect("a ChatMessage always serializes"),
        ))
    }

    /// Stores `message` (validated) in `room` and publishes it, sent by a
    /// guest or an account, answering `reply` (a message of the same room)
    /// if given: acknowledged once committed and published here. A
    /// `client_id` stored before returns that message instead.
    pub async fn send(
        &self,
        room: &RoomRecord,
        client_id: Option<Uuid>,
        message: NewMessage,
        guest: bool,
        reply: Option<Quote>,
    ) -> Result<Stored, ChatError> {
        let draft = Draft {
            // Time-ordered, like the page's: consecutive ids land side by side
            // in the unique index, so a batch touches few of its pages.
            client_id: client_id.unwrap_or_else(Uuid::now_v7),
            room: room.clone(),
            message,
            guest,
            reply,
        };
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job::Send(SendJob { draft, reply }))
            .await
            .map_err(|_| ChatError::Storage)?;
        answer.await.map_err(|_| ChatError::Storage)?
    }

    /// Applies a change (checked by the caller door) if the message may
    /// take it, and publishes it as the log's next entry: acknowledged
    /// once committed and published here, like a send. A `client_id` that
    /// changed something before changes nothing again.
    pub async fn change(&self, draft: ChangeDraft) -> Result<Changed, ChatError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job::Change(ChangeJob { draft, reply }))
            .await
            .map_err(|_| ChatError::Storage)?;
        answer.await.map_err(|_| ChatError::Storage)?
    }
}

/// How long [`Chat::health`] waits for the database.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// Why [`Chat::health`] failed.
#[derive(Debug, thiserror::Error)]
pub enum Unhealthy {
    #[error(transparent)]
    Store(StoreError),
    #[error("the database did not answer in time")]
    NotAnswering,
    #[error("not following the message log")]
    NotFollowing,
}

/// Stores queued sends and changes on SQLite, on a thread of its own:
/// receiving what is queued, committing it (the fsync included), publishing
/// it and answering its senders cross no other thread. Everything queued
/// goes in one transaction, in the order asked (group commit: sends in
/// batches, each change in its place), so a change costs no fsync of its
/// own. This server's writer is the only writer, so what it commits is
/// what comes next in the log.
fn write_thread(
    mut store: SqliteWriter,
    fanout: &Fanout,
    mut jobs: mpsc::Receiver<Job>,
    runtime: &Handle,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = jobs.blocking_recv() {
        queued.push(job);
        while queued.len() < MAX_BATCH
            && let Ok(job) = jobs.try_recv()
        {
            queued.push(job);
        }
        // Each batch's drafts, moved out of its jobs, and who waits for it.
        let runs: Vec<(Vec<Draft>, Vec<Reply>, Option<ChangeJob>)> = runs(&mut queued)
            .into_iter()
            .map(|run| match run {
                Run::Sends(mut batch) => {
                    let (drafts, replies) = split(&mut batch);
                    (drafts, replies, None)
                }
                Run::Change(job) => (Vec::new(), Vec::new(), Some(job)),
            })
            .collect();
        let work: Vec<Work<'_>> = runs
            .iter()
            .map(|(drafts, _, change)| match change {
                Some(job) => Work::Change(&job.draft),
                None => Work::Sends(drafts),
            })
            .collect();
        let written = store.write_blocking(&work, runtime);
        drop(work);
        match written {
            Ok(done) => {
                for ((_, replies, change), done) in runs.into_iter().zip(done) {
                    match (change, done) {
                        (None, Done::Sends(Batch { stored, .. })) => {
                            fanout.publish(new_messages(&stored));
                            answer(replies, stored);
                        }
                        (Some(job), Done::Change(changed)) => {
                            if let Changed::New(entry) = changed.as_ref() {
                                fanout.publish([entry]);
                            }
                            let _ = job.reply.send(Ok(*changed));
                        }
                        _ => unreachable!("done in the order asked"),
                    }
                }
            }
            Err(err) => {
                tracing::error!(error = %err, runs = runs.len(), "storing messages and changes failed");
                for (_, replies, change) in runs {
                    for reply in replies {
                        let _ = reply.send(Err(ChatError::Storage));
                    }
                    if let Some(job) = change {
                        let _ = job.reply.send(Err(ChatError::Storage));
                    }
                }
            }
        }
    }
    tracing::debug!("message writer stopped");
}

/// Stores queued sends batch by batch on a log with several writers. A
/// batch that directly follows what was published last is published at
/// once; otherwise the follower publishes it from the log, and each sender
/// is answered once that is done. A change is applied on its own, in its
/// place among the sends, and published the same way.
async fn write_loop(mut store: Writer, fanout: Fanout, mut jobs: mpsc::Receiver<Job>) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut queued, MAX_BATCH).await > 0 {
        for run in runs(&mut queued) {
            match run {
                Run::Sends(mut batch) => {
                    let (drafts, replies) = split(&mut batch);
                    match store.insert_batch(&drafts).await {
                        Ok(Batch { stored, after }) => {
                            let newest = stored.iter().map(|s| s.message().id).max().unwrap_or(0);
                            let published = fanout.publish_following(after, new_messages(&stored));
                            answer_when_published(&fanout, published, newest, move || {
                                answer(replies, stored);
                            });
                        }
                        Err(err) => fail(replies, &err),
                    }
                }
                Run::Change(job) => match store.change(&job.draft).await {
                    Ok(Changed::New(entry)) => {
                        // A change takes one id: the one after the head it found.
                        let published = fanout.publish_following(entry.id - 1, [&entry]);
                        answer_when_published(&fanout, published, entry.id, move || {
                            let _ = job.reply.send(Ok(Changed::New(entry)));
                        });
                    }
                    changed => {
                        let _ = job.reply.send(changed.map_err(|err| failed_change(&err)));
                    }
                },
            }
        }
    }
    tracing::debug!("message writer stopped");
}

/// Runs `answer` now if what it answers for was `published` here;
/// otherwise (another server appended in between) once the follower has
/// published everything up to `newest`, in order.
fn answer_when_published(
    fanout: &Fanout,
    published: bool,
    newest: MessageId,
    answer: impl FnOnce() + Send + 'static,
) {
    if published {
        answer();
        return;
    }
    fanout.wake();
    let fanout = fanout.clone();
    tokio::spawn(async move {
        fanout.published_through(newest).await;
        answer();
    });
}

/// The writer's work in the order it was asked: sends in batches, each
/// change on its own.
enum Run {
    Sends(Vec<SendJob>),
    Change(ChangeJob),
}

/// Cuts `queued` (left empty) into runs of consecutive sends and single
/// changes, in order.
fn runs(queued: &mut Vec<Job>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for job in queued.drain(..) {
        match (job, runs.last_mut()) {
            (Job::Send(send), Some(Run::Sends(batch))) => batch.push(send),
            (Job::Send(send), _) => runs.push(Run::Sends(vec![send])),
            (Job::Change(change), _) => runs.push(Run::Change(change)),
        }
    }
    runs
}

/// Logs why a change could not be applied; what its sender is told.
fn failed_change(err: &StoreError) -> ChatError {
    tracing::error!(error = %err, "storing a change failed");
    ChatError::Storage
}

/// A batch's drafts, to store, and their senders, to answer in the same
/// order; `batch` is left empty for the next.
fn split(batch: &mut Vec<SendJob>) -> (Vec<Draft>, Vec<Reply>) {
    batch.drain(..).map(|job| (job.draft, job.reply)).unzip()
}

/// The messages of a batch that are new.
fn new_messages(stored: &[Stored]) -> impl Iterator<Item = &ChatMessage> {
    stored.iter().filter_map(|stored| match stored {
        Stored::New(message) => Some(message),
        Stored::Existing(_) => None,
    })
}

/// Tells each sender of a batch that could not be stored.
fn fail(replies: Vec<Reply>, err: &StoreError) {
    tracing::error!(error = %err, batch = replies.len(), "storing messages failed");
    for reply in replies {
        let _ = reply.send(Err(ChatError::Storage));
    }
}

fn answer(replies: Vec<Reply>, results: Vec<Stored>) {
    for (reply, stored) in replies.into_iter().zip(results) {
        // The sender may have given up (client gone); the message stays stored.
        let _ = reply.send(Ok(stored));
    }
}
