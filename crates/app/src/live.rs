//! The page's live link to the server. Browser only (`hydrate`).
//!
//! - **One stream per browser.** Tabs elect a leader with the Web Locks API
//!   (the lock is held until the tab closes, then passes to a waiting tab).
//!   Only the leader opens the event stream; it relays every message and
//!   its link status to the other tabs over a `BroadcastChannel`, so any
//!   number of tabs uses one of the browser's six connections per host. A
//!   follower catches up once over HTTP when it starts, for what came
//!   between its server-rendered history and its joining the channel.
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
//! - **Session.** A sign-in or sign-out in one tab is told to the others
//!   over the same channel (the cookie is the browser's, so they already
//!   share it): every tab shows who is signed in at once.

use std::time::Duration;

use leptos::{ev, prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};
use shared::{ChatMessage, KEEP_ALIVE_SECS, MAX_PAGE_SIZE, MessageId};
use uuid::Uuid;

use crate::{
    api::{CallError, get_messages_after, send_message},
    browser::{self, EventStream, StreamHandlers, TabChannel},
    state::{
        ChatState, Delivery, LinkStatus, Outbox, Outgoing, SessionChanged, TabRole, retry_delay_ms,
    },
};

/// How often the watchdog looks at the stream.
const WATCHDOG_EVERY_MS: u64 = 5_000;
/// The Web Lock whose holder is the leader tab.
const LEADER_LOCK: &str = "chat-stream-leader";
/// The `BroadcastChannel` between this site's tabs.
const TAB_CHANNEL: &str = "chat-stream";

/// What tabs tell each other.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TabSignal {
    /// The leader received a message.
    Message { message: ChatMessage },
    /// The leader's link status changed.
    Status { status: LinkStatus },
    /// A new tab asks the leader for its status.
    Hello,
    /// Someone signed in (`Some(name)`) or out, in any tab.
    Session { account: Option<String> },
}

struct Link {
    stream: Option<EventStream>,
    /// Where a reconnect resumes: the newest id received in order.
    cursor: Option<MessageId>,
    /// Whether the history has loaded, so the cursor is known.
    ready: bool,
    /// Failed attempts since the stream was last open.
    attempt: u32,
    retry: Option<TimeoutHandle>,
    last_heard_ms: f64,
    flushing: bool,
    tabs: Option<TabChannel>,
}

/// A handle to the live link; `Copy`.
#[derive(Clone, Copy)]
pub(crate) struct Live {
    state: ChatState,
    link: StoredValue<Link, LocalStorage>,
}

/// Joins the other tabs (or goes solo), starts the link once `history` has
/// loaded, and provides the [`Outbox`] in context for the composer and the
/// pending bubbles.
pub(crate) fn start(state: ChatState, history: OnceResource<Result<Vec<ChatMessage>, CallError>>) {
    let live = Live {
        state,
        link: StoredValue::new_local(Link {
            stream: None,
            cursor: None,
            ready: false,
            attempt: 0,
            retry: None,
            last_heard_ms: browser::now_ms(),
            flushing: false,
            tabs: None,
        }),
    };
    provide_context(Outbox {
        submit: Callback::new(move |(username, text)| live.submit(username, text)),
        retry: Callback::new(move |client_id| live.retry(client_id)),
    });
    provide_context(SessionChanged(Callback::new(move |account| {
        live.session_changed(account)
    })));

    // Effects run after hydration: the role changes what the page shows.
    Effect::new(move |started: Option<bool>| {
        if started.is_none() {
            live.join_tabs();
        }
        if started == Some(true) {
            return true;
        }
        let Some(loaded) = history.get() else {
            return false;
        };
        // An empty history still fixes the start: everything after id 0.
        let loaded_cursor = loaded.ok().map(|page| page.last().map_or(0, |m| m.id));
        live.link.update_value(|link| {
            link.cursor = link.cursor.max(loaded_cursor);
            link.ready = true;
        });
        match state.tab_role.get_untracked() {
            TabRole::Follower => {
                if let Some(after) = loaded_cursor {
                    live.catch_up(after);
                }
            }
            TabRole::Solo | TabRole::Leader => live.connect(),
        }
        true
    });

    let _ = window_event_listener(ev::online, move |_| live.reconnect_now());
    let _ = window_event_listener(ev::offline, move |_| live.went_offline());
    browser::on_document_event("visibilitychange", move || {
        if browser::is_visible() && live.state.status.get_untracked() != LinkStatus::Connected {
            live.reconnect_now();
        }
    });
    let watchdog = set_interval_with_handle(
        move || live.check_alive(),
        std::time::Duration::from_millis(WATCHDOG_EVERY_MS),
    );
    on_cleanup(move || {
        if let Ok(watchdog) = watchdog {
            watchdog.clear();
        }
    });
}

impl Live {
    /// Joins this browser's other tabs as a follower, waiting for the
    /// leader lock; stays solo where the APIs are missing.
    fn join_tabs(self) {
        let Some(tabs) = TabChannel::open(TAB_CHANNEL, move |json| self.on_tab_signal(&json))
        else {
            return;
        };
        self.link.update_value(|link| link.tabs = Some(tabs));
        self.state.tab_role.set(TabRole::Follower);
        if browser::hold_lock_while_open(LEADER_LOCK, move || self.become_leader()) {
            self.tell_tabs(&TabSignal::Hello);
        } else {
            self.link.update_value(|link| link.tabs = None);
            self.state.tab_role.set(TabRole::Solo);
        }
    }

    fn role(self) -> TabRole {
        self.state.tab_role.get_untracked()
    }

    fn holds_stream(self) -> bool {
        self.role() != TabRole::Follower
    }

    fn tell_tabs(self, signal: &TabSignal) {
        let Ok(json) = serde_json::to_string(signal) else {
            return;
        };
        self.link.with_value(|link| {
            if let Some(tabs) = &link.tabs {
                tabs.post(&json);
            }
        });
    }

    fn set_status(self, status: LinkStatus) {
        self.state.status.set(status);
        if self.role() == TabRole::Leader {
            self.tell_tabs(&TabSignal::Status { status });
        }
    }

    fn receive(self, message: ChatMessage) {
        self.link
            .update_value(|link| link.cursor = link.cursor.max(Some(message.id)));
        self.state.confirm(message);
    }

    fn on_tab_signal(self, json: &str) {
        let signal = match serde_json::from_str::<TabSignal>(json) {
            Ok(signal) => signal,
            Err(err) => {
                leptos::logging::warn!("ignoring a malformed tab signal: {err}");
                return;
            }
        };
        match (signal, self.role()) {
            (TabSignal::Message { message }, TabRole::Follower) => self.receive(message),
            (TabSignal::Status { status }, TabRole::Follower) => {
                self.state.status.set(status);
                if status == LinkStatus::Connected {
                    self.flush();
                }
            }
            (TabSignal::Hello, TabRole::Leader) => self.tell_tabs(&TabSignal::Status {
                status: self.state.status.get_untracked(),
            }),
            (TabSignal::Session { account }, _) => self.set_account(account),
            _ => {}
        }
    }

    /// This tab signed in or out: show it, and tell the other tabs.
    fn session_changed(self, account: Option<String>) {
        self.set_account(account.clone());
        self.tell_tabs(&TabSignal::Session { account });
    }

    fn set_account(self, account: Option<String>) {
        self.state.viewer.update(|viewer| viewer.account = account);
    }

    /// This tab now holds the lock: it opens the stream for every tab.
    fn become_leader(self) {
        self.state.tab_role.set(TabRole::Leader);
        if self.link.with_value(|link| link.ready) {
            self.connect();
        }
    }

    /// Reads what came after `after` over HTTP, page by page.
    fn catch_up(self, mut after: MessageId) {
        spawn_local(async move {
            loop {
                match get_messages_after(after, Some(MAX_PAGE_SIZE)).await {
                    Ok(page) => {
                        let full = page.len() == MAX_PAGE_SIZE as usize;
                        if let Some(last) = page.last() {
                            after = last.id;
                            self.link
                                .update_value(|link| link.cursor = link.cursor.max(Some(after)));
                        }
                        self.state.confirm_all(page);
                        if !full {
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

    /// Opens a fresh stream after the cursor, replacing any open one.
    fn connect(self) {
        if !self.holds_stream() {
            return;
        }
        self.link.update_value(|link| {
            link.stream = None;
            if let Some(retry) = link.retry.take() {
                retry.clear();
            }
        });
        if !browser::is_online() {
            self.set_status(LinkStatus::Offline);
            return;
        }
        let after = self.link.with_value(|link| link.cursor);
        let opened = EventStream::open(
            after,
            StreamHandlers {
                message: move |message: ChatMessage| {
                    if self.role() == TabRole::Leader {
                        self.tell_tabs(&TabSignal::Message {
                            message: message.clone(),
                        });
                    }
                    self.receive(message);
                },
                activity: move || {
                    self.link
                        .update_value(|link| link.last_heard_ms = browser::now_ms());
                },
                open: move || {
                    self.link.update_value(|link| {
                        link.attempt = 0;
                        link.last_heard_ms = browser::now_ms();
                    });
                    self.set_status(LinkStatus::Connected);
                    self.flush();
                },
                error: move || self.stream_failed(),
            },
        );
        match opened {
            Ok(stream) => self.link.update_value(|link| link.stream = Some(stream)),
            Err(err) => {
                leptos::logging::warn!("could not open the event stream: {err:?}");
                self.stream_failed();
            }
        }
    }

    /// The stream broke: stop the browser's own retries and schedule ours.
    fn stream_failed(self) {
        // Only closed here: this may run inside the stream's own callback,
        // which must not be dropped while it runs. `connect` drops it later.
        self.link.with_value(|link| {
            if let Some(stream) = &link.stream {
                stream.close();
            }
        });
        self.set_status(if browser::is_online() {
            LinkStatus::Reconnecting
        } else {
            LinkStatus::Offline
        });
        if self.link.with_value(|link| link.retry.is_some()) {
            return;
        }
        let attempt = self.link.with_value(|link| link.attempt);
        let delay = retry_delay_ms(attempt, browser::random());
        let retry = set_timeout_with_handle(
            move || {
                self.link.update_value(|link| link.retry = None);
                self.connect();
            },
            std::time::Duration::from_millis(delay as u64),
        )
        .ok();
        self.link.update_value(|link| {
            link.attempt = attempt.saturating_add(1);
            link.retry = retry;
        });
    }

    /// Back online, or the page became visible: reconnect (or, in a
    /// follower, send what waits) without waiting for the backoff.
    fn reconnect_now(self) {
        if !self.holds_stream() {
            self.flush();
            return;
        }
        self.link.update_value(|link| link.attempt = 0);
        if self.link.with_value(|link| link.ready) {
            self.connect();
        }
    }

    fn went_offline(self) {
        self.link.update_value(|link| {
            link.stream = None;
            if let Some(retry) = link.retry.take() {
                retry.clear();
            }
        });
        self.set_status(LinkStatus::Offline);
    }

    /// Reopens a stream that went silent: the connection may be dead
    /// without the browser noticing.
    fn check_alive(self) {
        if !self.holds_stream() || self.state.status.get_untracked() != LinkStatus::Connected {
            return;
        }
        let silent_ms = browser::now_ms() - self.link.with_value(|link| link.last_heard_ms);
        if silent_ms > 2.0 * (KEEP_ALIVE_SECS as f64) * 1000.0 {
            leptos::logging::warn!("event stream silent for {silent_ms} ms; reconnecting");
            self.set_status(LinkStatus::Reconnecting);
            self.connect();
        }
    }

    /// Queues a new message and starts sending.
    fn submit(self, username: String, text: String) {
        browser::save_username(username.trim());
        self.state.outbox.update(|out| {
            out.push(Outgoing {
                client_id: browser::new_client_id(),
                username,
                text,
                delivery: Delivery::Queued,
            })
        });
        self.flush();
    }

    /// Sends a failed message again, under its first client id.
    fn retry(self, client_id: Uuid) {
        self.state.set_delivery(client_id, Delivery::Queued);
        self.flush();
    }

    /// Sends every queued message, one at a time and in order; a send the
    /// server refuses as too fast waits and goes again.
    fn flush(self) {
        if self.link.with_value(|link| link.flushing) {
            return;
        }
        self.link.update_value(|link| link.flushing = true);
        let state = self.state;
        spawn_local(async move {
            while browser::is_online() {
                let next = state.outbox.with_untracked(|out| {
                    out.iter().find(|o| o.delivery == Delivery::Queued).cloned()
                });
                let Some(entry) = next else { break };
                state.set_delivery(entry.client_id, Delivery::Sending);
                match send_message(entry.username, entry.text, entry.client_id).await {
                    Ok(stored) => state.confirm(stored),
                    Err(CallError::RateLimited { retry_after_ms }) => {
                        // Nothing was stored: wait as long as the server
                        // asks, then the same entry goes first again, under
                        // the same client id.
                        state.set_delivery(entry.client_id, Delivery::Throttled);
                        sleep(Duration::from_millis(retry_after_ms)).await;
                        state.set_delivery(entry.client_id, Delivery::Queued);
                    }
                    Err(CallError::Transport(_))
                        if !browser::is_online()
                            || state.status.get_untracked() != LinkStatus::Connected =>
                    {
                        // Goes out when the connection returns.
                        state.set_delivery(entry.client_id, Delivery::Queued);
                        break;
                    }
                    Err(err) => {
                        state.set_delivery(entry.client_id, Delivery::Failed(err.to_string()))
                    }
                }
            }
            self.link.update_value(|link| link.flushing = false);
        });
    }
}

/// Completes after `duration` (a browser timer).
async fn sleep(duration: Duration) {
    let (done, wait) = futures::channel::oneshot::channel();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        duration,
    );
    let _ = wait.await;
}
