//! One subscriber's feed: what a stream has been sent, and what it sends
//! next.
//!
//! A feed subscribes to the hub *before* it reads the store and skips ids
//! it already sent, so there is no gap and no duplicate at the seam. A
//! stream that resumes (`Last-Event-ID`, `?after=`) or lags behind the
//! hub's buffer catches up from the in-memory window's shared frames, or
//! from the store a few messages at a time. Every frame is the hub's own
//! bytes (framed once by the writer), so a delivery costs a reference
//! count; what waits when a stream writes goes out in one write.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use shared::MessageId;
use tokio::{
    sync::broadcast::{
        self,
        error::{RecvError, TryRecvError},
    },
    time::Instant,
};

use crate::{edge::slots::StreamSlot, log::chat::Chat, log::hub::Published};

/// The keep-alive sent every `Timing::keep_alive` (15 s): a named event rather than
/// a comment, so that the page can tell a quiet stream from a dead one.
pub const PING_FRAME: &[u8] = b"event: ping\ndata: keep-alive\n\n";

/// Up to how many bytes of waiting messages go out in one write.
const BATCH_BYTES: usize = 16 * 1024;

/// The shortest time between two writes to one stream while messages keep
/// coming. A message after a quiet spell goes out at once; one that
/// follows a write sooner waits out the rest of this, and whatever arrived
/// meanwhile goes in the same write. Under load this turns one system call
/// per message and subscriber into one per few messages, which is what
/// fan-out costs, at the price of at most this much added latency.
const COALESCE: Duration = Duration::from_millis(25);

/// How many stored messages one catch-up query reads, when what a stream
/// missed is older than the in-memory window. Small, because a stream that
/// does not read holds its page until its write times out: at most 4
/// frames of the largest message, about 33 KB, per stream. Within the
/// window a replay shares the window's frames and holds nothing of its own.
const CATCH_UP_PAGE: u32 = 4;

/// One subscriber's position: what it has been sent, and where the next
/// message comes from (the store while catching up, else the hub).
pub(crate) struct Feed {
    chat: Chat,
    live: broadcast::Receiver<Arc<Published>>,
    /// The newest id sent (or, before the first, the newest one not wanted).
    last_sent: Option<MessageId>,
    /// Messages read from the store, not yet sent.
    backlog: VecDeque<Arc<Published>>,
    /// Whether the store may hold messages newer than `last_sent` that the
    /// hub will not deliver.
    catching_up: bool,
    keep_alive: tokio::time::Interval,
    /// When the last frames were handed out, for [`COALESCE`].
    last_write: Option<Instant>,
    /// The client's stream slot, given back when the feed is dropped.
    _slot: Option<StreamSlot>,
    /// The account whose browser opened it, if signed in: events meant
    /// for that account alone (its ban) reach it, and no other stream.
    account: Option<i64>,
    /// Set once such an event went out: the stream ends.
    ending: bool,
}

impl Feed {
    /// Subscribes to the hub, then decides where the stream starts: after
    /// `resume_after` if given (replaying what the store holds past it),
    /// else after the newest stored message. Subscribing first means no
    /// message can slip between the two: the writer records a message as
    /// the newest before it publishes it.
    /// The stream holds its client's `slot` until it ends.
    /// It sends a ping after every `keep_alive` without a write. It is
    /// `account`'s, if a signed-in browser opened it.
    pub(crate) fn open(
        chat: &Chat,
        resume_after: Option<MessageId>,
        slot: StreamSlot,
        keep_alive: Duration,
        account: Option<i64>,
    ) -> Self {
        let live = chat.subscribe();
        // Only messages from now on: everything up to the newest stored one is history.
        let start_after = resume_after.or_else(|| chat.newest_id());
        Self {
            account,
            ..Self::new(
                chat.clone(),
                live,
                start_after,
                resume_after.is_some(),
                Some(slot),
                keep_alive,
            )
        }
    }

    fn new(
        chat: Chat,
        live: broadcast::Receiver<Arc<Published>>,
        last_sent: Option<MessageId>,
        catching_up: bool,
        slot: Option<StreamSlot>,
        every: Duration,
    ) -> Self {
        let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            chat,
            live,
            last_sent,
            backlog: VecDeque::new(),
            catching_up,
            keep_alive,
            last_write: None,
            _slot: slot,
            account: None,
            ending: false,
        }
    }

    /// Whether this stream's viewer may see what `published` is about
    /// (`log::visibility`).
    fn shows(&self, published: &Published) -> bool {
        published.visible_to(self.account, self.chat.visibility())
    }

    /// Leaves out `published`, which this stream's viewer may not see: an
    /// entry still moves the stream past its id.
    fn pass_over(&mut self, published: &Published) {
        if !published.passing {
            self.last_sent = Some(published.id);
        }
    }

    /// The frames as a stream, for a body that hyper writes.
    pub(crate) fn into_stream(self) -> impl Stream<Item = Bytes> + Send {
        futures::stream::unfold(self, |mut feed| async move {
            let frames = feed.next_frames().await?;
            Some((frames, feed))
        })
    }

    /// What to write next: one or more events (or a keep-alive), or `None`
    /// when the stream must end.
    pub(crate) async fn next_frames(&mut self) -> Option<Bytes> {
        let next = self.next().await?;
        let live = self.backlog.is_empty() && !self.catching_up;
        if live && let Some(last) = self.last_write {
            // Let more messages gather if the last write was just now.
            tokio::time::sleep_until(last + COALESCE).await;
        }
        let frames = self.batch(next);
        self.last_write = Some(Instant::now());
        Some(frames)
    }

    /// Appends to `first` the messages already waiting (up to
    /// [`BATCH_BYTES`]), so that a subscriber that fell behind catches up
    /// in a few large writes rather than one small write per message.
    fn batch(&mut self, first: Bytes) -> Bytes {
        if self.ending {
            return first;
        }
        // The frames are gathered first (each a reference count) so that
        // the one copy is allocated at its exact size.
        let mut frames = vec![first];
        let mut len = frames[0].len();
        while len < BATCH_BYTES {
            let published = match self.backlog.pop_front() {
                Some(published) if !self.shows(&published) => {
                    self.pass_over(&published);
                    continue;
                }
                Some(published) => published,
                None if self.catching_up => break,
                None => match self.live.try_recv() {
                    Ok(published) if !published.is_new_after(self.last_sent) => continue,
                    Ok(published) if published.to.is_some() => {
                        if published.to != self.account {
                            continue;
                        }
                        len += published.frame.len();
                        frames.push(published.frame.clone());
                        if published.last {
                            // Its last words; `next` ends the stream.
                            self.ending = true;
                            break;
                        }
                        continue;
                    }
                    Ok(published) if !self.shows(&published) => {
                        self.pass_over(&published);
                        continue;
                    }
                    Ok(published) => published,
                    Err(TryRecvError::Lagged(_)) => {
                        self.catching_up = true;
                        break;
                    }
                    // Closed is noticed (and ends the stream) in `next`.
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                },
            };
            if !published.passing {
                self.last_sent = Some(published.id);
            }
            len += published.frame.len();
            frames.push(published.frame.clone());
        }
        if frames.len() == 1 {
            return frames.pop().unwrap_or_default();
        }
        let mut batch = BytesMut::with_capacity(len);
        for frame in &frames {
            batch.extend_from_slice(frame);
        }
        batch.freeze()
    }

    /// The next frame: a message in id order or a keep-alive; `None` when
    /// the stream must end (the hub closed, or the store failed: the client
    /// resumes by id).
    async fn next(&mut self) -> Option<Bytes> {
        if self.ending {
            return None;
        }
        loop {
            if let Some(published) = self.backlog.pop_front() {
                self.last_sent = Some(published.id);
                if self.shows(&published) {
                    return Some(published.frame.clone());
                }
                continue;
            }
            if self.catching_up {
                let after = self.last_sent.unwrap_or(0);
                // Within the window: its shared frames, all at once.
                if let Some(frames) = self.chat.frames_after(after) {
                    self.catching_up = false;
                    self.backlog.extend(frames);
                    continue;
                }
                // Older: a small page from the store, the rest next time.
                match self.chat.stored_after(after, CATCH_UP_PAGE).await {
                    Ok(page) => {
                        self.catching_up = !page.is_empty();
                        self.backlog
                            .extend(page.iter().map(|m| Arc::new(Published::new(m))));
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "catching up a stream failed; ending it");
                        return None;
                    }
                }
                continue;
            }
            let received = tokio::select! {
                received = self.live.recv() => received,
                _ = self.keep_alive.tick() => return Some(Bytes::from_static(PING_FRAME)),
            };
            match received {
                Ok(published) if !published.is_new_after(self.last_sent) => {}
                Ok(published) if published.to.is_some() => {
                    if published.to == self.account {
                        self.ending = published.last;
                        return Some(published.frame.clone());
                    }
                }
                Ok(published) if !self.shows(&published) => self.pass_over(&published),
                Ok(published) => {
                    if !published.passing {
                        self.last_sent = Some(published.id);
                    }
                    return Some(published.frame.clone());
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "stream lagged; catching up from the store");
                    self.catching_up = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        log::hub::Hub,
        testing::{frame_ids as ids, published, start_chat, temp_store},
    };

    const KEEP_ALIVE: Duration = Duration::from_secs(15);

    #[tokio::test]
    async fn messages_arriving_soon_after_a_write_go_out_together() {
        let (_dir, store) = temp_store().await;
        let hub = Hub::default();
        let chat = start_chat(store, hub.clone()).await;
        let mut feed = Feed::new(chat, hub.subscribe(), None, false, None, KEEP_ALIVE);
        // From here on, sleeping advances the clock at once.
        tokio::time::pause();

        hub.publish(published(1));
        assert_eq!(ids(&feed.next_frames().await.expect("frames")), [1]);
        // Right after that write: these wait out the window, then go as one.
        hub.publish(published(2));
        let next = tokio::spawn(async move {
            let frames = feed.next_frames().await.expect("frames");
            (frames, feed)
        });
        tokio::task::yield_now().await;
        hub.publish(published(3));
        let (frames, mut feed) = next.await.expect("task");
        assert_eq!(ids(&frames), [2, 3]);

        // After a quiet spell, a message goes out on its own.
        tokio::time::sleep(COALESCE * 2).await;
        hub.publish(published(4));
        assert_eq!(ids(&feed.next_frames().await.expect("frames")), [4]);
    }

    #[tokio::test]
    async fn a_passing_event_goes_out_without_moving_the_streams_position() {
        let (_dir, store) = temp_store().await;
        let hub = Hub::default();
        let chat = start_chat(store, hub.clone()).await;
        let mut feed = Feed::new(chat, hub.subscribe(), Some(5), false, None, KEEP_ALIVE);
        tokio::time::pause();
        let typing = Arc::new(Published::passing("typing", &"ada"));
        hub.publish(Arc::clone(&typing));
        hub.publish(published(5));
        hub.publish(Arc::clone(&typing));
        hub.publish(published(6));
        let mut sent = Vec::new();
        while sent.len() < 3 {
            let frames = feed.next_frames().await.expect("frames");
            sent.extend(
                String::from_utf8_lossy(&frames)
                    .split_terminator("\n\n")
                    .map(str::to_owned),
            );
        }
        // Both passing events, then 6; 5 was sent before; no id for either event.
        assert_eq!(sent[0], "event: typing\ndata: \"ada\"");
        assert_eq!(sent[1], "event: typing\ndata: \"ada\"");
        assert!(sent[2].starts_with("id: 6\n"), "{sent:?}");
        assert_eq!(feed.last_sent, Some(6));
    }
}
