//! The name keys no account held when last asked, so that a guest who
//! sends under the same name again and again does not cost a database
//! query each time.
//!
//! An account made on this server must never be taken as free, not even
//! by a guest whose question to the database was on its way while the
//! account was committed: each answer is remembered only if no account
//! was made since the question was asked (a generation count, moved on by
//! [`FreeNames::account_made`]). One made on another server (PostgreSQL)
//! is seen within [`FREE_NAME_TTL`].

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

/// How long a name found free is taken as free without asking again.
pub const FREE_NAME_TTL: Duration = Duration::from_secs(5);
/// The most names remembered as free (the memory is cleared when full).
const FREE_NAMES_MAX: usize = 10_000;

/// Name keys found free, and when.
#[derive(Debug, Default)]
pub struct FreeNames(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    checked: HashMap<String, Instant>,
    /// How many accounts this server has made (or begun making).
    generation: u64,
}

/// Where a question to the database began: its answer is remembered only
/// if no account was made since.
#[derive(Clone, Copy, Debug)]
pub struct Asked(u64);

impl FreeNames {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key` was found free less than [`FREE_NAME_TTL`] ago; if
    /// not, where the question to the database begins.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Asked> {
        let inner = self.lock();
        match inner.checked.get(key) {
            Some(checked) if now.duration_since(*checked) < FREE_NAME_TTL => Ok(()),
            _ => Err(Asked(inner.generation)),
        }
    }

    /// The database found `key` free for a question begun at `asked`.
    pub fn found_free(&self, key: String, asked: Asked, now: Instant) {
        let mut inner = self.lock();
        if inner.generation != asked.0 {
            return; // An account was made meanwhile: ask again next time.
        }
        if inner.checked.len() >= FREE_NAMES_MAX {
            inner.checked.clear();
        }
        inner.checked.insert(key, now);
    }

    /// An account with `key` is being made, or was just committed: `key`
    /// is not free, and no answer asked before now is remembered.
    pub fn account_made(&self, key: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.checked.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_name_is_remembered_for_a_while() {
        let names = FreeNames::default();
        let now = Instant::now();
        let asked = names.check("zelda", now).expect_err("never asked");
        names.found_free("zelda".into(), asked, now);
        assert!(names.check("zelda", now + FREE_NAME_TTL / 2).is_ok());
        assert!(names.check("zelda", now + FREE_NAME_TTL).is_err());
    }

    #[test]
    fn an_answer_asked_before_an_account_was_made_is_not_remembered() {
        let names = FreeNames::default();
        let now = Instant::now();
        // A guest's question is on its way while the account is committed.
        let asked = names.check("zelda", now).expect_err("never asked");
        names.account_made("zelda");
        names.found_free("zelda".into(), asked, now);
        assert!(
            names.check("zelda", now).is_err(),
            "asks the database again"
        );
    }

    #[test]
    fn making_an_account_forgets_its_name() {
        let names = FreeNames::default();
        let now = Instant::now();
        let asked = names.check("zelda", now).expect_err("never asked");
        names.found_free("zelda".into(), asked, now);
        names.account_made("zelda");
        assert!(names.check("zelda", now).is_err());
    }
}
