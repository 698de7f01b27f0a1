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
