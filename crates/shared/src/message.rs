//! The messages that cross the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A message id, assigned by the store. Ids strictly increase in the order
/// messages are stored, so "every message after id N" is a complete answer.
///
/// Ids number the log's entries: a new message, or a change to one (an
/// edit, a deletion), each take the next id, so "every entry after id N"
/// is what a page that has seen N missed. A message keeps the id it was
/// sent with; a change's own id is its place in the log.
pub type MessageId = i64;

/// The event type of a change to a message on the event stream (an edit,
/// a deletion): its `data` is the message as changed, its `id` the
/// change's own place in the log. A new message has the default type.
pub const CHANGE_EVENT: &str = "change";

/// A stored chat message, as the server returns and streams it.
///
/// `timestamp` is the time the server stored it, RFC 3339 in UTC on the wire.
/// (`Default` is for tests' messages: one of nobody's, at the epoch.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: MessageId,
    /// The room it was sent to (its name as the room was created). (Absent
    /// in what servers before rooms sent: those were all in `general`.)
    #[serde(default = "general")]
    pub room: String,
    /// The id the sending client chose, so that a retried send is stored once.
    pub client_id: Uuid,
    pub username: String,
    pub text: String,
    /// `text` as the page shows it when it holds Markdown, links or
    /// mentions: safe HTML written by the server (`shared::markdown`).
    /// Absent (`""`) when the text shows as typed, and once deleted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub html: String,
    #[serde(with = "crate::timestamp")]
    pub timestamp: DateTime<Utc>,
    /// Whether a guest sent it under a name of their choosing; `false`
    /// when a signed-in account did, under the account's name. (Absent in
    /// what older servers sent: those were all guests.)
    #[serde(default = "sent_by_a_guest")]
    pub guest: bool,
    /// When its author last edited its text (`null`: never).
    #[serde(default, with = "crate::timestamp::option")]
    pub edited: Option<DateTime<Utc>>,
    /// Whether its author deleted it: its text is gone (`""`) from storage,
    /// its id and author stay, and pages show it as deleted in place.
    #[serde(default)]
    pub deleted: bool,
    /// Whether a moderator removed it (it is then `deleted` too): pages
    /// say so in place of its text.
    #[serde(default)]
    pub removed: bool,
    /// Its reactions, in the order each was first given.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// The message of the same room it answers, if it is a reply.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// What the page quotes of that message, as it now is (as it was when
    /// this one was streamed: a page updates it from the original's
    /// changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
}

/// How many characters of a message a reply quotes.
pub const QUOTE_CHARS: usize = 100;

/// The start of the message a reply answers: one line in the page.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quote {
    pub id: MessageId,
    pub username: String,
    pub guest: bool,
    /// Its first [`QUOTE_CHARS`] characters (`""` once deleted).
    pub text: String,
    pub deleted: bool,
}

impl Quote {
    /// The quote of `message` as it now is.
    pub fn of(message: &ChatMessage) -> Self {
        Self {
            id: message.id,
            username: message.username.clone(),
            guest: message.guest,
            text: message.text.chars().take(QUOTE_CHARS).collect(),
            deleted: message.deleted,
        }
    }
}

/// The most different reactions one message may hold.
pub const MAX_REACTIONS: usize = 20;
/// The most names a [`Reaction`] lists; its count counts everyone.
pub const MAX_REACTORS_SHOWN: usize = 20;

/// One reaction to a message and who gave it: one per person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reaction {
    /// An emoji or a short word (see [`crate::parse_reaction`]).
    pub reaction: String,
    /// How many people gave it.
    pub count: u32,
    /// The accounts that gave it, in the order they did (the first
    /// [`MAX_REACTORS_SHOWN`] people, with `guests`).
    pub people: Vec<String>,
    /// The guests that gave it, by the name each gave (anyone may type a
    /// guest's name: the page marks them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guests: Vec<String>,
}

/// The JSON API's path of a reaction to message `id`:
/// `/api/messages/<id>/reactions/<reaction>`, the reaction escaped as one
/// path segment.
pub fn reaction_path(id: MessageId, reaction: &str) -> String {
    let reaction = percent_encoding::utf8_percent_encode(reaction, crate::room::SEGMENT);
    format!("/api/messages/{id}/reactions/{reaction}")
}

/// A request to react to a message, or to take one's reaction back
/// (`PUT` and `DELETE /api/messages/<id>/reactions/<reaction>`; the body
/// may be left out by a signed-in account).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct React {
    /// Chosen by the client; the same id twice applies the change once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// A guest's browser (the same in all its tabs), which is the guest's
    /// identity for reactions: one reaction per browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<Uuid>,
    /// A guest's name, shown with the reaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Whether a message sent under `username` (by a guest, if `guest`) is the
/// account `account`'s: its author, who alone may change it and see its
/// earlier versions. A guest's message is nobody's, not even an account's
/// of the same name: anyone may type a guest's name.
pub fn written_by(username: &str, guest: bool, account: &str) -> bool {
    !guest && username == account
}

impl ChatMessage {
    /// Whether the account `account` wrote it (see [`written_by`]).
    pub fn is_by(&self, account: &str) -> bool {
        written_by(&self.username, self.guest, account)
    }
}

fn general() -> String {
    crate::room::GENERAL.to_owned()
}

fn sent_by_a_guest() -> bool {
    true
}

/// One entry of the log: a message sent (the entry's id is the message's),
/// or a change to one (an id of its own, later than the message's). What
/// a page receives on the event stream, and what the log replays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its place in the log.
    pub id: MessageId,
    /// The message as the entry left it (read from the store: as it now
    /// is).
    pub message: ChatMessage,
}

impl Entry {
    /// The entry of a message just sent.
    pub fn sent(message: ChatMessage) -> Self {
        Self {
            id: message.id,
            message,
        }
    }

    /// Whether it changes a message sent before.
    pub fn is_change(&self) -> bool {
        self.id != self.message.id
    }
}

/// How many messages the chat holds: `count` messages have ids up to
/// `as_of`. A page that holds messages newer than `as_of` adds those.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCount {
    pub as_of: MessageId,
    pub count: u64,
}

impl MessageCount {
    /// The count once `held` (sorted by id) are known too: those newer than
    /// `as_of` are added.
    pub fn with(&self, held: &[ChatMessage]) -> u64 {
        let newer = held.len() - held.partition_point(|m| m.id <= self.as_of);
        self.count + newer as u64
    }
}

/// A request to send a message (`POST /api/messages`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    pub username: String,
    pub text: String,
    /// Chosen by the client; sending the same id twice stores one message.
    /// When absent the server picks one, and a retry is a new message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// The message of the same room this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
}

/// A request to edit a message's text (`PATCH /api/messages/<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditMessage {
    pub text: String,
    /// Chosen by the client; the same id twice applies the edit once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
}

/// A request to delete a message (`DELETE /api/messages/<id>`; the body
/// is optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteMessage {
    /// Chosen by the client; the same id twice deletes once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// Why a moderator removes someone else's message (kept in the audit
    /// log; see [`crate::parse_reason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_adds_the_messages_held_newer_than_it() {
        let held: Vec<ChatMessage> = [3, 7, 9, 12]
            .into_iter()
            .map(|id| ChatMessage {
                id,
                room: "general".into(),
                client_id: Uuid::nil(),
                username: "ada".into(),
                text: "hi".into(),
                timestamp: DateTime::UNIX_EPOCH,
                guest: true,
                ..Default::default()
            })
            .collect();
        let count = MessageCount {
            as_of: 9,
            count: 120,
        };
        assert_eq!(count.with(&held), 121);
        assert_eq!(count.with(&[]), 120);
        assert_eq!(MessageCount::default().with(&held), 4);
    }

    #[test]
    fn chat_message_timestamp_is_rfc3339_on_the_wire() {
        let message = ChatMessage {
            id: 7,
            room: "random".into(),
            client_id: Uuid::nil(),
            username: "ada".into(),
            text: "hi".into(),
            timestamp: DateTime::parse_from_rfc3339("2026-11-28T15:19:50.250Z")
                .expect("valid timestamp")
                .with_timezone(&Utc),
            guest: false,
            ..Default::default()
        };
        let json = serde_json::to_value(&message).expect("serializes");
        assert_eq!(json["timestamp"], "2026-11-28T15:19:50.250Z");
        assert_eq!(json["id"], 7);
        assert_eq!(json["guest"], false);
        assert_eq!(json["room"], "random");
        assert_eq!(json["edited"], serde_json::Value::Null);
        assert_eq!(json["deleted"], false);
        assert_eq!(json["reply_to"], serde_json::Value::Null);
        let back: ChatMessage = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, message);
    }

    #[test]
    fn a_message_that_does_not_say_was_a_guests_in_general() {
        let old = r#"{"id":1,"client_id":"00000000-0000-0000-0000-000000000000","username":"ada","text":"hi","timestamp":"2026-11-28T15:19:50.250Z"}"#;
        let message: ChatMessage = serde_json::from_str(old).expect("deserializes");
        assert!(message.guest);
        assert_eq!(message.room, "general");
        assert_eq!((message.edited, message.deleted), (None, false));
    }

    #[test]
    fn send_message_client_id_is_optional() {
        let request: SendMessage =
            serde_json::from_str(r#"{"username":"ada","text":"hi"}"#).expect("deserializes");
        assert_eq!(request.client_id, None);
    }
}
