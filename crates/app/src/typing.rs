//! Who is typing: when the page says the reader types ([`Announcer`]),
//! and whom it shows as typing ([`Typists`]). Plain state, driven by
//! `crate::live` with the browser's clock.

use shared::presence::{TYPING_EVERY_SECS, TYPING_TTL_SECS};

const EVERY_MS: f64 = TYPING_EVERY_SECS as f64 * 1000.0;
const TTL_MS: f64 = TYPING_TTL_SECS as f64 * 1000.0;

/// When the reader's typing is told to the room: as they type, at most
/// every [`TYPING_EVERY_SECS`]; when they clear the field, once, if they
/// were typing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Announcer {
    /// When "typing" was last told.
    told_at: Option<f64>,
}

impl Announcer {
    /// The composer's text changed; `Some(typing)` is what to tell.
    pub fn text_changed(&mut self, empty: bool, now_ms: f64) -> Option<bool> {
        if empty {
            // Told, and not yet over by itself: say it is over.
            let told = self.told_at.take()?;
            return (now_ms - told < TTL_MS).then_some(false);
        }
        match self.told_at {
            Some(told) if now_ms - told < EVERY_MS => None,
            _ => {
                self.told_at = Some(now_ms);
                Some(true)
            }
        }
    }
}

/// Who is typing in the page's room, each until when.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Typists {
    typing: Vec<(String, f64)>,
}

impl Typists {
    /// `name` typed (for [`TYPING_TTL_SECS`] more), or stopped.
    pub fn heard(&mut self, name: &str, typing: bool, now_ms: f64) {
        self.typing.retain(|(known, _)| known != name);
        if typing {
            self.typing.push((name.to_owned(), now_ms + TTL_MS));
        }
    }

    /// Whether anyone is typing.
    pub fn is_empty(&self) -> bool {
        self.typing.is_empty()
    }

    /// `name`'s message arrived: they are done typing it.
    pub fn sent(&mut self, name: &str) {
        self.typing.retain(|(known, _)| known != name);
    }

    /// Forgets whoever was not heard from in time; returns whether anyone
    /// was forgotten.
    pub fn expire(&mut self, now_ms: f64) -> bool {
        let before = self.typing.len();
        self.typing.retain(|(_, until)| *until > now_ms);
        self.typing.len() != before
    }

    /// Who is typing, in the order they started, but `me`.
    pub fn names_except(&self, me: &str) -> Vec<String> {
        self.typing
            .iter()
            .filter(|(name, _)| name != me)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The soonest time someone's typing runs out, if anyone types.
    pub fn next_expiry(&self) -> Option<f64> {
        self.typing
            .iter()
            .map(|(_, until)| *until)
            .min_by(f64::total_cmp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_told_at_most_every_two_seconds_and_clearing_once() {
        let mut announcer = Announcer::default();
        assert_eq!(announcer.text_changed(false, 0.0), Some(true));
        assert_eq!(announcer.text_changed(false, 1_999.0), None);
        assert_eq!(announcer.text_changed(false, 2_000.0), Some(true));
        assert_eq!(announcer.text_changed(true, 2_500.0), Some(false));
        assert_eq!(announcer.text_changed(true, 2_600.0), None, "said once");
        // Cleared long after the last keystroke: the others forgot already.
        assert_eq!(announcer.text_changed(false, 10_000.0), Some(true));
        assert_eq!(announcer.text_changed(true, 15_000.0), None);
    }

    #[test]
    fn a_typist_shows_until_they_send_stop_or_fall_silent() {
        let mut typists = Typists::default();
        typists.heard("ada", true, 0.0);
        typists.heard("bob", true, 1_000.0);
        typists.heard("me", true, 1_000.0);
        assert_eq!(typists.names_except("me"), ["ada", "bob"]);
        assert_eq!(typists.next_expiry(), Some(5_000.0));
        typists.sent("bob");
        assert_eq!(typists.names_except("me"), ["ada"]);
        // Heard again: another five seconds.
        typists.heard("ada", true, 4_000.0);
        assert!(!typists.expire(5_000.0));
        assert!(typists.expire(9_000.0));
        assert!(typists.names_except("").is_empty());
        typists.heard("cy", true, 0.0);
        typists.heard("cy", false, 100.0);
        assert!(typists.names_except("").is_empty());
    }
}
