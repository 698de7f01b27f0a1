//! Merging messages into one ordered list without duplicates.
//!
//! A page receives messages from three places (server-rendered history, the
//! reply to its own send, the event stream) in no guaranteed order relative
//! to each other. Keeping the list sorted by id and unique by id makes every
//! arrival order show the same list.

use crate::message::ChatMessage;

/// Inserts `message` into `list` (sorted by id) unless a message with its id
/// is already there. Returns whether it was inserted.
pub fn insert(list: &mut Vec<ChatMessage>, message: ChatMessage) -> bool {
    // New messages almost always belong at the end.
    match list.last() {
        None => {
            list.push(message);
            true
        }
        Some(last) if last.id < message.id => {
            list.push(message);
            true
        }
        Some(_) => match list.binary_search_by_key(&message.id, |m| m.id) {
            Ok(_) => false,
            Err(at) => {
                list.insert(at, message);
                true
            }
        },
    }
}

/// Replaces the message held under `message`'s id with `message`, as a
/// change (an edit, a deletion) left it. A message not held stays out: it
/// is older than what the page loaded, and shows as it now is if it is
/// loaded later. Returns whether it was held.
pub fn replace(list: &mut [ChatMessage], message: ChatMessage) -> bool {
    match list.binary_search_by_key(&message.id, |m| m.id) {
        Ok(at) => {
            list[at] = message;
            true
        }
        Err(_) => false,
    }
}

/// Inserts every message of `batch`; returns how many were new.
pub fn extend(list: &mut Vec<ChatMessage>, batch: impl IntoIterator<Item = ChatMessage>) -> usize {
    batch
        .into_iter()
        .filter_map(|m| insert(list, m).then_some(()))
        .count()
}

#[cfg(test)]
mod change_tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn message(id: i64, text: &str) -> ChatMessage {
        ChatMessage {
            id,
            room: "general".into(),
            client_id: Uuid::nil(),
            username: "ada".into(),
            text: text.into(),
            timestamp: Utc::now(),
            guest: false,
            ..Default::default()
        }
    }

    #[test]
    fn a_change_replaces_a_held_message_in_its_place_and_skips_others() {
        let mut list = vec![message(1, "a"), message(3, "b"), message(5, "c")];
        assert!(replace(&mut list, message(3, "b, fixed")));
        assert_eq!(list[1].text, "b, fixed");
        assert!(!replace(&mut list, message(4, "not held")));
        assert!(!replace(&mut list, message(0, "older than the page")));
        let ids: Vec<_> = list.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 3, 5]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn message(id: i64) -> ChatMessage {
        ChatMessage {
            room: crate::GENERAL.into(),
            id,
            client_id: Uuid::nil(),
            username: "ada".into(),
            text: format!("message {id}"),
            timestamp: Utc::now(),
            guest: true,
            ..Default::default()
        }
    }

    fn ids(list: &[ChatMessage]) -> Vec<i64> {
        list.iter().map(|m| m.id).collect()
    }

    #[test]
    fn duplicate_ids_are_inserted_once() {
        let mut list = vec![];
        assert!(insert(&mut list, message(1)));
        assert!(!insert(&mut list, message(1)));
        assert_eq!(ids(&list), [1]);
    }

    #[test]
    fn out_of_order_arrivals_end_up_sorted() {
        let mut list = vec![];
        let inserted = extend(&mut list, [5, 2, 9, 2, 7, 1, 9].map(message));
        assert_eq!(inserted, 5);
        assert_eq!(ids(&list), [1, 2, 5, 7, 9]);
    }
}
