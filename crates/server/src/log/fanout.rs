//! From the committed log to every stream of this server.
//!
//! What a stream sends comes from two places: the in-memory window of the
//! newest messages ([`Recent`], read when a stream starts or resumes) and
//! the [`Hub`] (what is published from then on). Both are fed here, and
//! only here, from messages the log has committed, in id order:
//! [`Fanout::publish`] records them as newest, then publishes them.
//!
//! Where the committed messages come from depends on the log:
//! - SQLite: this server's writer is the only writer, so each batch it
//!   commits is exactly what comes next in the log; it publishes it itself.
//! - PostgreSQL: several servers append. A server's writer publishes its
//!   own batch when it directly follows what was published last (no other
//!   server appended in between); otherwise, and for every other server's
//!   appends, [`follow`] reads everything after
//!   the newest published id from the table whenever something may have
//!   been committed: a notification from any server, this server's own
//!   append, a listener connection that came back (notifications sent
//!   while it was gone are lost, the rows are not), and once a second.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use shared::{MessageCount, MessageId};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    log::hub::{Hub, Published},
    log::recent::Recent,
    log::store::{Heard, Logged, RoomCounts, Store, StoreError},
    log::visibility::Visibility,
};

/// How many committed messages one read of the log takes.
const PAGE: u32 = 500;
/// How often the log is read even when nothing said it changed.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait before listening again after the database failed.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// The window and the hub, fed from the committed log; cheap to clone.
#[derive(Clone, Debug)]
pub struct Fanout {
    recent: Arc<Recent>,
    hub: Hub,
    /// The newest id published (0 before the first message).
    published: Arc<watch::Sender<MessageId>>,
    /// Whether the window and the hub are known to hold everything the log
    /// has committed, give or take the message being read right now: false
    /// while a log with several writers cannot be followed.
    in_step: Arc<AtomicBool>,
    /// Told that something may have been committed.
    wake: Arc<Notify>,
    /// Who may see which room: rooms other servers created are learned
    /// before their entries are published.
    visibility: Visibility,
    /// Held while publishing: the writer and the follower both publish,
    /// and each message must be published once.
    publishing: Arc<Mutex<()>>,
    /// How many messages each room holds up to the newest published id.
    counts: Arc<Mutex<Counts>>,
}

/// How many messages each room holds, as of an id.
#[derive(Debug, Default)]
struct Counts {
    as_of: MessageId,
    by_room: RoomCounts,
}

impl Fanout {
    /// A fan-out whose window holds `recent` (the log's newest messages),
    /// where each room holds `counts` messages up to the window's newest.
    pub fn new(
        recent: Arc<Recent>,
        hub: Hub,
        in_step: bool,
        counts: RoomCounts,
        visibility: Visibility,
    ) -> Self {
        let newest = recent.newest_id().unwrap_or(0);
        Self {
            counts: Arc::new(Mutex::new(Counts {
                as_of: newest,
                by_room: counts,
            })),
            recent,
            hub,
            published: Arc::new(watch::Sender::new(newest)),
            in_step: Arc::new(AtomicBool::new(in_step)),
            wake: Arc::new(Notify::new()),
            publishing: Arc::new(Mutex::new(())),
            visibility,
        }
    }

    /// Records committed entries (new messages and changes, in id order)
    /// as the newest, then publishes them: a stream that subscribed before
    /// this call reads each of them from the window or the hub, one or the
    /// other. Entries at or below the newest published id were published
    /// before and are skipped.
    pub fn publish<'a, E: Into<Logged<'a>>>(&self, committed: impl IntoIterator<Item = E>) {
        let _publishing = self.lock();
        self.publish_locked(committed);
    }

    /// Publishes `committed` if they are what comes next: if `after`, the
    /// log's newest id just before them, is the newest published. Returns
    /// whether it did (else the follower will read them from the log).
    pub fn publish_following<'a, E: Into<Logged<'a>>>(
        &self,
        after: MessageId,
        committed: impl IntoIterator<Item = E>,
    ) -> bool {
        let _publishing = self.lock();
        let next = self.published() == after;
        if next {
            self.publish_locked(committed);
        }
        next
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // Nothing is left half done under it: a poisoned lock is usable.
        self.publishing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn publish_locked<'a, E: Into<Logged<'a>>>(&self, committed: impl IntoIterator<Item = E>) {
        let newest = *self.published.borrow();
        let new: Vec<(Logged<'a>, Arc<Published>)> = committed
            .into_iter()
            .map(Into::into)
            .filter(|entry: &Logged<'a>| entry.id > newest)
            .map(|entry| (entry, Arc::new(Published::new(entry))))
            .collect();
        let Some((last, _)) = new.last() else {
            return;
        };
        let last = last.id;
        // Each new entry is framed once: the window replays these bytes
        // and the hub sends them.
        self.recent
            .extend(new.iter().map(|(entry, frame)| (*entry, frame)));
        if let Ok(mut counts) = self.counts.lock() {
            // A change adds no message.
            for message in new
                .iter()
                .filter(|(entry, _)| !entry.is_change())
                .map(|(entry, _)| entry.message)
            {
                // The room's name is copied only the first time it counts.
                match counts.by_room.get_mut(&message.room) {
                    Some(count) => *count += 1,
                    None => {
                        counts.by_room.insert(message.room.clone(), 1);
                    }
                }
            }
            counts.as_of = last;
        }
        for (_, frame) in new {
            self.hub.publish(frame);
        }
        self.published.send_replace(last);
    }

    /// How many messages `room` holds, as of the newest published id.
    pub fn count(&self, room: &str) -> MessageCount {
        self.counts
            .lock()
            .map(|counts| MessageCount {
                as_of: counts.as_of,
                count: counts.by_room.get(room).copied().unwrap_or(0),
            })
            .unwrap_or_default()
    }

    /// How many messages each room holds, as of the newest published id
    /// (rooms with none are left out).
    pub fn counts(&self) -> (MessageId, HashMap<String, u64>) {
        self.counts
            .lock()
            .map(|counts| (counts.as_of, counts.by_room.clone()))
            .unwrap_or_default()
    }

    /// The newest id published.
    pub fn published(&self) -> MessageId {
        *self.published.borrow()
    }

    /// Waits until every id up to `id` is published.
    pub async fn published_through(&self, id: MessageId) {
        let mut published = self.published.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = published.wait_for(|newest| *newest >= id).await;
    }

    /// Says that something may have been committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether this server's streams are known to be in step with the log.
    pub fn in_step(&self) -> bool {
        self.in_step.load(Ordering::Acquire)
    }

    fn set_in_step(&self, in_step: bool) {
        if self.in_step.swap(in_step, Ordering::AcqRel) != in_step {
            if in_step {
                tracing::info!(published = self.published(), "following the message log");
            } else {
                tracing::warn!("not following the message log; streams may be behind");
            }
        }
    }

    /// Publishes everything the log holds after the newest published id.
    async fn catch_up(&self, store: &Store) -> Result<(), StoreError> {
        loop {
            let page = store.after(self.published(), PAGE).await?;
            // A room another server just created is known before its
            // entries go out (until then a stream would hold them back).
            self.visibility
                .learn(store, page.iter().map(|entry| entry.message.room.as_str()))
                .await?;
            self.publish(&page);
            if page.len() < PAGE as usize {
                return Ok(());
            }
        }
    }
}

/// What the listener task tells [`follow`].
#[derive(Debug)]
enum Event {
    /// Listening (again): anything committed from now on will be heard.
    Listening,
    /// Something was committed; the log's newest id is now at least this.
    Committed(Option<MessageId>),
    /// The listener's connection is gone and could not be replaced yet.
    Lost,
}

/// Follows a log with several writers until `stop`: reads and publishes
/// whatever it commits, from any server. Returns at once for a log with a
/// single writer (whose writer publishes itself).
pub async fn follow(store: Store, fanout: Fanout, stop: CancellationToken) {
    if store.single_writer() {
        return;
    }
    let (tell, mut heard) = mpsc::channel(16);
    let listening = tokio::spawn(listen(store.clone(), tell, stop.clone()));
    let mut listening_now = false;
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => break,
            event = heard.recv() => match event {
                Some(event) => Some(event),
                None => break,
            },
            () = fanout.wake.notified() => None,
            () = tokio::time::sleep(POLL) => None,
        };
        match event {
            Some(Event::Listening) => listening_now = true,
            Some(Event::Lost) => {
                listening_now = false;
                fanout.set_in_step(false);
                continue;
            }
            // Published already (this server's own append, say).
            Some(Event::Committed(Some(newest))) if newest <= fanout.published() => continue,
            Some(Event::Committed(_)) | None => {}
        }
        match fanout.catch_up(&store).await {
            Ok(()) => fanout.set_in_step(listening_now),
            Err(err) => {
                tracing::error!(error = %err, "reading the message log failed");
                fanout.set_in_step(false);
            }
        }
    }
    listening.abort();
}

/// Keeps a listener connection open, telling `tell` what it hears.
async fn listen(store: Store, tell: mpsc::Sender<Event>, stop: CancellationToken) {
    let mut retry = Duration::from_millis(100);
    while !stop.is_cancelled() {
        match store.listen().await {
            Ok(Some(mut listener)) => {
                retry = Duration::from_millis(100);
                let _ = tell.send(Event::Listening).await;
                loop {
                    let event = match listener.next().await {
                        Ok(Heard::Committed(newest)) => Event::Committed(newest),
                        Ok(Heard::Reconnected) => {
                            tracing::warn!("listener connection lost and replaced");
                            Event::Listening
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "listener connection lost");
                            break;
                        }
                    };
                    if tell.send(event).await.is_err() {
                        return;
                    }
                }
            }
            Ok(None) => return,
            Err(err) => tracing::error!(error = %err, "cannot listen to the message log"),
        }
        let _ = tell.send(Event::Lost).await;
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::message;

    fn counted(room: &str, count: u64) -> RoomCounts {
        RoomCounts::from([(room.to_owned(), count)])
    }

    #[test]
    fn each_room_is_counted_apart_as_of_the_newest_published() {
        let recent = Arc::new(Recent::of_messages(vec![message(1)]));
        let fanout = Fanout::new(
            recent,
            Hub::default(),
            true,
            counted("general", 1),
            Visibility::default(),
        );
        let mut elsewhere = message(2);
        elsewhere.room = "random".into();
        fanout.publish(&[elsewhere, message(3)]);
        assert_eq!(fanout.count("general"), MessageCount { as_of: 3, count: 2 });
        assert_eq!(fanout.count("random"), MessageCount { as_of: 3, count: 1 });
        assert_eq!(fanout.count("empty"), MessageCount { as_of: 3, count: 0 });
        let (as_of, counts) = fanout.counts();
        assert_eq!(as_of, 3);
        assert_eq!(counts.len(), 2);
    }

    #[tokio::test]
    async fn a_published_message_is_in_the_window_before_the_hub_delivers_it() {
        let recent = Arc::new(Recent::of_messages(Vec::new()));
        let hub = Hub::default();
        let fanout = Fanout::new(
            Arc::clone(&recent),
            hub.clone(),
            true,
            RoomCounts::new(),
            Visibility::default(),
        );
        let mut live = hub.subscribe();
        let watcher = {
            let recent = Arc::clone(&recent);
            tokio::spawn(async move {
                let frame = live.recv().await.expect("published");
                // Whoever hears of it can already read it as newest.
                (frame.id, recent.newest_id())
            })
        };
        fanout.publish(&[message(1)]);
        assert_eq!(watcher.await.expect("watcher"), (1, Some(1)));
    }

    #[tokio::test]
    async fn what_was_published_before_is_skipped() {
        let recent = Arc::new(Recent::of_messages(vec![message(1), message(2)]));
        let hub = Hub::default();
        let fanout = Fanout::new(
            Arc::clone(&recent),
            hub.clone(),
            true,
            counted("general", 2),
            Visibility::default(),
        );
        let mut live = hub.subscribe();
        fanout.publish(&[message(2), message(3)]);
        fanout.publish(&[message(3)]);
        // Counted once, like it is published once.
        assert_eq!(fanout.count("general"), MessageCount { as_of: 3, count: 3 });
        assert_eq!(live.recv().await.expect("published").id, 3);
        assert!(live.try_recv().is_err(), "3 published once, 2 not again");
        let ids: Vec<_> = recent.latest(10).iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(fanout.published(), 3);
    }

    #[test]
    fn a_batch_is_published_by_its_writer_only_if_it_comes_next() {
        let recent = Arc::new(Recent::of_messages(vec![message(1)]));
        let hub = Hub::default();
        let fanout = Fanout::new(
            Arc::clone(&recent),
            hub.clone(),
            true,
            RoomCounts::new(),
            Visibility::default(),
        );
        let mut live = hub.subscribe();
        // Another server's 2 came in between: not this writer's to publish.
        assert!(!fanout.publish_following(2, &[message(3)]));
        assert_eq!(fanout.published(), 1);
        assert!(live.try_recv().is_err());
        assert!(fanout.publish_following(1, &[message(2), message(3)]));
        assert_eq!(live.try_recv().expect("published").id, 2);
        assert_eq!(live.try_recv().expect("published").id, 3);
        assert_eq!(recent.newest_id(), Some(3));
    }

    #[tokio::test]
    async fn waiting_for_an_id_ends_once_it_is_published() {
        let fanout = Fanout::new(
            Arc::new(Recent::of_messages(Vec::new())),
            Hub::default(),
            true,
            RoomCounts::new(),
            Visibility::default(),
        );
        let waiting = tokio::spawn({
            let fanout = fanout.clone();
            async move { fanout.published_through(2).await }
        });
        fanout.publish(&[message(1)]);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        fanout.publish(&[message(2)]);
        waiting.await.expect("ends");
    }
}
