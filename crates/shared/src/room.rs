//! Rooms: every message belongs to one.
//!
//! A room's name follows the username rules (trimmed, NFC, no control or
//! invisible character) with up to [`ROOM_MAX_CHARS`] characters, and is
//! unique ignoring case and look-alike letters: the server compares the
//! names' keys (`names::name_key`, as for accounts). The room
//! that always exists is [`GENERAL`], shown at `/`; every other room at
//! `/r/<name>` ([`room_path`]).

use std::collections::HashMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

pub use crate::validate::ROOM_MAX_CHARS;
use crate::{
    MessageCount, MessageId,
    validate::{Field, ValidationError, parse_name},
};

/// The room that exists from the start, and where messages that name no
/// room go.
pub const GENERAL: &str = "general";

/// The stream's passing event saying that a room was just created (its
/// data: the [`Room`]), so that every page lists it at once.
pub const ROOM_EVENT: &str = "room";

/// A room's name as the rules make it, or the first rule it breaks. A
/// name beginning with [`DIRECT_MARK`] is the server's, for direct
/// conversations.
pub fn parse_room_name(name: &str) -> Result<String, ValidationError> {
    let name = parse_name(Field::Room, name, ROOM_MAX_CHARS)?;
    if name.starts_with(DIRECT_MARK) {
        return Err(ValidationError {
            field: Field::Room,
            rule: crate::validate::Rule::Reserved,
        });
    }
    Ok(name)
}

/// The page that creates a room (the server's, script-free), which the
/// sidebar links to.
pub const NEW_ROOM_PATH: &str = "/rooms/new";

/// How a direct conversation's name begins (the rest: its people's
/// account ids), which no room's may.
pub const DIRECT_MARK: char = '@';

/// The most people in one direct conversation, its opener included.
pub const MAX_DIRECT_PEOPLE: usize = 8;

/// How the page tells whether two names it holds are one room: ignoring
/// case. The server's key folds look-alike letters too
/// (`names::name_key`), but the page only holds names as the server spells
/// them (a room's page under another spelling redirects to its own).
pub fn room_key(name: &str) -> String {
    lowercase(name)
}

#[cfg(not(target_arch = "wasm32"))]
fn lowercase(text: &str) -> String {
    text.to_lowercase()
}

/// Lower case by the browser's own tables (Unicode's default case mapping,
/// as Rust's), which keeps Rust's out of the WASM.
#[cfg(target_arch = "wasm32")]
fn lowercase(text: &str) -> String {
    js_sys::JsString::from(text)
        .to_lower_case()
        .as_string()
        .unwrap_or_else(|| text.to_owned())
}

/// Every byte but the unreserved characters of RFC 3986 is escaped in a
/// path segment.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The page of the room `name`: `/` for [`GENERAL`], else `/r/<name>`
/// with the name escaped as one path segment.
pub fn room_path(name: &str) -> String {
    if room_key(name) == GENERAL {
        "/".to_owned()
    } else {
        format!("/r/{}", path_segment(name))
    }
}

/// The room whose page `path` is, the inverse of [`room_path`]: `/` is
/// [`GENERAL`], `/r/<name>` the room of that (escaped) name; any other
/// path is no room's page. Both the server, rendering a page, and the
/// browser, hydrating it, read the room this way.
pub fn room_in_path(path: &str) -> Option<String> {
    if path == "/" {
        return Some(GENERAL.to_owned());
    }
    let segment = path.strip_prefix("/r/")?;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|name| name.into_owned())
}

/// `name` (a room's, an account's) escaped as one path segment.
pub fn path_segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// The address of the server's page at `page` (signing in, a new room)
/// that comes back to the room `name` when done: `<page>?room=<name>`.
pub fn page_from_room(page: &str, name: &str) -> String {
    format!("{page}?room={}", path_segment(name))
}

/// The JSON API's path of the room's `what` (`messages`, `presence`,
/// `typing`): `/api/rooms/<name>/<what>`.
pub fn room_api_path(name: &str, what: &str) -> String {
    format!("/api/rooms/{}/{what}", path_segment(name))
}

/// Who may see a room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Anyone, guests included.
    #[default]
    Public,
    /// Its members alone; to anyone else it does not exist.
    Private,
    /// A direct conversation: the same few people always (up to
    /// [`MAX_DIRECT_PEOPLE`]), whom nobody joins nor leaves; to anyone
    /// else it does not exist.
    Direct,
}

impl RoomKind {
    /// As the database and the JSON API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Direct => "direct",
        }
    }

    pub fn is_public(&self) -> bool {
        *self == Self::Public
    }
}

impl TryFrom<String> for RoomKind {
    type Error = String;

    fn try_from(kind: String) -> Result<Self, Self::Error> {
        match kind.as_str() {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            "direct" => Ok(Self::Direct),
            _ => Err(format!("no room kind {kind:?}")),
        }
    }
}

/// The most members a private room holds.
pub const MAX_MEMBERS: usize = 1000;

/// A room as `GET /api/rooms` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub name: String,
    /// Who may see it.
    #[serde(default)]
    pub kind: RoomKind,
    /// A direct conversation's people by account name, in name order
    /// (absent for a room).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    /// How many messages it holds, as of an id.
    pub count: MessageCount,
    /// What moderators set for it (absent: nothing).
    #[serde(default, skip_serializing_if = "RoomSettings::is_open")]
    pub settings: RoomSettings,
}

impl Room {
    /// What a page calls it: a room by its name, a direct conversation by
    /// its people but the viewer `me` ([`people_but`]).
    pub fn title(&self, me: Option<&str>) -> String {
        if self.kind == RoomKind::Direct {
            people_but(&self.people, me)
        } else {
            self.name.clone()
        }
    }
}

/// A direct conversation's `people` but the viewer `me`, as a page names
/// it (all of them if it is the viewer's alone).
pub fn people_but(people: &[String], me: Option<&str>) -> String {
    let others: Vec<&str> = people
        .iter()
        .map(String::as_str)
        .filter(|person| Some(*person) != me)
        .collect();
    if others.is_empty() {
        people.join(", ")
    } else {
        others.join(", ")
    }
}

/// What moderators set for a room (`PATCH /api/rooms/<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// At most one message per this many seconds per person (0: any
    /// pace); moderators are exempt.
    #[serde(default)]
    pub slow_mode_secs: u32,
    /// Read-only for everyone but moderators.
    #[serde(default)]
    pub locked: bool,
    /// Out of the room list, history kept, read-only.
    #[serde(default)]
    pub archived: bool,
    /// Whether guests may write here (where the server lets them at all).
    #[serde(default = "yes")]
    pub guests: bool,
}

fn yes() -> bool {
    true
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            slow_mode_secs: 0,
            locked: false,
            archived: false,
            guests: true,
        }
    }
}

impl RoomSettings {
    /// Whether nothing is set: anyone may write, at any pace.
    pub fn is_open(&self) -> bool {
        *self == Self::default()
    }

    /// Whether only moderators may write (locked or archived).
    pub fn read_only(&self) -> bool {
        self.locked || self.archived
    }
}

/// The most seconds of a room's slow mode: six hours.
pub const MAX_SLOW_MODE_SECS: u32 = 6 * 60 * 60;

/// A change of a room's settings: what it names changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSettingsChange {
    #[serde(default)]
    pub slow_mode_secs: Option<u32>,
    #[serde(default)]
    pub locked: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub guests: Option<bool>,
}

impl RoomSettingsChange {
    /// `settings` with this change.
    pub fn applied_to(self, settings: RoomSettings) -> RoomSettings {
        RoomSettings {
            slow_mode_secs: self.slow_mode_secs.unwrap_or(settings.slow_mode_secs),
            locked: self.locked.unwrap_or(settings.locked),
            archived: self.archived.unwrap_or(settings.archived),
            guests: self.guests.unwrap_or(settings.guests),
        }
    }
}

/// How far someone has read a room: up to the message `last_read`, when
/// the room held `count` messages. What arrived since is the room's count
/// now less `count` (messages are never taken back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPosition {
    pub last_read: MessageId,
    pub count: u64,
}

impl ReadPosition {
    /// How many messages arrived in a room that holds `count_now` since.
    pub fn unread(&self, count_now: u64) -> u64 {
        count_now.saturating_sub(self.count)
    }

    /// The further read of two positions.
    #[must_use]
    pub fn max(self, other: Self) -> Self {
        if other.last_read > self.last_read {
            other
        } else {
            self
        }
    }
}

/// Every room, and (for a signed-in reader) how far they have read each:
/// what the sidebar shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Oldest first; `general` first of all.
    pub rooms: Vec<Room>,
    /// The signed-in reader's read positions by room name (`None` for a
    /// guest, who keeps them in the browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<HashMap<String, ReadPosition>>,
    /// The chat's admins and moderators, by name (the page marks them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staff: Vec<crate::account::StaffMember>,
}

/// A request to create a room (`POST /api/rooms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoom {
    pub name: String,
    /// A private room, the caller its owner (absent: public).
    #[serde(default)]
    pub private: bool,
}

/// The stream's passing event telling an account's streams that it was
/// taken out of (or left) a private room (its data: a [`RoomLeft`]), so
/// that its pages drop the room at once.
pub const ROOM_LEFT_EVENT: &str = "room_left";

/// Which room an account no longer sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomLeft {
    pub room: String,
}

/// A member of a private room (`GET /api/rooms/<name>/members`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub username: String,
    /// Whether they manage the room's members.
    pub owner: bool,
}

/// Who to add to a private room (`POST /api/rooms/<name>/members`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddMember {
    pub username: String,
}

/// A direct conversation asked for (`POST /api/direct`): the people
/// besides the caller, by account name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenDirect {
    pub usernames: Vec<String>,
}

/// A member made an owner or not (`PUT /api/rooms/<name>/members/<username>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetOwner {
    pub owner: bool,
}

/// How long an invite link lasts when its maker does not say: a week.
pub const INVITE_DEFAULT_SECS: u64 = 7 * 24 * 60 * 60;
/// The shortest an invite link may last: a minute.
pub const INVITE_MIN_SECS: u64 = 60;
/// The longest an invite link may last: thirty days.
pub const INVITE_MAX_SECS: u64 = 30 * 24 * 60 * 60;
/// The most invite links a room holds at once (past ones do not count).
pub const MAX_INVITES: usize = 20;

/// An invite link asked for (`POST /api/rooms/<name>/invites`): how long
/// it lasts (absent: [`INVITE_DEFAULT_SECS`]) and how many people it may
/// let in (absent: any number, up to the room's [`MAX_MEMBERS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInvite {
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    #[serde(default)]
    pub uses: Option<u32>,
}

/// An invite link, as its room's owners see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// What the link carries: whoever holds it may join.
    pub code: String,
    /// The link itself, on the chat's public address ([`invite_path`]).
    pub url: String,
    #[serde(with = "crate::timestamp")]
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// How many more people it lets in (absent: any number).
    #[serde(default)]
    pub uses_left: Option<u32>,
}

/// The page an invite link opens: `/invite/<code>`.
pub fn invite_path(code: &str) -> String {
    format!("/invite/{}", path_segment(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    #[test]
    fn a_page_from_a_room_names_the_room_as_one_query_value() {
        assert_eq!(
            page_from_room("/sign-in", "café & co/x"),
            "/sign-in?room=caf%C3%A9%20%26%20co%2Fx"
        );
    }

    fn rule(name: &str) -> Result<String, Rule> {
        parse_room_name(name).map_err(|err| {
            assert_eq!(err.field, Field::Room);
            err.rule
        })
    }

    #[test]
    fn room_names_follow_the_username_rules_up_to_40_characters() {
        assert_eq!(rule("  random  "), Ok("random".to_owned()));
        assert_eq!(rule("café au lait"), Ok("café au lait".to_owned()));
        assert_eq!(rule(&"é".repeat(40)), Ok("é".repeat(40)));
        assert_eq!(rule(&"x".repeat(41)), Err(Rule::TooLong));
        assert_eq!(rule("   "), Err(Rule::Required));
        assert_eq!(rule("a\tb"), Err(Rule::ControlCharacter));
        assert_eq!(rule("a\u{200B}b"), Err(Rule::InvisibleCharacter));
        // `.` and `..` are no path a browser keeps; punctuation names nothing.
        for name in [".", "..", "- -", "!!!", "/"] {
            assert_eq!(rule(name), Err(Rule::OnlyPunctuation), "{name}");
        }
        assert_eq!(rule("c++"), Ok("c++".to_owned()));
        assert_eq!(rule("🎉"), Ok("🎉".to_owned()));
        // Composed to NFC: one name has one spelling.
        assert_eq!(rule("cafe\u{301}"), Ok("caf\u{e9}".to_owned()));
    }

    #[test]
    fn the_page_holds_one_room_whatever_the_case() {
        assert_eq!(room_key("General"), room_key(GENERAL));
        assert_eq!(room_key("ÉTÉ"), room_key("été"));
        assert_ne!(room_key("random"), room_key("randoms"));
    }

    #[test]
    fn a_page_path_names_its_room_as_room_path_wrote_it() {
        for name in ["general", "random", "a/b c?", "été", "%41"] {
            let expected = if name == "general" { GENERAL } else { name };
            assert_eq!(room_in_path(&room_path(name)).as_deref(), Some(expected));
        }
        assert_eq!(room_in_path("/r/random").as_deref(), Some("random"));
        for not_a_room in ["", "/r/", "/r", "/r/a/b", "/rooms/a", "/admin", "/r/%FF"] {
            assert_eq!(room_in_path(not_a_room), None, "{not_a_room}");
        }
    }

    #[test]
    fn a_room_path_escapes_its_name_as_one_segment() {
        assert_eq!(room_path("general"), "/");
        assert_eq!(room_path("General"), "/");
        assert_eq!(room_path("random"), "/r/random");
        assert_eq!(room_path("a/b c?"), "/r/a%2Fb%20c%3F");
        assert_eq!(room_path("été"), "/r/%C3%A9t%C3%A9");
        assert_eq!(
            room_api_path("a/b", "messages"),
            "/api/rooms/a%2Fb/messages".to_owned()
        );
    }

    #[test]
    fn unread_is_what_a_room_gained_since_it_was_read() {
        let read = ReadPosition {
            last_read: 40,
            count: 12,
        };
        assert_eq!(read.unread(15), 3);
        assert_eq!(read.unread(12), 0);
        // A count from a server that is behind never goes below nothing.
        assert_eq!(read.unread(10), 0);
        let further = ReadPosition {
            last_read: 44,
            count: 15,
        };
        assert_eq!(read.max(further), further);
        assert_eq!(further.max(read), further);
    }

    #[test]
    fn a_room_names_its_rule_when_refused() {
        let err = parse_room_name(&"x".repeat(41)).expect_err("too long");
        assert_eq!(err.to_string(), "room name must be at most 40 characters");
    }
}
