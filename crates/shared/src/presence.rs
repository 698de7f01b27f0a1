//! Who is in a room now, and who is typing there: what the page tells the
//! server, and the events the stream carries. Neither is stored as a
//! message, nor replayed to a stream that resumes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The SSE event type of a [`PresenceEvent`].
pub const PRESENCE_EVENT: &str = "presence";
/// The SSE event type of a [`TypingEvent`].
pub const TYPING_EVENT: &str = "typing";
/// How often a page says it is still open on its room.
pub const HEARTBEAT_SECS: u64 = 15;
/// A page not heard from for this long has left (its connection vanished).
pub const PRESENCE_TTL_SECS: u64 = 45;
/// Someone typing says so at most this often per room; more is dropped.
pub const TYPING_EVERY_SECS: u64 = 2;
/// Someone not heard typing for this long has stopped.
pub const TYPING_TTL_SECS: u64 = 5;
/// The most names a presence event lists; the rest it counts
/// (`others`), so that one event to every stream stays small however
/// many people a room holds.
pub const PRESENCE_NAMES_MAX: usize = 20;

/// `POST /api/rooms/<name>/presence`: this page is open on the room
/// (again every [`HEARTBEAT_SECS`]), or, with `leaving`, it closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The browser, the same in all its tabs: a person with several tabs
    /// is there once.
    pub browser: Uuid,
    /// This page, until it closes.
    pub tab: Uuid,
    /// A guest's name, if they gave one (a signed-in reader is there under
    /// the account's name, whatever this says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub leaving: bool,
}

/// `POST /api/rooms/<name>/typing`: the sender is typing (`true`), or
/// cleared the field (`false`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub browser: Uuid,
    /// A guest's name (a signed-in sender types under the account's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub typing: bool,
}

/// Who has a page open on `room`: `people` by name (sorted; the first
/// [`PRESENCE_NAMES_MAX`]), which of them are `named_guests` (a name that
/// proves nothing, no account's: nobody to message), how many `others`
/// with a name are there too, and how many `guests` gave no name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEvent {
    pub room: String,
    pub people: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_guests: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub others: usize,
    pub guests: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// `name` started (or goes on) typing in `room`, or stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingEvent {
    pub room: String,
    pub name: String,
    pub typing: bool,
}

/// What the room's header says when nobody has it open.
pub const NOBODY_HERE: &str = "Nobody here";

/// One part of what the room's header says of who is there: the words
/// before it (`Here: `, `, ` or ` and `), a name or a count, and whether
/// it is an account's name (someone to message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresencePart {
    pub before: &'static str,
    pub text: String,
    pub account: bool,
}

/// The parts of what the room's header says of who is there, in order
/// (none: [`NOBODY_HERE`]).
pub fn presence_parts(event: &PresenceEvent) -> Vec<PresencePart> {
    let mut parts: Vec<(String, bool)> = event
        .people
        .iter()
        .map(|name| (name.clone(), !event.named_guests.contains(name)))
        .collect();
    match event.others {
        0 => {}
        1 => parts.push(("1 other".to_owned(), false)),
        n => parts.push((format!("{n} others"), false)),
    }
    match event.guests {
        0 => {}
        1 => parts.push(("1 guest".to_owned(), false)),
        n => parts.push((format!("{n} guests"), false)),
    }
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, (text, account))| PresencePart {
            before: match i {
                0 => "Here: ",
                i if i == last => " and ",
                _ => ", ",
            },
            text,
            account,
        })
        .collect()
}

/// What the room's header says of who is there: "Here: ada, bob and 2
/// guests".
pub fn describe_presence(event: &PresenceEvent) -> String {
    let parts = presence_parts(event);
    if parts.is_empty() {
        return NOBODY_HERE.to_owned();
    }
    parts
        .into_iter()
        .map(|part| format!("{}{}", part.before, part.text))
        .collect()
}

/// What the line under the messages says of who is typing (none of them
/// the reader).
pub fn describe_typing(names: &[String]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [one, two] => Some(format!("{one} and {two} are typing…")),
        _ => Some("several people are typing…".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here(people: &[&str], guests: usize) -> String {
        describe_presence(&PresenceEvent {
            room: "general".into(),
            people: people.iter().map(|&name| name.to_owned()).collect(),
            named_guests: Vec::new(),
            others: 0,
            guests,
        })
    }

    #[test]
    fn presence_counts_the_names_it_does_not_list() {
        let event = PresenceEvent {
            room: "general".into(),
            people: vec!["ada".into(), "bob".into()],
            named_guests: vec!["bob".into()],
            others: 400,
            guests: 2,
        };
        assert_eq!(
            describe_presence(&event),
            "Here: ada, bob, 400 others and 2 guests"
        );
    }

    #[test]
    fn presence_parts_mark_accounts_names_alone() {
        let event = PresenceEvent {
            room: "general".into(),
            people: vec!["ada".into(), "cy".into()],
            named_guests: vec!["cy".into()],
            others: 0,
            guests: 1,
        };
        let part = |before, text: &str, account| PresencePart {
            before,
            text: text.to_owned(),
            account,
        };
        assert_eq!(
            presence_parts(&event),
            [
                part("Here: ", "ada", true),
                part(", ", "cy", false),
                part(" and ", "1 guest", false)
            ]
        );
    }

    #[test]
    fn presence_names_people_then_counts_guests() {
        assert_eq!(here(&[], 0), "Nobody here");
        assert_eq!(here(&["ada"], 0), "Here: ada");
        assert_eq!(here(&["ada", "bob"], 0), "Here: ada and bob");
        assert_eq!(
            here(&["ada", "bob", "cy"], 1),
            "Here: ada, bob, cy and 1 guest"
        );
        assert_eq!(here(&[], 3), "Here: 3 guests");
    }

    #[test]
    fn typing_names_one_or_two_then_says_several() {
        let names = |all: &[&str]| all.iter().map(|&n| n.to_owned()).collect::<Vec<_>>();
        assert_eq!(describe_typing(&[]), None);
        assert_eq!(
            describe_typing(&names(&["ada"])).as_deref(),
            Some("ada is typing…")
        );
        assert_eq!(
            describe_typing(&names(&["ada", "bob"])).as_deref(),
            Some("ada and bob are typing…")
        );
        assert_eq!(
            describe_typing(&names(&["ada", "bob", "cy"])).as_deref(),
            Some("several people are typing…")
        );
    }
}
