//! `GET /api/events`: the Server-Sent Events stream of messages.
//!
//! Each message is one event, `id: <message id>` and `data: <ChatMessage
//! JSON>`. A stream opened with `Last-Event-ID` (sent by a reconnecting
//! `EventSource`) or `?after=<id>` first replays every stored message after
//! that id, then continues live. The feed subscribes to the hub *before* it
//! reads the store and skips ids it already sent, so there is no gap and no
//! duplicate at the seam. A subscriber that lags behind the hub's buffer is
//! caught up from the store the same way. Every stream also carries a
//! `ping` event every 15 s, which a page can watch (comments are invisible
//! to `EventSource`).
//!
//! The body is written by hand rather than with axum's `Sse`: each event is
//! framed once by the hub, and every stream sends those same bytes, so a
//! delivery costs a reference count, not an allocation and a copy.

use std::{collections::VecDeque, convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Extension, Router,
    body::Body,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, Version, header},
    response::Response,
    routing::get,
};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use shared::{KEEP_ALIVE_SECS, MessageId};
use tokio::{
    sync::broadcast::{
        self,
        error::{RecvError, TryRecvError},
    },
    time::Instant,
};

use crate::{
    AppState, chat::Chat, error::ApiError, handoff::Handoff, hub::Published, slots::StreamSlot,
};

/// The keep-alive sent every [`KEEP_ALIVE_SECS`]: a named event rather than
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

/// Where the stream is served.
const EVENTS_PATH: &str = "/api/events";

/// The headers of every event stream: never cached, and not buffered by
/// reverse proxies.
/// Never compressed either: the compression layer skips `text/event-stream`.
const STREAM_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];

pub fn router() -> Router<AppState> {
    Router::new().route(EVENTS_PATH, get(stream_events))
}

async fn stream_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    handoff: Option<Extension<Handoff>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let last_event_ids = headers
        .get_all("last-event-id")
        .iter()
        .map(|value| value.as_bytes());
    let resume_after = resume_after(query.as_deref(), last_event_ids)?;
    let slot = state
        .stream_slots
        .take(peer.ip())
        .ok_or(ApiError::TooManyStreams)?;
    let feed = Feed::open(&state.chat, resume_after, slot);
    let response = STREAM_HEADERS
        .into_iter()
        .fold(Response::builder(), |response, (name, value)| {
            response.header(name, value)
        });
    let response = match handoff {
        // Served by our accept loop: the connection takes the stream over
        // once the head is out (see `crate::handoff`); the response is
        // delimited by the connection's end, which HTTP/1.0 says.
        Some(Extension(handoff)) => response
            .version(Version::HTTP_10)
            .header(header::CONNECTION, "close")
            .body(Body::new(handoff.body(feed))),
        // Served some other way (the router on its own): a streaming body.
        None => {
            let frames = feed
                .into_stream()
                .map(Ok::<_, Infallible>)
                .take_until(state.shutdown.clone().cancelled_owned());
            response.body(Body::from_stream(frames))
        }
    };
    response.map_err(|err| ApiError::Internal(err.into()))
}

/// The query an event stream may carry: `?after=<id>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<MessageId>,
}

/// Where a stream starts, from its query string and its `Last-Event-ID`
/// headers: after the id in `Last-Event-ID` (a reconnecting browser knows
/// better than the URL it first opened), else after `?after=`, else live
/// only.
fn resume_after<'a>(
    query: Option<&str>,
    mut last_event_ids: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<MessageId>, ApiError> {
    let after = match query {
        Some(query) => {
            serde_urlencoded::from_str::<EventsQuery>(query)
                .map_err(|_| ApiError::BadQuery("the only parameter is after, a message id"))?
                .after
        }
        None => None,
    };
    let Some(value) = last_event_ids.next() else {
        return Ok(after);
    };
    if last_event_ids.next().is_some() {
        return Err(ApiError::BadQuery("send at most one Last-Event-ID"));
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|value| value.trim().parse::<MessageId>().ok())
        .map(Some)
        .ok_or(ApiError::BadQuery("Last-Event-ID must be a message id"))
}

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
}

impl Feed {
    /// Subscribes to the hub, then decides where the stream starts: after
    /// `resume_after` if given (replaying what the store holds past it),
    /// else after the newest stored message. Subscribing first means no
    /// message can slip between the two: the writer records a message as
    /// the newest before it publishes it.
    /// The stream holds its client's `slot` until it ends.
    pub(crate) fn open(chat: &Chat, resume_after: Option<MessageId>, slot: StreamSlot) -> Self {
        let live = chat.hub().subscribe();
        // Only messages from now on: everything up to the newest stored one is history.
        let start_after = resume_after.or_else(|| chat.newest_id());
        Self::new(
            chat.clone(),
            live,
            start_after,
            resume_after.is_some(),
            Some(slot),
        )
    }

    fn new(
        chat: Chat,
        live: broadcast::Receiver<Arc<Published>>,
        last_sent: Option<MessageId>,
        catching_up: bool,
        slot: Option<StreamSlot>,
    ) -> Self {
        let every = Duration::from_secs(KEEP_ALIVE_SECS);
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
        }
    }

    fn into_stream(self) -> impl Stream<Item = Bytes> + Send {
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
        // The frames are gathered first (each a reference count) so that
        // the one copy is allocated at its exact size.
        let mut frames = vec![first];
        let mut len = frames[0].len();
        while len < BATCH_BYTES {
            let published = match self.backlog.pop_front() {
                Some(published) => published,
                None if self.catching_up => break,
                None => match self.live.try_recv() {
                    Ok(published) if self.last_sent.is_some_and(|last| published.id <= last) => {
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
            self.last_sent = Some(published.id);
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
        loop {
            if let Some(published) = self.backlog.pop_front() {
                self.last_sent = Some(published.id);
                return Some(published.frame.clone());
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
                match self.chat.store().after(after, CATCH_UP_PAGE).await {
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
                Ok(published) if self.last_sent.is_some_and(|last| published.id <= last) => {}
                Ok(published) => {
                    self.last_sent = Some(published.id);
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
        hub::Hub,
        testing::{message, temp_store},
    };

    fn resume(query: Option<&str>, ids: &[&str]) -> Result<Option<MessageId>, String> {
        resume_after(query, ids.iter().map(|id| id.as_bytes())).map_err(|err| err.to_string())
    }

    #[test]
    fn last_event_id_wins_over_the_after_query() {
        assert_eq!(resume(Some("after=3"), &["7"]), Ok(Some(7)));
        assert_eq!(resume(Some("after=3"), &[]), Ok(Some(3)));
        assert_eq!(resume(None, &[" 9 "]), Ok(Some(9)));
        assert_eq!(resume(None, &[]), Ok(None));
    }

    #[test]
    fn an_unreadable_resume_point_is_refused() {
        for (query, ids) in [
            (Some("after=abc"), &[][..]),
            (Some("after=1&evil=2"), &[]),
            (None, &["x"]),
            (None, &["1", "2"]),
            (Some("after=1"), &["3", "3"]),
        ] {
            assert!(resume(query, ids).is_err(), "{query:?} {ids:?}");
        }
    }

    fn published(id: MessageId) -> Arc<Published> {
        Arc::new(Published::new(&message(id)))
    }

    fn ids(frames: &Bytes) -> Vec<MessageId> {
        String::from_utf8_lossy(frames)
            .lines()
            .filter_map(|line| line.strip_prefix("id: ")?.parse().ok())
            .collect()
    }

    #[tokio::test]
    async fn messages_arriving_soon_after_a_write_go_out_together() {
        let (_dir, store) = temp_store().await;
        let hub = Hub::default();
        let chat = Chat::start(store, hub.clone()).await.expect("chat");
        let mut feed = Feed::new(chat, hub.subscribe(), None, false, None);
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
    async fn a_router_served_without_the_accept_loop_streams_through_its_body() {
        use axum::http::{Request, StatusCode};
        use tower::ServiceExt;

        let (_dir, store) = temp_store().await;
        let hub = Hub::default();
        let chat = Chat::start(store, hub.clone()).await.expect("chat");
        let addr: SocketAddr = "127.0.0.1:80".parse().expect("addr");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let state = AppState {
            chat,
            leptos_options: leptos::config::LeptosOptions::builder()
                .output_name("chat")
                .build(),
            site: crate::site::Site::new(Some("http://x"), addr).expect("site"),
            send_limiter: crate::rate::SendLimiter::start(
                crate::rate::SendLimit::Off,
                shutdown.clone(),
            ),
            stream_slots: crate::slots::StreamSlots::new(Default::default()),
            shutdown,
        };
        // No `Handoff` extension: nothing would take the connection over.
        let request = Request::get(EVENTS_PATH)
            .extension(ConnectInfo(addr))
            .body(Body::empty())
            .expect("request");
        let response = router()
            .with_state(state)
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), Version::HTTP_11);
        assert!(!response.headers().contains_key(header::CONNECTION));

        hub.publish(published(1));
        let mut body = response.into_body().into_data_stream();
        let frames = body.next().await.expect("a frame").expect("data");
        assert_eq!(ids(&frames), [1]);
    }
}
