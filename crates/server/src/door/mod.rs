//! The caller door and its use cases: who calls, and what they may do.
//!
//! - [`caller`]: one `Caller` per request (session, client address), whose
//!   methods are the use cases of messages, rooms and presence, each
//!   checking its rules once; the JSON routes and the server functions
//!   both go through it;
//! - [`accounts`]: signing up, in and out, sessions, and when two names
//!   are one; [`rooms`]: which rooms exist and creating one within the
//!   caps; [`presence`]: who has a room open, who is typing;
//! - `counts`: counts per key within a window (sign-in attempts, accounts
//!   and rooms per address).
//!
//! The door calls the log ([`crate::log`]) to read and append; it never
//! calls the edge.

pub mod accounts;
pub mod blocks;
pub(crate) mod caller;
pub(crate) mod counts;
pub mod presence;
pub mod rooms;
