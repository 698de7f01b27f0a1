//! The broadcast hub: fans each stored message out to every open stream.
//!
//! A message is serialized and framed as an SSE event once, here, and every
//! subscriber writes the same reference-counted bytes. The channel is bounded; a subscriber that falls more than
//! [`CAPACITY`] messages behind is told it lagged and catches up from the
//! store (see [`crate::edge::sse`]), so a slow reader never slows the others and
//! never holds more than the shared buffer.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use shared::{MessageId, message::CHANGE_EVENT};
use tokio::sync::broadcast;

use crate::log::{store::Logged, visibility::Visibility};

/// How many messages the hub keeps for subscribers that are behind.
pub const CAPACITY: usize = 4096;

/// A stored message, or a passing event, ready to send.
#[derive(Debug)]
pub struct Published {
    /// The entry's id in the log (0 for a passing event).
    pub id: MessageId,
    /// The whole SSE event: for a new message `id: <id>\ndata: <ChatMessage
    /// JSON>\n\n`; for a change to one `event: change\nid: <the change's
    /// id>\ndata: <the ChatMessage as changed>\n\n`; for a passing event
    /// `event: <kind>\ndata: <JSON>\n\n`.
    pub frame: Bytes,
    /// A passing event (who is in a room, who is typing): sent to whoever
    /// is subscribed when it happens, never stored, never replayed, and
    /// with no id, so it moves no stream's position.
    pub passing: bool,
    /// For a passing event meant for one account's streams only (a ban,
    /// a room it was taken out of): that account.
    pub to: Option<i64>,
    /// Whether the stream ends after it (a ban).
    pub last: bool,
    /// The room it is about (by its name as stored), if any: a stream
    /// sends it only if its viewer may see that room (`log::visibility`).
    pub room: Option<Arc<str>>,
    /// Whether that room is known to be public, worked out by the first
    /// stream that looks (a room's kind never changes), so that the others
    /// look nothing up.
    public: OnceLock<bool>,
}

impl Published {
    pub fn new<'a>(entry: impl Into<Logged<'a>>) -> Self {
        let entry = entry.into();
        // Compact JSON escapes newlines inside strings, so one `data:` line
        // holds the whole message.
        let json = serde_json::to_string(entry.message).expect("a ChatMessage always serializes");
        let id = entry.id;
        let frame = if entry.is_change() {
            format!("event: {CHANGE_EVENT}\nid: {id}\ndata: {json}\n\n")
        } else {
            format!("id: {id}\ndata: {json}\n\n")
        };
        Self {
            id,
            frame: Bytes::from(frame),
            passing: false,
            to: None,
            last: false,
            room: Some(Arc::from(entry.message.room.as_str())),
            public: OnceLock::new(),
        }
    }

    /// A passing event of type `kind` (see [`Published::passing`]).
    pub fn passing(kind: &str, data: &impl serde::Serialize) -> Self {
        let json = serde_json::to_string(data).expect("an event always serializes");
        Self {
            id: 0,
            frame: Bytes::from(format!("event: {kind}\ndata: {json}\n\n")),
            passing: true,
            to: None,
            last: false,
            room: None,
            public: OnceLock::new(),
        }
    }

    /// The same passing event, about the room called `room` (as stored):
    /// only streams that may see that room send it.
    pub fn in_room(self, room: &str) -> Self {
        Self {
            room: Some(Arc::from(room)),
            ..self
        }
    }

    /// A passing event of type `kind` for the streams of `account` only.
    pub fn to(account: i64, kind: &str, data: &impl serde::Serialize) -> Self {
        Self {
            to: Some(account),
            ..Self::passing(kind, data)
        }
    }

    /// The same, after which those streams end.
    pub fn last_to(account: i64, kind: &str, data: &impl serde::Serialize) -> Self {
        Self {
            last: true,
            ..Self::to(account, kind, data)
        }
    }

    /// Whether `account`'s stream (`None`: a guest's) may send it: it is
    /// about no room, or one `visibility` lets them see.
    pub fn visible_to(&self, account: Option<i64>, visibility: &Visibility) -> bool {
        let Some(room) = self.room.as_deref() else {
            return true;
        };
        *self.public.get_or_init(|| visibility.sees(room, None)) || visibility.sees(room, account)
    }

    /// Whether a stream that has sent every message up to `last_sent`
    /// sends this: every passing event, and messages it has not sent.
    pub fn is_new_after(&self, last_sent: Option<MessageId>) -> bool {
        self.passing || last_sent.is_none_or(|last| self.id > last)
    }
}

/// The sending side; cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Published>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(CAPACITY),
        }
    }
}

impl Hub {
    /// Publishes a stored message, framed once by its writer, to every
    /// current subscriber. Callers publish in id order (the single writer
    /// does), so every subscriber receives messages in id order.
    pub fn publish(&self, published: Arc<Published>) {
        // No subscribers is not an error: nobody is listening right now.
        let _ = self.sender.send(published);
    }

    /// How many streams are subscribed right now.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// A receiver of every message published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }
}
