//! The newest messages, kept in memory: what most history reads ask for.
//!
//! Every page load and every reconnecting page without an id asks for the
//! latest page. Rather than read and encode the same rows from the store
//! each time, the writer keeps the newest [`MAX_PAGE_SIZE`] messages here,
//! and the JSON of the default page ready to send. It is updated after each
//! commit and before the senders are answered, so a sender that reads
//! history after its acknowledgement sees its own message.
//!
//! The window is right only while this process is the database's one
//! writer, which the server is (see [`crate::chat`]).

use std::{
    collections::VecDeque,
    sync::{OnceLock, RwLock},
};

use bytes::Bytes;
use shared::{ChatMessage, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MessageId};

/// The newest messages; shared by the writer and every reader.
#[derive(Debug)]
pub struct Recent {
    window: RwLock<Window>,
}

#[derive(Debug)]
struct Window {
    /// The newest `MAX_PAGE_SIZE` stored messages (all of them if fewer),
    /// oldest first.
    messages: VecDeque<ChatMessage>,
    /// `messages`' newest [`DEFAULT_PAGE_SIZE`] as a JSON array, encoded
    /// by the first reader after a change (not by the writer after every
    /// commit, which would be wasted while sends outpace reads).
    default_page: OnceLock<Bytes>,
}

impl Recent {
    /// A window over `newest`: the store's latest [`MAX_PAGE_SIZE`]
    /// messages (all of them if fewer), oldest first.
    pub fn new(newest: Vec<ChatMessage>) -> Self {
        let mut window = Window {
            messages: newest.into(),
            default_page: OnceLock::new(),
        };
        window.trim();
        Self {
            window: RwLock::new(window),
        }
    }

    /// The newest `limit` messages, oldest first. Any `limit` up to
    /// [`MAX_PAGE_SIZE`] is answered in full.
    pub fn latest(&self, limit: u32) -> Vec<ChatMessage> {
        let window = self.read();
        let skip = window.messages.len().saturating_sub(limit as usize);
        window.messages.iter().skip(skip).cloned().collect()
    }

    /// The id of the newest stored message, if any.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.read().messages.back().map(|message| message.id)
    }

    /// The JSON of `latest(DEFAULT_PAGE_SIZE)`, shared, not re-encoded.
    pub fn default_page_json(&self) -> Bytes {
        let window = self.read();
        window
            .default_page
            .get_or_init(|| window.encode_default_page())
            .clone()
    }

    /// Adds messages just committed, in id order.
    pub fn extend<'a>(&self, committed: impl IntoIterator<Item = &'a ChatMessage>) {
        let mut window = self
            .window
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = window.messages.len();
        window.messages.extend(committed.into_iter().cloned());
        if window.messages.len() != before {
            window.trim();
            window.default_page = OnceLock::new();
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Window> {
        // A panic while holding the lock cannot leave the window half
        // updated in a way readers could notice: use it as it is.
        self.window
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Window {
    fn trim(&mut self) {
        let excess = self.messages.len().saturating_sub(MAX_PAGE_SIZE as usize);
        self.messages.drain(..excess);
    }

    fn encode_default_page(&self) -> Bytes {
        let skip = self
            .messages
            .len()
            .saturating_sub(DEFAULT_PAGE_SIZE as usize);
        let page: Vec<&ChatMessage> = self.messages.iter().skip(skip).collect();
        Bytes::from(serde_json::to_vec(&page).expect("a ChatMessage always serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::message;

    fn ids(page: &[ChatMessage]) -> Vec<i64> {
        page.iter().map(|m| m.id).collect()
    }

    #[test]
    fn latest_returns_the_newest_messages_oldest_first() {
        let recent = Recent::new((1..=5).map(message).collect());
        recent.extend(&[message(6), message(7)]);
        assert_eq!(ids(&recent.latest(3)), [5, 6, 7]);
        assert_eq!(recent.newest_id(), Some(7));
        assert_eq!(ids(&recent.latest(50)), [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn window_keeps_at_most_the_largest_page() {
        let max = i64::from(MAX_PAGE_SIZE);
        let recent = Recent::new((1..=max).map(message).collect());
        recent.extend(&[message(max + 1), message(max + 2)]);
        let page = recent.latest(MAX_PAGE_SIZE);
        assert_eq!(page.len(), MAX_PAGE_SIZE as usize);
        assert_eq!(page.first().map(|m| m.id), Some(3));
        assert_eq!(page.last().map(|m| m.id), Some(max + 2));
    }

    #[test]
    fn default_page_json_follows_every_commit() {
        let recent = Recent::new((1..=60).map(message).collect());
        recent.extend(&[message(61)]);
        let decoded: Vec<ChatMessage> =
            serde_json::from_slice(&recent.default_page_json()).expect("JSON array");
        assert_eq!(decoded, recent.latest(DEFAULT_PAGE_SIZE));
        assert_eq!(decoded.len(), DEFAULT_PAGE_SIZE as usize);
        assert_eq!(decoded.last().map(|m| m.id), Some(61));
    }

    #[test]
    fn empty_window_encodes_an_empty_array() {
        let recent = Recent::new(Vec::new());
        assert_eq!(&recent.default_page_json()[..], b"[]");
        assert!(recent.latest(10).is_empty());
        assert_eq!(recent.newest_id(), None);
    }
}
