//! What the accounts API takes and answers.

use serde::{Deserialize, Serialize};

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

/// Who is signed in: what signing up or in and `GET /api/session` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The account's name, as it was chosen.
    pub username: String,
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
}

impl Viewer {
    /// Whether this viewer may send messages.
    pub fn may_send(&self) -> bool {
        self.account.is_some() || self.guests_may_send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
