//! The HTTP edge: what a request crosses before it reaches the caller
//! door, and the routes that translate HTTP to and from it.
//!
//! - `serve`: the accept loop (open files, connection cap, request-head
//!   time and size); `deadline`: writes that stall, bodies that never end;
//!   `handoff`: an event stream's connection leaves hyper once its head is
//!   out;
//! - [`client`]: who the client is, for every per-address rule;
//!   [`site`]: cross-site and foreign-host refusal; `headers`: the
//!   security headers;
//! - [`rate`], [`slots`], [`budget`]: how fast a client may send and read,
//!   how many streams it holds, what its slow reads may hold;
//! - [`api`] and [`accounts`]: the JSON routes; `pages`: a room page's
//!   status and spelling; the server's script-free pages, plain forms
//!   through the same door methods as the JSON routes: `admin` (the
//!   moderators'), `members`, `invites`, `new_room`, `sign_in`, and
//!   `direct` (the target of the page's `Message` forms), over `shell`
//!   (the document, a refusal's page, an action's outcome); [`sse`]: the event-stream route; [`error`]:
//!   the API's error type and its JSON body; `extract`: the JSON and query
//!   extractors that answer with it.
//!
//! The edge calls the door ([`crate::door`]) and, for the stream route
//! alone, the log's feed; nothing below calls the edge but for
//! [`error::ApiError`], the door's answer.

pub mod accounts;
pub(crate) mod admin;
pub mod api;
pub mod budget;
pub mod client;
pub(crate) mod deadline;
pub(crate) mod direct;
pub mod error;
pub(crate) mod extract;
pub(crate) mod handoff;
pub(crate) mod headers;
pub(crate) mod invites;
pub(crate) mod members;
pub(crate) mod new_room;
pub(crate) mod pages;
pub mod rate;
pub(crate) mod serve;
pub(crate) mod shell;
pub(crate) mod sign_in;
pub mod site;
pub mod slots;
pub mod sse;
