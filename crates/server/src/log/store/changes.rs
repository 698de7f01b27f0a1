//! Changes to stored messages (an edit, a deletion), as entries of the log.
//!
//! A change takes the log's next id, like a message: the log is one
//! sequence of entries, each a new message or a change to one, so a stream
//! that resumes after id N gets every message and every change it missed,
//! once, in order. What a change may do is decided here, once, by
//! [`decide`]; each backend reads the message, asks, and writes under the
//! same lock as its appends (SQLite: the single writer's transaction;
//! PostgreSQL: the log's head row).

use chrono::{DateTime, Utc};
pub use shared::Entry;
use shared::{
    ChatMessage, MessageId, Reaction,
    message::{MAX_REACTIONS, MAX_REACTORS_SHOWN},
};
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
    /// Its text (and reactions) are removed; it shows as deleted.
    Delete,
    /// Gives this reaction (which passed the reaction rules), or with
    /// `on: false` takes it back.
    React { reaction: String, on: bool },
}

/// Who asks for a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in account, by name: it may edit and delete its own
    /// messages, and react.
    Account(String),
    /// A guest, by its browser (its identity for reactions) and the name
    /// it gave: it may react only.
    Guest { browser: Uuid, name: String },
}

impl Actor {
    /// Who this is among a message's reactions.
    pub(super) fn person(&self) -> String {
        match self {
            Self::Account(name) => format!("account:{name}"),
            Self::Guest { browser, .. } => format!("guest:{browser}"),
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::Account(name) | Self::Guest { name, .. } => name,
        }
    }

    fn is_guest(&self) -> bool {
        matches!(self, Self::Guest { .. })
    }
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
    /// Who asks. Only a message's author edits or deletes it, or a
    /// moderator removes it.
    pub by: Actor,
    pub edit: Edit,
    /// Set when `by` moderates (the caller door says so): a deletion of
    /// someone else's message is then a removal.
    pub moderation: Option<Moderation>,
}

/// What a moderator's removal of someone else's message records in the
/// audit log besides who and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moderation {
    pub reason: Option<String>,
    /// Whether the audit keeps the removed text (the operator's choice,
    /// `--audit-keeps-text`, for evidence); otherwise it is gone.
    pub keep_text: bool,
}

/// What a change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Applied: the log's next entry.
    New(Entry),
    /// Nothing new in the log: this client id changed it before, or it is
    /// already as asked (the same text, deleted again, a reaction given
    /// twice). The message as it now is.
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
    /// The message is someone else's (or a guest's), and the change is
    /// not a moderator's removal.
    #[error("only its author may change a message")]
    NotAuthor,
    /// The message was deleted: it cannot be edited or reacted to.
    #[error("the message was deleted")]
    Deleted,
    /// The message holds as many different reactions as one may.
    #[error("the message has as many different reactions as it may")]
    TooManyReactions,
}

/// What the log holds of the message a change names.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct Target {
    pub room_id: RoomId,
    pub username: String,
    pub guest: bool,
    pub deleted: bool,
    pub text: String,
    /// Its reactions as shown (JSON, see [`Reaction`]).
    pub reactions: String,
    /// For a reaction: whether the one asking gave it already (read by
    /// [`GIVEN`]; `false` otherwise).
    #[sqlx(default)]
    pub given: bool,
}

/// The statement that reads a [`Target`]; `$1` is the message's id.
pub(super) const SELECT_TARGET: &str =
    "SELECT room_id, username, guest, deleted, text, reactions FROM messages WHERE id = $1";
/// Whether a person (`$3`) gave a reaction (`$2`) to a message (`$1`).
pub(super) const GIVEN: &str = "SELECT EXISTS (SELECT 1 FROM reactions \
                                WHERE message_id = $1 AND reaction = $2 AND person = $3)";

/// Whether `draft` may change `target` (`None`: no message has its id).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Apply,
    /// Already so: nothing to write.
    Unchanged,
    Refuse(Refusal),
}

/// The rules of a change, for both backends: the message exists (in the
/// room named); only its author (an account, by name: a guest's message
/// is nobody's) edits or deletes it, a moderator removes anyone's, and
/// anyone reacts; a deleted message
/// stays deleted and takes no reaction; one person gives a reaction once;
/// a message holds at most [`MAX_REACTIONS`] different ones.
pub(super) fn decide(target: Option<&Target>, draft: &ChangeDraft) -> Decision {
    let Some(target) = target else {
        return Decision::Refuse(Refusal::NoSuchMessage);
    };
    if draft.room.is_some_and(|room| room != target.room_id) {
        return Decision::Refuse(Refusal::NoSuchMessage);
    }
    if let Edit::React { reaction, on } = &draft.edit {
        return match (*on, target.given, target.deleted) {
            (true, true, _) | (false, false, _) => Decision::Unchanged,
            (true, false, true) => Decision::Refuse(Refusal::Deleted),
            (true, false, false) => {
                let shown = reactions_of(target);
                let new_kind = !shown.iter().any(|shown| shown.reaction == *reaction);
                if new_kind && shown.len() >= MAX_REACTIONS {
                    Decision::Refuse(Refusal::TooManyReactions)
                } else {
                    Decision::Apply
                }
            }
            (false, true, _) => Decision::Apply,
        };
    }
    if !written_by_actor(target, &draft.by) && !removes(target, draft) {
        return Decision::Refuse(Refusal::NotAuthor);
    }
    match (&draft.edit, target.deleted) {
        (Edit::Delete, true) => Decision::Unchanged,
        (Edit::Text(_), true) => Decision::Refuse(Refusal::Deleted),
        (Edit::Text(text), false) if *text == target.text => Decision::Unchanged,
        _ => Decision::Apply,
    }
}

/// Whether `target` is `by`'s own message (an account's, by name: a
/// guest's message is nobody's).
fn written_by_actor(target: &Target, by: &Actor) -> bool {
    match by {
        Actor::Account(name) => shared::message::written_by(&target.username, target.guest, name),
        Actor::Guest { .. } => false,
    }
}

/// Whether `draft` is a moderator's removal of `target`: a deletion of
/// someone else's message by one who moderates.
pub(super) fn removes(target: &Target, draft: &ChangeDraft) -> bool {
    draft.edit == Edit::Delete && draft.moderation.is_some() && !written_by_actor(target, &draft.by)
}

/// The reactions `target` shows (none if its JSON cannot be read).
fn reactions_of(target: &Target) -> Vec<Reaction> {
    serde_json::from_str(&target.reactions).unwrap_or_default()
}

impl Edit {
    /// How the `changes` table names it.
    fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "edit",
            Self::Delete => "delete",
            Self::React { on: true, .. } => "react",
            Self::React { on: false, .. } => "unreact",
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

/// One statement of an applied change, with what it binds, for both
/// backends: [`plan`] says which, in order; each backend only runs them.
/// Every statement names its parameters in the order they first appear,
/// so that the SQLite writer (rusqlite, which numbers `$N` by appearance)
/// binds them by position as sqlx does.
#[derive(Debug)]
pub(super) struct Write {
    pub sql: &'static str,
    pub binds: Vec<Bind>,
}

/// A value a [`Write`] binds.
#[derive(Debug)]
pub(super) enum Bind {
    Int(i64),
    Text(String),
    Bool(bool),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    /// A text or `NULL`.
    MaybeText(Option<String>),
}

/// The statements that apply `draft` to `target` as the log's entry `id`,
/// in order. An edit keeps the text it replaces; a deletion removes the
/// text, every earlier version of it and the reactions; a reaction is a
/// row, and the message's shown reactions are made again in Rust from
/// `target` and that reaction's first rows (see [`ReactionRows`]), which
/// the backend reads after the row is written: the last statement's
/// `$1` is then [`shown_after`]'s JSON. A moderator's removal is a
/// deletion that marks the message removed and writes the audit's entry
/// first (with the text, if kept).
pub(super) fn plan(
    draft: &ChangeDraft,
    target: &Target,
    id: MessageId,
    at: DateTime<Utc>,
) -> Vec<Write> {
    let message = Bind::Int(draft.message);
    let mut writes = match &draft.edit {
        Edit::Delete if removes(target, draft) => {
            let moderation = draft.moderation.clone().unwrap_or(Moderation {
                reason: None,
                keep_text: false,
            });
            vec![
                Write {
                    sql: "INSERT INTO audit \
                          (created_at, actor, action, subject, message_id, reason, detail, text) \
                          SELECT $1, $2, 'remove_message', m.username, $3, $4, r.name, \
                          CASE WHEN $5 THEN m.text END \
                          FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = $3",
                    binds: vec![
                        Bind::Time(at),
                        Bind::Text(draft.by.name().to_owned()),
                        Bind::Int(draft.message),
                        Bind::MaybeText(moderation.reason),
                        Bind::Bool(moderation.keep_text),
                    ],
                },
                Write {
                    sql: "DELETE FROM message_versions WHERE message_id = $1",
                    binds: vec![Bind::Int(draft.message)],
                },
                Write {
                    sql: "DELETE FROM reactions WHERE message_id = $1",
                    binds: vec![Bind::Int(draft.message)],
                },
                Write {
                    sql: "UPDATE messages SET text = '', deleted = TRUE, removed = TRUE, \
                          reactions = '[]' WHERE id = $1",
                    binds: vec![message],
                },
            ]
        }
        Edit::Text(text) => vec![
            Write {
                sql: "INSERT INTO message_versions (message_id, change_id, text) \
                      SELECT $1, $2, text FROM messages WHERE id = $1",
                binds: vec![Bind::Int(draft.message), Bind::Int(id)],
            },
            Write {
                sql: "UPDATE messages SET text = $1, edited_at = $2 WHERE id = $3",
                binds: vec![Bind::Text(text.clone()), Bind::Time(at), message],
            },
        ],
        Edit::Delete => vec![
            Write {
                sql: "DELETE FROM message_versions WHERE message_id = $1",
                binds: vec![Bind::Int(draft.message)],
            },
            Write {
                sql: "DELETE FROM reactions WHERE message_id = $1",
                binds: vec![Bind::Int(draft.message)],
            },
            Write {
                sql: "UPDATE messages SET text = '', deleted = TRUE, reactions = '[]' WHERE id = $1",
                binds: vec![message],
            },
        ],
        Edit::React { reaction, on: true } => vec![Write {
            sql: "INSERT INTO reactions (message_id, reaction, person, name, guest, change_id) \
                  VALUES ($1, $2, $3, $4, $5, $6)",
            binds: vec![
                message,
                Bind::Text(reaction.clone()),
                Bind::Text(draft.by.person()),
                Bind::Text(draft.by.name().to_owned()),
                Bind::Bool(draft.by.is_guest()),
                Bind::Int(id),
            ],
        }],
        Edit::React {
            reaction,
            on: false,
        } => vec![Write {
            sql: "DELETE FROM reactions WHERE message_id = $1 AND reaction = $2 AND person = $3",
            binds: vec![
                message,
                Bind::Text(reaction.clone()),
                Bind::Text(draft.by.person()),
            ],
        }],
    };
    writes.push(Write {
        sql: "INSERT INTO changes (id, client_id, message_id, kind, created_at) \
              VALUES ($1, $2, $3, $4, $5)",
        binds: vec![
            Bind::Int(id),
            Bind::Uuid(draft.client_id),
            Bind::Int(draft.message),
            Bind::Text(
                if removes(target, draft) {
                    "remove"
                } else {
                    draft.edit.kind()
                }
                .to_owned(),
            ),
            Bind::Time(at),
        ],
    });
    writes
}

/// For a reaction's change: the statement that reads that reaction's
/// first givers and how many there are (`$1` the message, `$2` the
/// reaction, `$3` [`SHOWN`]), after its row is written.
pub(super) const REACTION_ROWS: &str = "SELECT name, guest, \
     (SELECT count(*) FROM reactions WHERE message_id = $1 AND reaction = $2) AS total \
     FROM reactions WHERE message_id = $1 AND reaction = $2 ORDER BY change_id LIMIT $3";
/// How many givers a reaction lists.
pub(super) const SHOWN: i64 = MAX_REACTORS_SHOWN as i64;
/// Writes a message's shown reactions: `$1` the JSON, `$2` the message.
pub(super) const SET_SHOWN: &str = "UPDATE messages SET reactions = $1 WHERE id = $2";

/// One row of [`REACTION_ROWS`].
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ReactionRow {
    pub name: String,
    pub guest: bool,
    pub total: i64,
}

/// The reactions `target` shows once `reaction` has the givers `rows`
/// (none: nobody gives it any more), as JSON: the reaction keeps its
/// place, or a new one comes last.
pub(super) fn shown_after(target: &Target, reaction: &str, rows: &[ReactionRow]) -> String {
    let mut shown = reactions_of(target);
    let at = shown.iter().position(|shown| shown.reaction == reaction);
    let total = rows.first().map_or(0, |row| row.total);
    match (at, total) {
        (Some(at), 0) => {
            shown.remove(at);
        }
        (None, 0) => {}
        (at, total) => {
            let updated = Reaction {
                reaction: reaction.to_owned(),
                count: u32::try_from(total).unwrap_or(u32::MAX),
                people: rows
                    .iter()
                    .filter(|r| !r.guest)
                    .map(|r| r.name.clone())
                    .collect(),
                guests: rows
                    .iter()
                    .filter(|r| r.guest)
                    .map(|r| r.name.clone())
                    .collect(),
            };
            match at {
                Some(at) => shown[at] = updated,
                None => shown.push(updated),
            }
        }
    }
    serde_json::to_string(&shown).expect("reactions always serialize")
}

/// The message a client id changed before, if any (`$1` the client id).
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
             m.guest, m.edited_at, m.deleted, m.removed, m.reactions, ",
            $crate::log::store::quote_columns!(),
            " FROM (\
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
             LEFT JOIN messages q ON q.id = m.reply_to ORDER BY e.seq ",
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
            reactions: "[]".into(),
            given: false,
        }
    }

    fn draft(edit: Edit) -> ChangeDraft {
        ChangeDraft {
            client_id: Uuid::nil(),
            message: 1,
            room: None,
            by: Actor::Account("ada".into()),
            edit,
            moderation: None,
        }
    }

    fn removal(by: &str, edit: Edit) -> ChangeDraft {
        ChangeDraft {
            by: Actor::Account(by.into()),
            moderation: Some(Moderation {
                reason: Some("spam".into()),
                keep_text: false,
            }),
            ..draft(edit)
        }
    }

    #[test]
    fn a_moderator_removes_anyones_message_but_edits_only_their_own() {
        let bobs = target("bob");
        let removing = removal("mo", Edit::Delete);
        assert_eq!(decide(Some(&bobs), &removing), Decision::Apply);
        assert!(removes(&bobs, &removing));
        let guests = Target {
            guest: true,
            ..target("cy")
        };
        assert_eq!(decide(Some(&guests), &removing), Decision::Apply);
        // Their own message they delete, as anyone does: no removal.
        let own = target("mo");
        assert_eq!(decide(Some(&own), &removing), Decision::Apply);
        assert!(!removes(&own, &removing));
        // Moderating is no licence to put words in someone's mouth.
        assert_eq!(
            decide(Some(&bobs), &removal("mo", Edit::Text("edited".into()))),
            Decision::Refuse(Refusal::NotAuthor)
        );
        // Gone already: nothing more to do.
        let deleted = Target {
            deleted: true,
            ..target("bob")
        };
        assert_eq!(decide(Some(&deleted), &removing), Decision::Unchanged);
        // Without the door's word, a deletion of another's is refused.
        assert_eq!(
            decide(Some(&bobs), &draft(Edit::Delete)),
            Decision::Refuse(Refusal::NotAuthor)
        );
    }

    fn react(reaction: &str, on: bool) -> ChangeDraft {
        ChangeDraft {
            by: Actor::Guest {
                browser: Uuid::nil(),
                name: "cy".into(),
            },
            ..draft(Edit::React {
                reaction: reaction.into(),
                on,
            })
        }
    }

    fn shown(reactions: &[&str]) -> String {
        let shown: Vec<Reaction> = reactions
            .iter()
            .map(|reaction| Reaction {
                reaction: (*reaction).into(),
                count: 1,
                people: vec!["bob".into()],
                guests: Vec::new(),
            })
            .collect();
        serde_json::to_string(&shown).expect("serializes")
    }

    #[test]
    fn anyone_reacts_once_to_a_message_that_is_not_deleted() {
        let bobs = target("bob");
        assert_eq!(decide(Some(&bobs), &react("👍", true)), Decision::Apply);
        let given = Target {
            given: true,
            ..target("bob")
        };
        assert_eq!(
            decide(Some(&given), &react("👍", true)),
            Decision::Unchanged
        );
        assert_eq!(decide(Some(&given), &react("👍", false)), Decision::Apply);
        assert_eq!(
            decide(Some(&bobs), &react("👍", false)),
            Decision::Unchanged
        );
        let deleted = Target {
            deleted: true,
            ..target("bob")
        };
        assert_eq!(
            decide(Some(&deleted), &react("👍", true)),
            Decision::Refuse(Refusal::Deleted)
        );
        // A guest reacts, but edits nothing, not even a guest's message.
        let guests = Target {
            guest: true,
            username: "cy".into(),
            ..target("cy")
        };
        let mut edit = react("👍", true);
        edit.edit = Edit::Delete;
        assert_eq!(
            decide(Some(&guests), &edit),
            Decision::Refuse(Refusal::NotAuthor)
        );
    }

    #[test]
    fn a_message_holds_a_bounded_number_of_different_reactions() {
        let kinds: Vec<String> = (0..MAX_REACTIONS).map(|i| format!("r{i}")).collect();
        let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
        let full = Target {
            reactions: shown(&kinds),
            ..target("bob")
        };
        assert_eq!(
            decide(Some(&full), &react("new", true)),
            Decision::Refuse(Refusal::TooManyReactions)
        );
        // One already there may still be given by someone else.
        assert_eq!(decide(Some(&full), &react("r3", true)), Decision::Apply);
    }

    #[test]
    fn a_reaction_keeps_its_place_and_leaves_when_nobody_gives_it() {
        let with = Target {
            reactions: shown(&["👍", "🎉"]),
            ..target("bob")
        };
        let row = |name: &str, guest: bool| ReactionRow {
            name: name.into(),
            guest,
            total: 3,
        };
        let json = shown_after(&with, "👍", &[row("bob", false), row("cy", true)]);
        let after: Vec<Reaction> = serde_json::from_str(&json).expect("json");
        assert_eq!(after[0].reaction, "👍");
        assert_eq!(after[0].count, 3, "everyone counts, listed or not");
        assert_eq!(after[0].people, ["bob"]);
        assert_eq!(after[0].guests, ["cy"]);
        assert_eq!(after[1].reaction, "🎉");
        let json = shown_after(&with, "👍", &[]);
        let after: Vec<Reaction> = serde_json::from_str(&json).expect("json");
        assert_eq!(after.len(), 1);
        let json = shown_after(&with, "🚀", &[row("bob", false)]);
        let after: Vec<Reaction> = serde_json::from_str(&json).expect("json");
        assert_eq!(after[2].reaction, "🚀");
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
