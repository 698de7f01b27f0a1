//! What the accounts API takes and answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The page where one signs in or up (the server's, script-free), which
/// the header links to with the room to come back to (`?room=<name>`).
pub const SIGN_IN_PATH: &str = "/sign-in";

/// Where the header's `Sign out` button posts (a form, with the room to
/// come back to): the server ends the session and sends the browser back.
pub const SIGN_OUT_PATH: &str = "/sign-out";

/// A name and a password: what `POST /api/accounts` (sign up) and
/// `POST /api/session` (sign in) take.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Never prints the password.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What an account may do beyond writing: admins grant and take back
/// roles; moderators (and admins) remove anyone's messages. Every other
/// account is a member. Guests have no role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Moderator,
    #[default]
    Member,
}

impl Role {
    /// How the API and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Moderator => "moderator",
            Self::Member => "member",
        }
    }

    /// Whether it may moderate: an admin or a moderator.
    pub fn moderates(self) -> bool {
        matches!(self, Self::Admin | Self::Moderator)
    }
}

impl std::str::FromStr for Role {
    type Err = crate::ValidationError;

    fn from_str(role: &str) -> Result<Self, Self::Err> {
        match role {
            "admin" => Ok(Self::Admin),
            "moderator" => Ok(Self::Moderator),
            "member" => Ok(Self::Member),
            _ => Err(crate::ValidationError {
                field: crate::Field::Role,
                rule: crate::Rule::UnknownRole,
            }),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = crate::ValidationError;

    fn try_from(role: String) -> Result<Self, Self::Error> {
        role.parse()
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is signed in: what signing up or in and `GET /api/session` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The account's name, as it was chosen.
    pub username: String,
    /// What it may do beyond writing.
    #[serde(default)]
    pub role: Role,
}

/// An account with more than a member's role: the page marks its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub name: String,
    pub role: Role,
}

/// A change of an account's role (`PUT /api/accounts/<name>/role`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRole {
    pub role: Role,
}

/// Who looks at the page and what they may do there: what the page asks
/// the server while rendering, so that the header and the composer come out
/// right before any script runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// The signed-in account's name; `None` for a guest.
    pub account: Option<String>,
    /// Whether guests may send (`--guests`).
    pub guests_may_send: bool,
    /// The signed-in account's role (a guest's: `member`, which grants
    /// nothing more).
    #[serde(default)]
    pub role: Role,
    /// The signed-in account's ban, while it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned: Option<BanNotice>,
}

impl Viewer {
    /// Whether this viewer may send messages.
    pub fn may_send(&self) -> bool {
        self.banned.is_none() && (self.account.is_some() || self.guests_may_send)
    }

    /// Whether this viewer may remove anyone's message.
    pub fn moderates(&self) -> bool {
        self.account.is_some() && self.role.moderates()
    }
}

/// An account's ban, as the account is told it (with `403 banned`, and
/// on its open pages' stream as a `banned` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanNotice {
    /// Why, as the moderator said.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it ends; `null`: for good.
    #[serde(default, with = "crate::timestamp::option")]
    pub until: Option<DateTime<Utc>>,
}

impl BanNotice {
    /// Whether it still holds at `now`.
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_as_they_are_written_and_refuse_others() {
        for role in [Role::Admin, Role::Moderator, Role::Member] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("owner".parse::<Role>().is_err());
        assert!(Role::Admin.moderates() && Role::Moderator.moderates());
        assert!(!Role::Member.moderates());
    }

    #[test]
    fn credentials_never_print_their_password() {
        let credentials = Credentials {
            username: "ada".into(),
            password: "correct horse".into(),
        };
        let printed = format!("{credentials:?}");
        assert!(printed.contains("ada"));
        assert!(!printed.contains("horse"), "{printed}");
    }
}
