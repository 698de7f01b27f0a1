//! Password hashing: Argon2id with OWASP's recommended parameters
//! (19 MiB of memory, 2 passes, 1 lane), each hash a PHC string with its
//! own random salt.
//!
//! A hash takes tens of milliseconds of one core and 19 MiB: it runs on
//! tokio's blocking threads, at most [`AT_ONCE`] at a time, so that a burst
//! of sign-ins cannot take all the memory or starve the runtime. The 19 MiB
//! are kept for the next hash (at most [`AT_ONCE`] of them, 38 MiB):
//! allocated afresh, their page faults cost this machine about as much
//! system time as the hash itself costs in user time. A sign-in
//! for a name without an account verifies against a hash made for the
//! purpose, so it answers in about the same time as a wrong password.

use std::sync::{Arc, Mutex};

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{self, Output, ParamsString, SaltString},
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

impl From<password_hash::Error> for HashError {
    fn from(err: password_hash::Error) -> Self {
        Self(err.to_string())
    }
}

/// Argon2's working memory for one hash, reused by the next.
type Memory = Vec<Block>;

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// What a sign-in for an unknown name is verified against.
    stand_in: Arc<OnceCell<String>>,
    /// Working memory of finished hashes, for the next ones (at most
    /// [`AT_ONCE`], as no more run at once).
    memory: Arc<Mutex<Vec<Memory>>>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(AT_ONCE)),
            stand_in: Arc::default(),
            memory: Arc::default(),
        }
    }

    /// Runs `work` on a blocking thread with working memory from the pool,
    /// once a permit allows it.
    async fn with_memory<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let pool = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            let taken = pool.lock().ok().and_then(|mut pool| pool.pop());
            let mut memory = taken.unwrap_or_default();
            let result = work(&mut memory);
            if let Ok(mut pool) = pool.lock() {
                pool.push(memory);
            }
            result
        })
        .await
        .map_err(|e| HashError(e.to_string()))
    }

    /// The PHC string of `password`'s hash, with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.with_memory(move |memory| hash_in(memory, password.as_bytes()))
            .await?
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
        let matches = self
            .with_memory(move |memory| verify_in(memory, password.as_bytes(), &hash))
            .await
            .unwrap_or(false);
        known && matches
    }
}

/// Hashes `password` with a fresh salt in `memory`: what argon2's
/// `PasswordHasher` does, in memory that outlives the call.
fn hash_in(memory: &mut Memory, password: &[u8]) -> Result<String, HashError> {
    let argon2 = argon2();
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    let mut salt_bytes = [0; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let output = output(
        &argon2,
        memory,
        password,
        raw_salt,
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the PHC string `hash` (with the algorithm,
/// version and parameters it names), computed in `memory`. The comparison
/// takes the same time wherever the outputs differ.
fn verify_in(memory: &mut Memory, password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut salt_bytes = [0; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    output(&argon2, memory, password, raw_salt, expected.len())
        .is_ok_and(|output| output == expected)
}

/// The `len`-byte Argon2 output of `password` with `salt`, computed in
/// `memory`.
fn output(
    argon2: &Argon2,
    memory: &mut Memory,
    password: &[u8],
    salt: &[u8],
    len: usize,
) -> password_hash::Result<Output> {
    Output::init_with(len, |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, sized(memory, argon2.params()))
            .map_err(Into::into)
    })
}

/// `memory` with exactly the blocks `params` asks for. What it held before
/// is never read: Argon2 writes every block before reading it.
fn sized<'a>(memory: &'a mut Memory, params: &Params) -> &'a mut [Block] {
    memory.resize(params.block_count(), Block::default());
    memory
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
    async fn hashes_are_the_argon2_crates_own_both_ways() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let hasher = Hasher::new();
        let ours = hasher.hash("correct horse".into()).await.expect("hashes");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon2().verify_password(b"correct horsf", &parsed).is_err());

        let salt = SaltString::encode_b64(b"sixteen byte slt").expect("salt");
        let theirs = argon2()
            .hash_password(b"correct horse", &salt)
            .expect("hashes")
            .to_string();
        assert!(
            hasher
                .verify("correct horse".into(), Some(theirs.clone()))
                .await
        );
        assert!(!hasher.verify("correct horsf".into(), Some(theirs)).await);
        // A hash made with other parameters verifies with its own.
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"correct horse", &salt)
        .expect("hashes")
        .to_string();
        assert!(hasher.verify("correct horse".into(), Some(cheaper)).await);
    }

    #[tokio::test]
    async fn no_account_never_verifies() {
        let hasher = Hasher::new();
        assert!(!hasher.verify("not anyone's password".into(), None).await);
        assert!(!hasher.verify("anything".into(), None).await);
    }
}
