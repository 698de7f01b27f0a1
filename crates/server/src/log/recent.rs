//! The newest messages, kept in memory: what most history reads ask for.
//!
//! Every page load and every reconnecting page without an id asks for the
//! latest page. Rather than read and encode the same rows from the store
//! each time, the writer keeps the newest [`MAX_PAGE_SIZE`] messages here,
//! and the JSON of the default page ready to send. It is updated after each
//! commit and before the senders are answered, so a sender that reads
//! history after its acknowledgement sees its own message.
//!
//! It also keeps the SSE frames of the log's newest entries (the same
//! bytes the hub sends; an entry is a new message or a change to one): a
//! stream that resumes within the window replays these shared frames, so
//! a replay costs a reference count per entry, not a private copy. A
//! change also updates the message it changes, if the window holds it, so
//! that a page shows every message as it now is.
//!
//! The window holds the newest messages of every room together, in id
//! order. It answers a room's latest page when it holds enough of that
//! room's messages (or every message there is); otherwise the store does.
//! It is fed only from the committed log, in id order (see
//! [`crate::log::fanout`]).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, RwLock},
};

use bytes::Bytes;
use shared::{ChatMessage, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MessageId};

use crate::log::{hub::Published, store::Entry, store::Logged};

/// The newest messages; shared by the writer and every reader.
#[derive(Debug)]
pub struct Recent {
    window: RwLock<Window>,
}

#[derive(Debug)]
struct Window {
    /// The newest `MAX_PAGE_SIZE` stored messages (all of them if fewer),
    /// oldest first, each as it now is.
    messages: VecDeque<ChatMessage>,
    /// The newest `MAX_PAGE_SIZE` entries of the log framed as SSE events,
    /// oldest first.
    frames: VecDeque<Arc<Published>>,
    /// Whether `frames` holds every entry the log ever had.
    whole: bool,
    /// For each room asked for since the last change: its newest
    /// [`DEFAULT_PAGE_SIZE`] as a JSON array, encoded by the first reader
    /// after a change (not by the writer after every commit, which would
    /// be wasted while sends outpace reads). At most one per room.
    default_pages: Mutex<HashMap<String, Bytes>>,
}

impl Recent {
    /// A window over the store's latest [`MAX_PAGE_SIZE`] messages and
    /// entries (all of them if fewer), oldest first.
    pub fn new(newest: Vec<ChatMessage>, entries: &[Entry]) -> Self {
        let frames = entries
            .iter()
            .map(|e| Arc::new(Published::new(e)))
            .collect();
        let mut window = Window {
            messages: newest.into(),
            frames,
            whole: entries.len() < MAX_PAGE_SIZE as usize,
            default_pages: Mutex::default(),
        };
        window.trim();
        Self {
            window: RwLock::new(window),
        }
    }

    /// A window over a log of `messages` alone (no changes).
    #[cfg(test)]
    pub fn of_messages(messages: Vec<ChatMessage>) -> Self {
        let entries: Vec<Entry> = messages.iter().cloned().map(Entry::sent).collect();
        Self::new(messages, &entries)
    }

    /// The newest `limit` messages of every room, oldest first. Any `limit`
    /// up to [`MAX_PAGE_SIZE`] is answered in full.
    pub fn latest(&self, limit: u32) -> Vec<ChatMessage> {
        let window = self.read();
        let skip = window.messages.len().saturating_sub(limit as usize);
        window.messages.iter().skip(skip).cloned().collect()
    }

    /// The newest `limit` messages of `room`, oldest first, if the window
    /// holds that many of them or every message there is; else `None`
    /// (the store has the answer).
    pub fn latest_in(&self, room: &str, limit: u32) -> Option<Vec<ChatMessage>> {
        self.read().latest_in(room, limit)
    }

    /// The id of the log's newest entry, if any.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.read().frames.back().map(|frame| frame.id)
    }

    /// The frames of every entry after `after`, oldest first, if the
    /// window holds all of them: it holds every entry ever made until it
    /// first fills, and otherwise every one from its oldest on (the log's
    /// ids leave no gaps).
    pub fn frames_after(&self, after: MessageId) -> Option<Vec<Arc<Published>>> {
        let window = self.read();
        let holds_all = window.whole
            || window
                .frames
                .front()
                .is_some_and(|oldest| oldest.id <= after + 1);
        if !holds_all {
            return None;
        }
        let start = window.frames.partition_point(|frame| frame.id <= after);
        Some(window.frames.range(start..).cloned().collect())
    }

    /// The JSON of `latest_in(room, DEFAULT_PAGE_SIZE)`, shared, not
    /// re-encoded, if the window holds it.
    pub fn default_page_json(&self, room: &str) -> Option<Bytes> {
        let window = self.read();
        let mut pages = window
            .default_pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(page) = pages.get(room) {
            return Some(page.clone());
        }
        let page = window.latest_in(room, DEFAULT_PAGE_SIZE)?;
        let json = Bytes::from(serde_json::to_vec(&page).expect("a ChatMessage always serializes"));
        pages.insert(room.to_owned(), json.clone());
        Some(json)
    }

    /// Adds entries just committed, in id order, with their frames: a new
    /// message joins the window, a change replaces the message it changes
    /// if the window holds it.
    pub fn extend<'a>(
        &self,
        committed: impl IntoIterator<Item = (Logged<'a>, &'a Arc<Published>)>,
    ) {
        let mut window = self
            .window
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = window.frames.len();
        for (entry, frame) in committed {
            if entry.is_change() {
                let id = entry.message.id;
                let at = window.messages.partition_point(|message| message.id < id);
                if let Some(held) = window.messages.get_mut(at).filter(|held| held.id == id) {
                    *held = entry.message.clone();
                }
            } else {
                window.messages.push_back(entry.message.clone());
            }
            window.frames.push_back(Arc::clone(frame));
        }
        if window.frames.len() != before {
            window.trim();
            window.default_pages = Mutex::default();
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
        let max = MAX_PAGE_SIZE as usize;
        let excess = self.messages.len().saturating_sub(max);
        self.messages.drain(..excess);
        let excess = self.frames.len().saturating_sub(max);
        if excess > 0 {
            self.frames.drain(..excess);
            self.whole = false;
        }
    }

    fn latest_in(&self, room: &str, limit: u32) -> Option<Vec<ChatMessage>> {
        let limit = limit as usize;
        let mut page: Vec<ChatMessage> = self
            .messages
            .iter()
            .rev()
            .filter(|message| message.room == room)
            .take(limit)
            .cloned()
            .collect();
        // Not full: the window holds every message ever stored.
        let holds_all = self.messages.len() < MAX_PAGE_SIZE as usize;
        if page.len() < limit && !holds_all {
            return None;
        }
        page.reverse();
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::message;

    fn ids(page: &[ChatMessage]) -> Vec<i64> {
        page.iter().map(|m| m.id).collect()
    }

    /// Adds `messages` to `recent` as the writer does; returns their frames.
    fn commit(recent: &Recent, messages: &[ChatMessage]) -> Vec<Arc<Published>> {
        let frames: Vec<_> = messages
            .iter()
            .map(|m| Arc::new(Published::new(m)))
            .collect();
        recent.extend(messages.iter().map(Logged::from).zip(&frames));
        frames
    }

    fn frame_ids(frames: Option<Vec<Arc<Published>>>) -> Option<Vec<i64>> {
        frames.map(|frames| frames.iter().map(|f| f.id).collect())
    }

    #[test]
    fn a_window_not_yet_full_replays_everything() {
        let recent = Recent::of_messages((1..=5).map(message).collect());
        assert_eq!(frame_ids(recent.frames_after(0)), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(frame_ids(recent.frames_after(3)), Some(vec![4, 5]));
        assert_eq!(frame_ids(recent.frames_after(9)), Some(vec![]));
    }

    #[test]
    fn a_full_window_replays_only_from_its_oldest_message() {
        let max = i64::from(MAX_PAGE_SIZE);
        let recent = Recent::of_messages((1..=max).map(message).collect());
        let committed = commit(&recent, &[message(max + 1), message(max + 2)]);
        // Holds 3..=max+2: after 1 it starts at 2, which is gone.
        assert!(recent.frames_after(1).is_none());
        let replay = frame_ids(recent.frames_after(2)).expect("held");
        assert_eq!(replay.first(), Some(&3));
        assert_eq!(replay.len(), MAX_PAGE_SIZE as usize);
        // The frames are the very bytes the hub sends.
        let frames = recent.frames_after(max + 1).expect("held");
        assert_eq!(frames.len(), 1);
        assert!(Arc::ptr_eq(&frames[0], &committed[1]), "shared, not copied");
    }

    #[test]
    fn latest_returns_the_newest_messages_oldest_first() {
        let recent = Recent::of_messages((1..=5).map(message).collect());
        commit(&recent, &[message(6), message(7)]);
        assert_eq!(ids(&recent.latest(3)), [5, 6, 7]);
        assert_eq!(recent.newest_id(), Some(7));
        assert_eq!(ids(&recent.latest(50)), [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn window_keeps_at_most_the_largest_page() {
        let max = i64::from(MAX_PAGE_SIZE);
        let recent = Recent::of_messages((1..=max).map(message).collect());
        commit(&recent, &[message(max + 1), message(max + 2)]);
        let page = recent.latest(MAX_PAGE_SIZE);
        assert_eq!(page.len(), MAX_PAGE_SIZE as usize);
        assert_eq!(page.first().map(|m| m.id), Some(3));
        assert_eq!(page.last().map(|m| m.id), Some(max + 2));
    }

    #[test]
    fn default_page_json_follows_every_commit() {
        let recent = Recent::of_messages((1..=60).map(message).collect());
        let before = recent.default_page_json("general").expect("held");
        commit(&recent, &[message(61)]);
        let json = recent.default_page_json("general").expect("held");
        assert_ne!(before, json);
        let decoded: Vec<ChatMessage> = serde_json::from_slice(&json).expect("JSON array");
        assert_eq!(decoded, recent.latest(DEFAULT_PAGE_SIZE));
        assert_eq!(decoded.len(), DEFAULT_PAGE_SIZE as usize);
        assert_eq!(decoded.last().map(|m| m.id), Some(61));
    }

    fn in_room(id: i64, room: &str) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            ..message(id)
        }
    }

    #[test]
    fn a_rooms_latest_page_comes_from_the_window_only_when_it_holds_enough() {
        let max = i64::from(MAX_PAGE_SIZE);
        // Not full: it holds every message, so a room with few has them all.
        let recent = Recent::of_messages(vec![message(1), in_room(2, "random"), message(3)]);
        assert_eq!(
            recent.latest_in("random", 50).map(|p| ids(&p)),
            Some(vec![2])
        );
        assert_eq!(recent.latest_in("empty", 50).map(|p| ids(&p)), Some(vec![]));
        // Full, with one message of `random` among the newest: a page of
        // one is held, a longer one may reach further back than the window.
        commit(&recent, &(4..=max + 3).map(message).collect::<Vec<_>>());
        commit(&recent, &[in_room(max + 4, "random")]);
        assert_eq!(
            recent.latest_in("random", 1).map(|p| ids(&p)),
            Some(vec![max + 4])
        );
        assert_eq!(recent.latest_in("random", 2), None);
        assert_eq!(recent.default_page_json("random"), None);
        let general = recent.latest_in("general", 3).expect("held");
        assert_eq!(ids(&general), [max + 1, max + 2, max + 3]);
    }

    #[test]
    fn a_change_replaces_the_message_it_changes_and_replays_in_order() {
        let recent = Recent::of_messages((1..=3).map(message).collect());
        let before = recent.default_page_json("general").expect("held");
        let edited = ChatMessage {
            text: "fixed".into(),
            ..message(2)
        };
        let change = Entry {
            id: 4,
            message: edited.clone(),
        };
        let frame = Arc::new(Published::new(&change));
        recent.extend([(Logged::from(&change), &frame)]);
        commit(&recent, &[message(5)]);
        // The page shows the message as it now is, in its own place.
        assert_eq!(ids(&recent.latest(10)), [1, 2, 3, 5]);
        assert_eq!(recent.latest(10)[1], edited);
        assert_ne!(recent.default_page_json("general").expect("held"), before);
        // A stream resumes through the change, which has an id of its own.
        assert_eq!(frame_ids(recent.frames_after(2)), Some(vec![3, 4, 5]));
        assert_eq!(recent.newest_id(), Some(5));
        let replayed = recent.frames_after(3).expect("held");
        assert!(replayed[0].frame.starts_with(b"event: change\nid: 4\n"));
        // A change to a message older than the window is harmless.
        let gone = Entry {
            id: 6,
            message: ChatMessage {
                text: "old".into(),
                ..message(-1)
            },
        };
        let frame = Arc::new(Published::new(&gone));
        recent.extend([(Logged::from(&gone), &frame)]);
        assert_eq!(ids(&recent.latest(10)), [1, 2, 3, 5]);
        assert_eq!(recent.newest_id(), Some(6));
    }

    #[test]
    fn empty_window_encodes_an_empty_array() {
        let recent = Recent::of_messages(Vec::new());
        assert_eq!(
            &recent.default_page_json("general").expect("held")[..],
            b"[]"
        );
        assert!(recent.latest(10).is_empty());
        assert_eq!(recent.newest_id(), None);
    }
}
