//! The page's live link to the server. Browser only (`hydrate`).
//!
//! - **Stream.** After the history it rendered, the page follows
//!   `/api/events?after=<cursor>`, where the cursor is the newest id it
//!   received in order (from history or the stream; not from its own sends,
//!   whose replies can overtake older messages). On any error the page
//!   closes the stream itself and reopens it after a backoff with jitter,
//!   so it also recovers from the non-2xx answers after which a browser's
//!   `EventSource` gives up for good. A watchdog reopens a stream that has
//!   been silent (no message, no ping) for twice the keep-alive interval;
//!   `online` and a page becoming visible reconnect at once.
//! - **Outbox.** A sent message shows at once as pending; one flusher sends
//!   the queue in order, each under its client id, so a retry never stores
//!   twice. Sends that fail while offline or disconnected wait in the queue
//!   for the connection to return; other failures show `Retry`.

use leptos::{ev, prelude::*, task::spawn_local};
use shared::{ChatMessage, KEEP_ALIVE_SECS, MessageId};
use uuid::Uuid;

use crate::{
    api::{SendError, send_message},
    browser::{self, EventStream, StreamHandlers},
    state::{ChatState, Delivery, LinkStatus, Outbox, Outgoing, retry_delay_ms},
};

/// How often the watchdog looks at the stream.
const WATCHDOG_EVERY_MS: u64 = 5_000;

struct Link {
    stream: Option<EventStream>,
    /// Where a reconnect resumes: the newest id received in order.
    cursor: Option<MessageId>,
    /// Failed attempts since the stream was last open.
    attempt: u32,
    retry: Option<TimeoutHandle>,
    last_heard_ms: f64,
    flushing: bool,
}

/// A handle to the live link; `Copy`.
#[derive(Clone, Copy)]
pub(crate) struct Live {
    state: ChatState,
    link: StoredValue<Link, LocalStorage>,
}

/// Starts the link once `history` has loaded, and provides the [`Outbox`]
/// in context for the composer and the pending bubbles.
pub(crate) fn start(
    state: ChatState,
    history: OnceResource<Result<Vec<ChatMessage>, ServerFnError>>,
) {
    let live = Live {
        state,
        link: StoredValue::new_local(Link {
            stream: None,
            cursor: None,
            attempt: 0,
            retry: None,
            last_heard_ms: browser::now_ms(),
            flushing: false,
        }),
    };
    provide_context(Outbox {
        submit: Callback::new(move |(username, text)| live.submit(username, text)),
        retry: Callback::new(move |client_id| live.retry(client_id)),
    });

    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        let Some(loaded) = history.get() else {
            return false;
        };
        // An empty history still fixes the start: everything after id 0.
        let cursor = match loaded {
            Ok(page) => Some(page.last().map_or(0, |m| m.id)),
            Err(_) => None,
        };
        live.link.update_value(|link| link.cursor = cursor);
        live.connect();
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
    /// Opens a fresh stream after the cursor, replacing any open one.
    fn connect(self) {
        self.link.update_value(|link| {
            link.stream = None;
            if let Some(retry) = link.retry.take() {
                retry.clear();
            }
        });
        if !browser::is_online() {
            self.state.status.set(LinkStatus::Offline);
            return;
        }
        let after = self.link.with_value(|link| link.cursor);
        let opened = EventStream::open(
            after,
            StreamHandlers {
                message: move |message: ChatMessage| {
                    self.link.update_value(|link| {
                        link.cursor = link.cursor.max(Some(message.id));
                    });
                    self.state.confirm(message);
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
                    self.state.status.set(LinkStatus::Connected);
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
        self.state.status.set(if browser::is_online() {
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

    /// Reconnects without waiting for the backoff (back online, page shown).
    fn reconnect_now(self) {
        self.link.update_value(|link| link.attempt = 0);
        self.connect();
    }

    fn went_offline(self) {
        self.link.update_value(|link| {
            link.stream = None;
            if let Some(retry) = link.retry.take() {
                retry.clear();
            }
        });
        self.state.status.set(LinkStatus::Offline);
    }

    /// Reopens a stream that went silent: the connection may be dead
    /// without the browser noticing.
    fn check_alive(self) {
        if self.state.status.get_untracked() != LinkStatus::Connected {
            return;
        }
        let silent_ms = browser::now_ms() - self.link.with_value(|link| link.last_heard_ms);
        if silent_ms > 2.0 * (KEEP_ALIVE_SECS as f64) * 1000.0 {
            leptos::logging::warn!("event stream silent for {silent_ms} ms; reconnecting");
            self.state.status.set(LinkStatus::Reconnecting);
            self.connect();
        }
    }

    /// Queues a new message and starts sending.
    fn submit(self, username: String, text: String) {
        browser::save_username(username.trim());
        self.state.outbox.update(|out| {
            out.push(Outgoing {
                client_id: browser::random_uuid(),
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

    /// Sends every queued message, one at a time and in order.
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
                    Err(SendError::Transport(_))
                        if !browser::is_online()
                            || state.status.get_untracked() != LinkStatus::Connected =>
                    {
                        // Goes out when the connection returns (the stream's `open`).
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
