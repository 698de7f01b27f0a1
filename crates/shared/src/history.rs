//! Pages of a room's history: which page a reader asks for, and how many
//! messages it may hold. The page's server functions and the JSON API read
//! history the same way.

use serde::{Deserialize, Serialize};

use crate::{DEFAULT_PAGE_SIZE, Entry, MAX_PAGE_SIZE, MessageId};

/// Which page of history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The newest messages.
    Latest,
    /// The messages just older than this id.
    Before(MessageId),
    /// The messages just newer than this id.
    After(MessageId),
}

/// A page of one room's log after an id: how a tab that does not hold the
/// event stream itself catches up, changes included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    /// The room's entries (new messages and changes), oldest first, each
    /// with its message as it now is.
    pub entries: Vec<Entry>,
    /// The newest entry read, of any room: where the next page starts.
    pub through: MessageId,
    /// Whether the log may hold more after `through`.
    pub more: bool,
}

/// How many messages a page asked for with `limit` holds: the default
/// when none is given, never fewer than one nor more than the cap.
pub fn page_size(limit: Option<u32>) -> u32 {
    limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_the_default_within_one_and_the_cap() {
        assert_eq!(page_size(None), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(7)), 7);
        assert_eq!(page_size(Some(MAX_PAGE_SIZE + 1)), MAX_PAGE_SIZE);
    }
}
