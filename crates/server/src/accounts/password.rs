//! Password hashing: Argon2id with OWASP's recommended parameters
//! (19 MiB of memory, 2 passes, 1 lane), each hash a PHC string with its
//! own random salt.
//!
//! A hash takes tens of milliseconds of one core and 19 MiB: it runs on
//! tokio's blocking threads, at most [`AT_ONCE`] at a time, so that a burst
//! of sign-ins cannot take all the memory or starve the runtime. A sign-in
//! for a name without an account verifies against a hash made for the
//! purpose, so it answers in about the same time as a wrong password.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use tokio::sync::{OnceCell, Semaphore};

/// How many hashes may run at once.
const AT_ONCE: usize = 2;

/// OWASP's parameters for Argon2id: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// What a sign-in for an unknown name is verified against.
    stand_in: Arc<OnceCell<String>>,
}

impl Hasher {
    pub fn new() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(AT_ONCE)),
            stand_in: Arc::default(),
        }
    }

    /// The PHC string of `password`'s hash, with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
                .map_err(|e| HashError(e.to_string()))?;
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError(e.to_string()))
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
    }

    /// Whether `password` matches `hash`; with no hash (no such account),
    /// does the same work and answers `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let known = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => match self
                .stand_in
                .get_or_try_init(|| self.hash("not anyone's password".into()))
                .await
            {
                Ok(stand_in) => stand_in.clone(),
                Err(_) => return false,
            },
        };
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        known && matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasps_parameters_and_verifies_only_its_password() {
        let hasher = Hasher::new();
        let hash = hasher.hash("correct horse".into()).await.expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
        );
        assert!(
            !hasher
                .verify("correct horsf".into(), Some(hash.clone()))
                .await
        );
        // A fresh salt each time.
        let again = hasher.hash("correct horse".into()).await.expect("hashes");
        assert_ne!(hash, again);
    }

    #[tokio::test]
    async fn no_account_never_verifies() {
        let hasher = Hasher::new();
        assert!(!hasher.verify("not anyone's password".into(), None).await);
        assert!(!hasher.verify("anything".into(), None).await);
    }
}
