//! What moderators see and send: the audit log's entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::MessageId;

/// One moderation action or role change, as the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place in the audit log: later actions have larger ids.
    pub id: i64,
    #[serde(with = "crate::timestamp")]
    pub at: DateTime<Utc>,
    /// Who acted: an account's name, or `(command line)` for the
    /// operator's `server admin grant`.
    pub actor: String,
    /// What was done: `remove_message`, `set_role`.
    pub action: String,
    /// Whom it concerns: a message's author, an account.
    pub subject: String,
    /// The message acted on, if any.
    #[serde(default)]
    pub message_id: Option<MessageId>,
    /// Why, as the actor said.
    #[serde(default)]
    pub reason: Option<String>,
    /// More about it: the room of a removed message, the role given.
    #[serde(default)]
    pub detail: Option<String>,
    /// A removed message's text, if the operator keeps it for evidence
    /// (`--audit-keeps-text`).
    #[serde(default)]
    pub text: Option<String>,
}

/// An account's ban as it is told it (defined with the account, whose
/// viewer carries it).
pub use crate::account::BanNotice;

/// The event a banned account's open pages receive, its data a
/// [`BanNotice`]; the stream ends after it.
pub const BANNED_EVENT: &str = "banned";

/// Which of a banned account's messages go with the ban.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoveMessages {
    #[default]
    None,
    /// Those of the last hour.
    Hour,
    /// Those of the last day.
    Day,
    All,
}

impl RemoveMessages {
    /// How the database spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::All => "all",
        }
    }

    /// Whether a message sent at `sent` goes with a ban made at `banned`.
    pub fn covers(self, sent: DateTime<Utc>, banned: DateTime<Utc>) -> bool {
        match self {
            Self::None => false,
            Self::Hour => sent >= banned - chrono::Duration::hours(1),
            Self::Day => sent >= banned - chrono::Duration::days(1),
            Self::All => true,
        }
    }
}

impl std::str::FromStr for RemoveMessages {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text {
            "none" => Ok(Self::None),
            "hour" => Ok(Self::Hour),
            "day" => Ok(Self::Day),
            "all" => Ok(Self::All),
            _ => Err(()),
        }
    }
}

/// A ban (`POST /api/accounts/<name>/ban`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRequest {
    #[serde(default)]
    pub reason: Option<String>,
    /// When it ends; `null` or absent: for good.
    #[serde(default, with = "crate::timestamp::option")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub remove_messages: RemoveMessages,
}

/// What a ban did: `POST /api/accounts/<name>/ban`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banned {
    /// The account's name, as it was chosen.
    pub username: String,
    pub ban: BanNotice,
    /// How many of its messages were removed with it.
    pub removed: usize,
}

/// The most audit entries one request may return, and how many it
/// returns when it names no limit.
pub const MAX_AUDIT_PAGE: u32 = 200;
pub const DEFAULT_AUDIT_PAGE: u32 = 50;

/// What the name of the operator's command line is in the audit log.
pub const COMMAND_LINE: &str = "(command line)";

/// An account and its role: what `PUT /api/accounts/<name>/role` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRole {
    /// The account's name, as it was chosen.
    pub username: String,
    pub role: crate::account::Role,
}

/// What ending a ban did (`DELETE /api/accounts/<name>/ban`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbanned {
    /// The account's name, as it was chosen.
    pub username: String,
    /// Whether a ban ended (`false`: it was not banned).
    pub was_banned: bool,
}

/// What a block is on: a guest's name (and every name that looks like
/// it), or a client address (an IPv4 address, or an IPv6 address's /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Name,
    Address,
}

impl BlockKind {
    /// How the database spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Address => "address",
        }
    }
}

/// A block of guests (`POST /api/blocks`): one of `guest_name` and
/// `address`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRequest {
    #[serde(default)]
    pub guest_name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// When it ends; `null` or absent: for good.
    #[serde(default, with = "crate::timestamp::option")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A block as moderators list it (`GET /api/blocks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub id: i64,
    pub kind: BlockKind,
    /// The name or address as the moderator gave it (an IPv6 address as
    /// its /64).
    pub value: String,
    #[serde(default, with = "crate::timestamp::option")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The moderator who made it.
    pub by: String,
    #[serde(with = "crate::timestamp")]
    pub at: DateTime<Utc>,
}

impl Block {
    /// What a blocked guest is told: why, and until when.
    pub fn notice(&self) -> BanNotice {
        BanNotice {
            reason: self.reason.clone(),
            until: self.until,
        }
    }
}

/// A reader's report of a message (`POST /api/messages/<id>/reports`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// A report as made: what reporting answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMade {
    pub id: i64,
    pub message_id: MessageId,
}

/// An open report, as moderators list it (`GET /api/reports`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: i64,
    /// The message reported, as it now is.
    pub message: crate::ChatMessage,
    /// Who reported it: an account's name, or `guest`.
    pub reporter: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub at: DateTime<Utc>,
}

/// What a moderator does about a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportAction {
    /// Remove the message.
    Remove,
    /// Ban its author (an account) and remove the message.
    Ban,
    /// Nothing to do.
    Dismiss,
}

impl ReportAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remove => "remove",
            Self::Ban => "ban",
            Self::Dismiss => "dismiss",
        }
    }
}

/// A moderator's decision on a report (`POST /api/reports/<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActOnReport {
    pub action: ReportAction,
    /// Why (for the audit log; the report's own reason otherwise).
    #[serde(default)]
    pub reason: Option<String>,
    /// For a ban: until when (absent: for good).
    #[serde(default, with = "crate::timestamp::option")]
    pub until: Option<DateTime<Utc>>,
}

/// What acting on a report did: how many open reports of the same
/// message it closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportsClosed {
    pub message_id: MessageId,
    pub action: ReportAction,
    pub closed: u64,
}

/// The most open reports one request lists.
pub const MAX_REPORTS_LISTED: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_takes_the_messages_of_the_window_it_names() {
        let banned = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let ago = |minutes| banned - chrono::Duration::minutes(minutes);
        let after = banned + chrono::Duration::seconds(1);
        assert!(!RemoveMessages::None.covers(after, banned));
        assert!(RemoveMessages::Hour.covers(after, banned), "sent under way");
        assert!(RemoveMessages::Hour.covers(ago(59), banned));
        assert!(!RemoveMessages::Hour.covers(ago(61), banned));
        assert!(RemoveMessages::Day.covers(ago(23 * 60), banned));
        assert!(!RemoveMessages::Day.covers(ago(25 * 60), banned));
        assert!(RemoveMessages::All.covers(ago(1_000_000), banned));
        for removes in [
            RemoveMessages::None,
            RemoveMessages::Hour,
            RemoveMessages::Day,
            RemoveMessages::All,
        ] {
            assert_eq!(removes.as_str().parse(), Ok(removes));
            assert_eq!(
                serde_json::to_value(removes).expect("serializes"),
                removes.as_str()
            );
        }
    }
}
