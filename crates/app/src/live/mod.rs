//! The page's live link to the server. Browser only (`hydrate`).
//!
//! What to do when is decided by [`crate::link::Link`], a plain state
//! machine; this module feeds it what the browser reports (stream events,
//! timers, other tabs, `online`/`offline`, visibility) and carries out its
//! actions with web APIs.
//!
//! - **One stream per browser.** Tabs elect a leader with the Web Locks API
//!   (the lock is held until the tab closes, then passes to a waiting tab).
//!   Only the leader opens the event stream; it relays every message and
//!   its link status to the other tabs over a `BroadcastChannel`, so any
//!   number of tabs uses one of the browser's six connections per host. A
//!   follower catches up once over HTTP when it starts, for what came
//!   between its server-rendered history and its joining the channel: the
//!   room's entries of the log, changes included.
//!   Where either API is missing, every tab holds its own stream.
//! - **Stream.** After the history it rendered, the stream holder follows
//!   `/api/events?after=<cursor>`, where the cursor is the newest id it
//!   received in order (from history, the stream, or the leader; not from
//!   its own sends, whose replies can overtake older messages). On any error
//!   it closes the stream itself and reopens it after a backoff with
//!   jitter, so it also recovers from the non-2xx answers after which a
//!   browser's `EventSource` gives up for good. A watchdog reopens a stream
//!   silent (no message, no ping) for twice the keep-alive interval;
//!   `online` and the page becoming visible reconnect at once.
//! - **Outbox.** A sent message shows at once as pending; one flusher sends
//!   the queue in order, each under its client id, so a retry never stores
//!   twice. Sends that fail while offline or disconnected wait in the queue
//!   for the connection to return; other failures show `Retry`.
//! - **Session.** A sign-out in one tab is told to the others over the
//!   same channel, and every page tells them, as it opens, who it was
//!   rendered for (a page back from the sign-in page is signed in); the
//!   cookie is the browser's, so they already share it: every tab shows
//!   who is signed in at once.
//! - **Rooms.** The stream carries every room. A tab shows its own room's
//!   messages and counts the others' in the sidebar's unread counts; a
//!   message of a room the page does not know yet has the room list read
//!   again. Reading a room is told to the other tabs and kept in this
//!   browser's storage (per account, or the guest's), and for an account
//!   by the server too (at most one call a second), so that it follows
//!   the account to its other browsers.
//! - **Changes.** An edit or a deletion comes on the stream as a `change`
//!   event whose id is its own place in the log: it moves the cursor like
//!   a message, is relayed to the other tabs, and replaces the message the
//!   page holds under that id (one it does not hold is left alone).
//! - **Presence and typing.** Each tab says it is open on its room every
//!   15 s and, as it closes, that it leaves (a beacon); while the reader
//!   types it says so at most every 2 s, and once more when the field is
//!   cleared. The stream's `presence` and `typing` events (relayed by the
//!   leader like messages) update who is here and who is typing.

mod room;
mod sends;

use std::time::Duration;

use leptos::{ev, prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};
use shared::{
    ChatMessage, Entry, MAX_PAGE_SIZE, MessageId, presence::HEARTBEAT_SECS, room::ReadPosition,
};
use uuid::Uuid;

use crate::{
    api::{get_entries_after, get_rooms, get_viewer},
    browser::{self, EventStream, Passing, StreamHandlers, TabChannel},
    link::{Action, Env, Input, Link},
    outbox::Flusher,
    state::{ChatState, LinkStatus, MarkRead, Outbox, TabRole},
    typing::Announcer,
    unread::Tallies,
};

/// How long a signed-in reader's read position waits before it is sent,
/// so that a burst of messages costs one call.
const MARK_READ_DELAY_MS: u64 = 1_000;
/// How often the watchdog looks at the stream.
const WATCHDOG_EVERY_MS: u64 = 5_000;
/// The Web Lock whose holder is the leader tab.
const LEADER_LOCK: &str = "chat-stream-leader";
/// The `BroadcastChannel` between this site's tabs.
const TAB_CHANNEL: &str = "chat-stream";

/// What tabs tell each other. Externally tagged (`{"message": {...}}`):
/// an internally tagged enum is read through serde's buffered `Content`,
/// a second deserializer for every type inside (12.5 KB of the WASM's
/// brotli); and with newtype and tuple variants, whose fields need no
/// reader of their own as a struct variant's do (1.4 KB more).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TabSignal {
    /// The leader received a message.
    Message(ChatMessage),
    /// The leader received a change to a message (entry `id` of the log).
    Change(MessageId, ChatMessage),
    /// The leader's link status changed.
    Status(LinkStatus),
    /// A new tab asks the leader for its status.
    Hello,
    /// Someone signed in (`Some(name)`) or out, in any tab.
    Session(Option<String>),
    /// A tab showed a room as far as a position.
    Read(String, ReadPosition),
    /// The leader heard a passing event: who is in a room or typing, a
    /// room created, the signed-in account banned.
    Passing(Passing),
}

/// The web resources the link's actions use.
#[derive(Default)]
struct Web {
    stream: Option<EventStream>,
    retry: Option<TimeoutHandle>,
    tabs: Option<TabChannel>,
    /// A signed-in reader's position waiting to be sent to the server.
    unsent_read: Option<ReadPosition>,
    /// The newest position this tab read while hidden, kept for when it is
    /// seen.
    unseen_read: Option<ReadPosition>,
    /// When the reader's typing is told.
    announcer: Announcer,
    /// Forgets typists who fell silent.
    typing_expiry: Option<TimeoutHandle>,
}

/// A handle to the live link; `Copy`.
#[derive(Clone, Copy)]
pub(crate) struct Live {
    state: ChatState,
    /// This browser (the same in all its tabs) and this page.
    browser: Uuid,
    tab: Uuid,
    link: StoredValue<Link, LocalStorage>,
    flusher: StoredValue<Flusher, LocalStorage>,
    web: StoredValue<Web, LocalStorage>,
}

/// What the browser says now.
fn env() -> Env {
    Env {
        now_ms: browser::now_ms(),
        online: browser::is_online(),
        random: browser::random(),
    }
}

/// Joins the other tabs (or goes solo), starts the link after the
/// history the page started with (`newest`: its newest id, `None` if it
/// could not be read), and provides the [`Outbox`] in context for the composer and the
/// pending bubbles.
pub(crate) fn start(state: ChatState, newest: Option<MessageId>) {
    let live = Live {
        state,
        browser: browser::browser_id(),
        tab: browser::new_client_id(),
        link: StoredValue::new_local(Link::new(browser::now_ms())),
        flusher: StoredValue::new_local(Flusher::default()),
        web: StoredValue::new_local(Web::default()),
    };
    provide_context(Outbox {
        submit: Callback::new(move |draft| live.submit(draft)),
        change: Callback::new(move |change| live.change(change)),
        retry: Callback::new(move |client_id| live.retry(client_id)),
        discard: Callback::new(move |client_id| live.discard(client_id)),
    });
    provide_context(MarkRead(Callback::new(move |position| {
        live.mark_read(position)
    })));

    // Once the room list is here, what this browser read counts too: all
    // a guest has, and for an account, what it read here that the server
    // may not have been told yet (a page left within a second of reading).
    Effect::new(move |merged: Option<bool>| {
        if merged == Some(true) || state.tallies.with(|tallies| tallies.rooms().is_empty()) {
            return merged.unwrap_or(false);
        }
        let account = state.viewer.with_untracked(|viewer| viewer.account.clone());
        live.know_read_positions(account.as_deref());
        true
    });

    // Effects run after hydration: the role changes what the page shows.
    // Once: what they read is not tracked.
    Effect::new(move |_| {
        untrack(|| {
            live.join_tabs();
            live.input(Input::HistoryLoaded(newest));
        })
    });

    let _ = window_event_listener(ev::online, move |_| live.input(Input::Online));
    let _ = window_event_listener(ev::offline, move |_| live.input(Input::Offline));
    browser::on_document_event("visibilitychange", move || {
        if browser::is_visible() {
            live.input(Input::Visible);
            if let Some(position) = live
                .web
                .try_update_value(|web| web.unseen_read.take())
                .flatten()
            {
                live.mark_read(position);
            }
        }
    });
    // Here: now, every 15 s, and gone as the page closes.
    live.heartbeat(false);
    let heartbeat = set_interval_with_handle(
        move || live.heartbeat(false),
        Duration::from_secs(HEARTBEAT_SECS),
    );
    browser::on_page_hide(move || live.heartbeat(true));
    // A sign-in or sign-out changes who is here: say so at once.
    Effect::new(move |previous: Option<Option<String>>| {
        let account = state.viewer.with(|viewer| viewer.account.clone());
        if previous.is_some_and(|previous| previous != account) {
            live.heartbeat(false);
        }
        account
    });
    // Typing: told as the composer's text changes.
    Effect::new(move |_| {
        let empty = state.text.with(|text| text.trim().is_empty());
        live.text_changed(empty);
    });

    let watchdog = set_interval_with_handle(
        move || live.input(Input::Tick),
        Duration::from_millis(WATCHDOG_EVERY_MS),
    );
    on_cleanup(move || {
        if let Ok(watchdog) = watchdog {
            watchdog.clear();
        }
        if let Ok(heartbeat) = heartbeat {
            heartbeat.clear();
        }
    });
}

impl Live {
    /// Feeds `input` to the link and carries out what it decides.
    fn input(self, input: Input) {
        self.input_about(input, None);
    }

    /// Like [`Self::input`], for an input about `entry` (which the link
    /// may decide to relay to the other tabs).
    fn input_about(self, input: Input, entry: Option<&Entry>) {
        let Some((actions, role)) = self.link.try_update_value(|link| {
            let actions = link.step(input, env());
            (actions, link.role())
        }) else {
            return;
        };
        if self.state.tab_role.get_untracked() != role {
            self.state.tab_role.set(role);
        }
        for action in actions {
            self.perform(action, entry);
        }
    }

    fn perform(self, action: Action, entry: Option<&Entry>) {
        match action {
            Action::OpenStream { after } => self.open_stream(after),
            // Only closed: this may run inside the stream's own callback,
            // which must not be dropped while it runs.
            Action::CloseStream => self.web.with_value(|web| {
                if let Some(stream) = &web.stream {
                    stream.close();
                }
            }),
            Action::DropStream => self.web.update_value(|web| web.stream = None),
            Action::ScheduleRetry { delay_ms } => {
                let retry = set_timeout_with_handle(
                    move || {
                        self.web.update_value(|web| web.retry = None);
                        self.input(Input::RetryDue);
                    },
                    Duration::from_millis(delay_ms),
                )
                .ok();
                self.web.update_value(|web| web.retry = retry);
            }
            Action::CancelRetry => self.web.update_value(|web| {
                if let Some(retry) = web.retry.take() {
                    retry.clear();
                }
            }),
            Action::ShowStatus(status) => self.state.status.set(status),
            Action::TellStatus(status) => self.tell_tabs(&TabSignal::Status(status)),
            Action::RelayMessage => match entry {
                Some(entry) if entry.is_change() => {
                    self.tell_tabs(&TabSignal::Change(entry.id, entry.message.clone()))
                }
                Some(entry) => self.tell_tabs(&TabSignal::Message(entry.message.clone())),
                None => {}
            },
            Action::SayHello => self.tell_tabs(&TabSignal::Hello),
            Action::CatchUp { after } => self.catch_up(after),
            Action::Flush => self.flush(),
        }
    }

    /// Joins this browser's other tabs as a follower, waiting for the
    /// leader lock; stays solo where the APIs are missing.
    fn join_tabs(self) {
        let Some(tabs) = TabChannel::open(TAB_CHANNEL, move |json| self.on_tab_signal(&json))
        else {
            return;
        };
        self.web.update_value(|web| web.tabs = Some(tabs));
        // Who this page was rendered for is who is signed in now (it may
        // come back from the sign-in page): the other tabs follow.
        let account = self
            .state
            .viewer
            .with_untracked(|viewer| viewer.account.clone());
        self.tell_tabs(&TabSignal::Session(account));
        // The lock is granted later, never inside this call.
        if browser::hold_lock_while_open(LEADER_LOCK, move || self.input(Input::BecameLeader)) {
            self.input(Input::JoinedTabs);
        } else {
            self.web.update_value(|web| web.tabs = None);
        }
    }

    fn tell_tabs(self, signal: &TabSignal) {
        let Ok(json) = serde_json::to_string(signal) else {
            return;
        };
        self.web.with_value(|web| {
            if let Some(tabs) = &web.tabs {
                tabs.post(&json);
            }
        });
    }

    fn on_tab_signal(self, json: &str) {
        let signal = match crate::json::from_str::<TabSignal>(json) {
            Ok(signal) => signal,
            Err(err) => {
                leptos::logging::warn!("ignoring a malformed tab signal: {err}");
                return;
            }
        };
        match signal {
            TabSignal::Message(message) => {
                if self.state.tab_role.get_untracked() == TabRole::Follower {
                    self.input(Input::Received(message.id));
                    self.receive(message);
                }
            }
            TabSignal::Change(id, message) => {
                if self.state.tab_role.get_untracked() == TabRole::Follower {
                    self.input(Input::Received(id));
                    self.state.change(message);
                }
            }
            TabSignal::Status(status) => self.input(Input::LeaderStatus(status)),
            TabSignal::Hello => self.input(Input::Hello),
            // Every tab tells who it was opened for: only news counts.
            TabSignal::Session(account) => {
                let known = self
                    .state
                    .viewer
                    .with_untracked(|viewer| viewer.account == account);
                if !known {
                    self.set_account(account);
                }
            }
            TabSignal::Read(room, position) => self
                .state
                .tallies
                .update(|tallies| tallies.read(&room, position)),
            TabSignal::Passing(event) => self.passing(event),
        }
    }

    /// Adds what `account` (or the guest) read in this browser to the
    /// room list's positions; a reader new here starts with every room
    /// read as far as it goes now, and keeps that.
    fn know_read_positions(self, account: Option<&str>) {
        let stored = browser::load_read_positions(account);
        let started = self
            .state
            .tallies
            .try_update(|tallies| tallies.know_positions_or_start(&stored))
            .flatten();
        if let Some(started) = started {
            browser::save_read_positions(account, &started);
        }
    }

    fn set_account(self, account: Option<String>) {
        self.state
            .viewer
            .update(|viewer| viewer.account = account.clone());
        // The stream carries what is the new viewer's (its ban, say).
        self.input(Input::ViewerChanged);
        spawn_local(async move {
            // What the new viewer may do (its role, its ban) is the server's word.
            match get_viewer().await {
                // Set only if it differs: what reads it is not redrawn for nothing.
                Ok(viewer) if self.state.viewer.with_untracked(|known| *known != viewer) => {
                    self.state.viewer.set(viewer);
                }
                Ok(_) => {}
                Err(err) => leptos::logging::warn!("could not read who is signed in: {err}"),
            }
        });
        // The unread counts are the new reader's.
        spawn_local(async move {
            match get_rooms().await {
                Ok(directory) => {
                    self.state.staff.set(directory.staff);
                    let tallies = Tallies::new(directory.rooms, directory.read.as_ref());
                    self.state.tallies.set(tallies);
                    self.know_read_positions(account.as_deref());
                }
                Err(err) => leptos::logging::warn!("could not read the rooms: {err}"),
            }
        });
    }

    /// Reads what came after `after` over HTTP, page by page: this room's
    /// new messages and changes, in the log's order.
    fn catch_up(self, mut after: MessageId) {
        spawn_local(async move {
            loop {
                let room = self.state.room.get_untracked();
                match get_entries_after(room, after, Some(MAX_PAGE_SIZE)).await {
                    Ok(page) => {
                        if page.through > after {
                            after = page.through;
                            self.input(Input::Received(after));
                        }
                        let (changes, sent): (Vec<Entry>, Vec<Entry>) =
                            page.entries.into_iter().partition(Entry::is_change);
                        self.state
                            .confirm_all(sent.into_iter().map(|entry| entry.message).collect());
                        for change in changes {
                            self.state.change(change.message);
                        }
                        if !page.more {
                            break;
                        }
                    }
                    Err(err) => {
                        leptos::logging::warn!("could not catch up: {err}");
                        break;
                    }
                }
            }
        });
    }

    /// Opens a fresh stream after `after`, replacing any open one.
    fn open_stream(self, after: Option<MessageId>) {
        self.web.update_value(|web| web.stream = None);
        let opened = EventStream::open(
            after,
            StreamHandlers {
                message: move |entry: Entry| {
                    self.input_about(Input::StreamMessage(entry.id), Some(&entry));
                    if entry.is_change() {
                        self.state.change(entry.message);
                    } else {
                        self.receive(entry.message);
                    }
                },
                passing: move |event| self.passing(event),
                activity: move || self.input(Input::Ping),
                open: move || self.input(Input::StreamOpened),
                error: move || self.input(Input::StreamFailed),
            },
        );
        match opened {
            Ok(stream) => self.web.update_value(|web| web.stream = Some(stream)),
            Err(err) => {
                leptos::logging::warn!("could not open the event stream: {err:?}");
                self.input(Input::StreamFailed);
            }
        }
    }
}
