//! Types and rules shared by the browser and the server.
//!
//! This crate does no I/O and builds for both `wasm32-unknown-unknown` and the
//! server, so that one definition of a message and one set of validation
//! rules hold on both sides of the wire:
//!
//! - [`message`]: [`ChatMessage`] (what is stored and streamed) and
//!   [`SendMessage`] (what a client asks to send);
//! - [`validate`]: the rules a message must pass before it is stored;
//! - [`invisible`]: which characters show nothing, and so may not hide in a name;
//! - `markdown` (server only): a message's text as the page shows it, safe
//!   HTML, sent with every message;
//! - [`timeline`]: how a client merges messages from several sources into one
//!   ordered list without duplicates;
//! - [`error`]: the JSON error body every API error uses;
//! - [`history`]: which page of a room's history, and how long;
//! - [`account`]: what the accounts API takes and answers;
//! - `names` (server only): when two names are one, and which letters a
//!   new name may not use;
//! - [`room`]: the rules of rooms' names and where each room lives;
//! - [`presence`]: who is in a room and who is typing;
//! - [`timestamp`]: how times are written and read on the wire.

pub mod account;
pub mod error;
pub mod history;
pub mod invisible;
#[cfg(not(target_arch = "wasm32"))]
pub mod markdown;
pub mod message;
pub mod moderation;
#[cfg(not(target_arch = "wasm32"))]
pub mod names;
pub mod presence;
pub mod room;
pub mod timeline;
pub mod timestamp;
pub mod validate;

pub use error::ErrorBody;
pub use message::{
    ChatMessage, DeleteMessage, EditMessage, Entry, MessageCount, MessageId, React, Reaction,
    SendMessage,
};
pub use room::GENERAL;
pub use validate::{
    Field, NewMessage, Rule, ValidationError, check_password, parse_reaction, parse_reason,
    parse_text, parse_username,
};

/// How many messages a history request returns when it names no limit.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The most messages one history request may return.
pub const MAX_PAGE_SIZE: u32 = 500;
/// How often the server sends a keep-alive comment on an idle event stream.
pub const KEEP_ALIVE_SECS: u64 = 15;
