//! Changes to stored messages (an edit, a deletion), as entries of the log.
//!
//! A change takes the log's next id, like a message: the log is one
//! sequence of entries, each a new message or a change to one, so a stream
//! that resumes after id N gets every message and every change it missed,
//! once, in order. What a change may do is decided here, once, by
//! [`decide`]; each backend reads the message, asks, and writes under the
//! same lock as its appends (SQLite: the single writer's transaction;
//! PostgreSQL: the log's head row).

pub use shared::Entry;
use shared::{ChatMessage, MessageId};
use uuid::Uuid;

use super::{RoomId, Row};

/// An entry of the log, borrowed: what the fan-out publishes.
#[derive(Clone, Copy, Debug)]
pub struct Logged<'a> {
    pub id: MessageId,
    pub message: &'a ChatMessage,
}

impl Logged<'_> {
    pub fn is_change(&self) -> bool {
        self.id != self.message.id
    }
}

impl<'a> From<&'a ChatMessage> for Logged<'a> {
    /// A message sent: its own entry.
    fn from(message: &'a ChatMessage) -> Self {
        Self {
            id: message.id,
            message,
        }
    }
}

impl<'a> From<&'a Entry> for Logged<'a> {
    fn from(entry: &'a Entry) -> Self {
        Self {
            id: entry.id,
            message: &entry.message,
        }
    }
}

/// What a change does to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Its text becomes this one (which passed the text rules).
    Text(String),
    /// Its text is removed; it shows as deleted.
    Delete,
}

/// A change asked for, checked by the caller door, waiting to be applied.
#[derive(Clone, Debug)]
pub struct ChangeDraft {
    /// Chosen by the client: a change is applied once per client id.
    pub client_id: Uuid,
    /// The message to change.
    pub message: MessageId,
    /// The room the request named (the message must be there), or `None`
    /// when it named none.
    pub room: Option<RoomId>,
    /// Who asks: the name of a signed-in account. Only a message's author
    /// changes it.
    pub author: String,
    pub edit: Edit,
}

/// What a change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Applied: the log's next entry.
    New(Entry),
    /// Nothing new in the log: this client id changed it before, or it is
    /// already as asked (the same text, deleted again). The message as it
    /// now is.
    Existing(ChatMessage),
    /// Not applied; nothing was stored.
    Refused(Refusal),
}

/// Why a change was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No message has this id (in the room named).
    #[error("no such message")]
    NoSuchMessage,
    /// The message is someone else's (or a guest's).
    #[error("only its author may change a message")]
    NotAuthor,
    /// The message was deleted: it cannot be edited.
    #[error("the message was deleted")]
    Deleted,
}

/// What the log holds of the message a change names.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct Target {
    pub room_id: RoomId,
    pub username: String,
    pub guest: bool,
    pub deleted: bool,
    pub text: String,
}

/// The statement that reads a [`Target`]; `$1` is the message's id.
pub(super) const SELECT_TARGET: &str =
    "SELECT room_id, username, guest, deleted, text FROM messages WHERE id = $1";

/// Whether `draft` may change `target` (`None`: no message has its id).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Apply,
    /// Already so: nothing to write.
    Unchanged,
    Refuse(Refusal),
}

/// The rules of a change, for both backends: the message exists (in the
/// room named), its author asks (an account, by name: a guest's message
/// is nobody's to change), and a deleted message stays deleted.
pub(super) fn decide(target: Option<&Target>, draft: &ChangeDraft) -> Decision {
    let Some(target) = target else {
        return Decision::Refuse(Refusal::NoSuchMessage);
    };
    if draft.room.is_some_and(|room| room != target.room_id) {
        return Decision::Refuse(Refusal::NoSuchMessage);
    }
    if !shared::message::written_by(&target.username, target.guest, &draft.author) {
        return Decision::Refuse(Refusal::NotAuthor);
    }
    match (&draft.edit, target.deleted) {
        (Edit::Delete, true) => Decision::Unchanged,
        (Edit::Text(_), true) => Decision::Refuse(Refusal::Deleted),
        (Edit::Text(text), false) if *text == target.text => Decision::Unchanged,
        _ => Decision::Apply,
    }
}

impl Edit {
    /// How the `changes` table names it.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "edit",
            Self::Delete => "delete",
        }
    }
}

/// What a backend did with a change, before it reads the message back.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Written as the log's entry with this id.
    Applied(MessageId),
    /// Nothing written; the message with this id is as the change asks.
    Unchanged(MessageId),
    Refused(Refusal),
}

/// The statements that write an applied change, in order, for both
/// backends. Each names its parameters in the order they first appear, so
/// that the SQLite writer (rusqlite, which numbers `$N` by appearance)
/// binds them by position as sqlx does. A deletion removes the text and
/// every earlier version of it; an edit keeps the text it replaces.
pub(super) const KEEP_VERSION: &str = "INSERT INTO message_versions (message_id, change_id, text) \
                                       SELECT $1, $2, text FROM messages WHERE id = $1";
pub(super) const EDIT: &str = "UPDATE messages SET text = $1, edited_at = $2 WHERE id = $3";
pub(super) const FORGET_VERSIONS: &str = "DELETE FROM message_versions WHERE message_id = $1";
pub(super) const DELETE: &str = "UPDATE messages SET text = '', deleted = TRUE WHERE id = $1";
pub(super) const RECORD: &str = "INSERT INTO changes (id, client_id, message_id, kind, created_at) \
                                 VALUES ($1, $2, $3, $4, $5)";
pub(super) const CHANGED_BY_CLIENT_ID: &str = "SELECT message_id FROM changes WHERE client_id = $1";

/// The newest id of the log, messages and changes alike.
pub(super) const NEWEST_ID: &str = "SELECT max(id) FROM \
     (SELECT max(id) AS id FROM messages UNION ALL SELECT max(id) FROM changes) AS heads";

/// A statement that reads entries of the log ([`EntryRow`]s): those whose
/// id passes `$where`, in `$order` of id, at most `$limit`. Each branch is
/// limited on its own index before the two are merged.
macro_rules! select_entries {
    ($where:literal, $order:literal, $limit:literal) => {
        concat!(
            "SELECT e.seq, m.id, r.name AS room, m.client_id, m.username, m.text, m.created_at, \
             m.guest, m.edited_at, m.deleted FROM (\
             SELECT seq, message_id FROM (SELECT id AS seq, id AS message_id FROM messages ",
            $where,
            " ORDER BY id ",
            $order,
            " LIMIT ",
            $limit,
            ") AS sent UNION ALL \
             SELECT seq, message_id FROM (SELECT id AS seq, message_id FROM changes ",
            $where,
            " ORDER BY id ",
            $order,
            " LIMIT ",
            $limit,
            ") AS changed ORDER BY seq ",
            $order,
            " LIMIT ",
            $limit,
            ") AS e JOIN messages m ON m.id = e.message_id JOIN rooms r ON r.id = m.room_id \
             ORDER BY e.seq ",
            $order
        )
    };
}
pub(super) use select_entries;

/// An entry as both backends read it.
#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    seq: i64,
    #[sqlx(flatten)]
    message: Row,
}

impl From<EntryRow> for Entry {
    fn from(row: EntryRow) -> Self {
        Self {
            id: row.seq,
            message: row.message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(username: &str) -> Target {
        Target {
            room_id: 1,
            username: username.into(),
            guest: false,
            deleted: false,
            text: "hello".into(),
        }
    }

    fn draft(edit: Edit) -> ChangeDraft {
        ChangeDraft {
            client_id: Uuid::nil(),
            message: 1,
            room: None,
            author: "ada".into(),
            edit,
        }
    }

    #[test]
    fn only_the_author_changes_a_message_and_never_a_guests() {
        let edit = draft(Edit::Text("hi".into()));
        assert_eq!(decide(Some(&target("ada")), &edit), Decision::Apply);
        assert_eq!(
            decide(Some(&target("bob")), &edit),
            Decision::Refuse(Refusal::NotAuthor)
        );
        let guests = Target {
            guest: true,
            ..target("ada")
        };
        assert_eq!(
            decide(Some(&guests), &draft(Edit::Delete)),
            Decision::Refuse(Refusal::NotAuthor)
        );
    }

    #[test]
    fn a_message_elsewhere_or_nowhere_is_no_such_message() {
        let mut edit = draft(Edit::Delete);
        assert_eq!(
            decide(None, &edit),
            Decision::Refuse(Refusal::NoSuchMessage)
        );
        edit.room = Some(2);
        assert_eq!(
            decide(Some(&target("ada")), &edit),
            Decision::Refuse(Refusal::NoSuchMessage)
        );
        edit.room = Some(1);
        assert_eq!(decide(Some(&target("ada")), &edit), Decision::Apply);
    }

    #[test]
    fn a_deleted_message_stays_deleted_and_the_same_text_changes_nothing() {
        let deleted = Target {
            deleted: true,
            text: String::new(),
            ..target("ada")
        };
        assert_eq!(
            decide(Some(&deleted), &draft(Edit::Text("back".into()))),
            Decision::Refuse(Refusal::Deleted)
        );
        assert_eq!(
            decide(Some(&deleted), &draft(Edit::Delete)),
            Decision::Unchanged
        );
        assert_eq!(
            decide(Some(&target("ada")), &draft(Edit::Text("hello".into()))),
            Decision::Unchanged
        );
    }
}
