//! The ordered log: every change to what a room holds, in one order of
//! ids, durable before it is acknowledged, and what carries it to every
//! open stream.
//!
//! - [`store`]: the log on SQLite ([`dbfile`]: its file, private, locked,
//!   watched) or PostgreSQL;
//! - [`chat`]: the single writer: store, then publish;
//! - [`fanout`]: the one way from the committed log to the window
//!   ([`recent`], the newest messages in memory) and the [`hub`]
//!   (broadcast); it follows a log shared by several servers;
//! - `feed`: one stream's position: replay, then live;
//! - [`visibility`]: who may see which room, which every stream follows.
//!
//! The log calls nothing above it.

pub mod chat;
pub mod dbfile;
pub mod fanout;
pub(crate) mod feed;
pub mod hub;
pub mod recent;
pub mod store;
pub mod visibility;
