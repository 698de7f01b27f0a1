//! What moderators see and send: the audit log's entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::MessageId;

/// One moderation action or role change, as the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place in the audit log: later actions have larger ids.
    pub id: i64,
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
