//! The outbox, as the live link carries it out: what
//! [`outbox::Flusher`] decides,
//! sent with the `send_message` server function, one message at a time.

use std::time::Duration;

use leptos::{prelude::*, task::spawn_local};
use uuid::Uuid;

use super::Live;
use crate::{
    api::send_message,
    browser,
    error::CallError,
    outbox,
    state::{Change, Delivery, Draft, LinkStatus, Outgoing, Pending},
};

impl Live {
    /// Queues a new message and starts sending.
    pub(super) fn submit(self, draft: Draft) {
        let renamed = browser::load_username().as_deref() != Some(draft.username.trim());
        browser::save_username(draft.username.trim());
        if renamed {
            // Here under the new name at once, not at the next heartbeat.
            self.heartbeat(false);
        }
        self.state.outbox.update(|out| {
            out.push(Outgoing {
                client_id: browser::new_client_id(),
                what: Pending::Message(draft),
                delivery: Delivery::Queued,
            })
        });
        self.flush();
    }

    /// Queues a change to a stored message, after whatever waits already,
    /// and starts sending.
    pub(super) fn change(self, change: Change) {
        self.state.outbox.update(|out| {
            out.push(Outgoing {
                client_id: browser::new_client_id(),
                what: Pending::Change(change),
                delivery: Delivery::Queued,
            })
        });
        self.flush();
    }

    /// Gives up a failed change: it leaves the outbox.
    pub(super) fn discard(self, client_id: Uuid) {
        self.state.outbox.update(|out| {
            out.retain(|entry| {
                entry.client_id != client_id || !matches!(entry.delivery, Delivery::Failed(_))
            })
        });
    }

    /// Sends a failed message again, under its first client id.
    pub(super) fn retry(self, client_id: Uuid) {
        self.outbox_event(outbox::Event::Retry(client_id));
    }

    /// Sends what waits in the outbox, one message at a time, in order.
    pub(super) fn flush(self) {
        self.outbox_event(outbox::Event::Flush);
    }

    /// Feeds `event` to the outbox's flusher and carries out what it decides.
    pub(super) fn outbox_event(self, event: outbox::Event) {
        let link = outbox::Link {
            online: browser::is_online(),
            connected: self.state.status.get_untracked() == LinkStatus::Connected,
        };
        let Some(next) = self.state.outbox.try_update(|out| {
            self.flusher
                .try_update_value(|flusher| flusher.step(out, event, link))
                .flatten()
        }) else {
            return;
        };
        match next {
            Some(outbox::Next::Send(entry)) => spawn_local(async move {
                let client_id = entry.client_id;
                let sent = match entry.what {
                    Pending::Message(draft) => {
                        let room = self.state.room.get_untracked();
                        let reply_to = draft.reply.map(|quote| quote.id);
                        send_message(room, draft.username, draft.text, client_id, reply_to)
                            .await
                            .map(|stored| self.state.confirm(stored))
                    }
                    Pending::Change(change) => {
                        send_change(change, client_id).await.map(|changed| {
                            self.state.change(changed);
                            self.state
                                .outbox
                                .update(|out| out.retain(|o| o.client_id != client_id));
                        })
                    }
                };
                let reply = match sent {
                    Ok(()) => {
                        // The room's slow mode starts over with each message.
                        let slow = self.state.room_settings_untracked().slow_mode_secs;
                        let moderates = self.state.viewer.with_untracked(|v| v.moderates());
                        if slow > 0 && !moderates {
                            self.wait(f64::from(slow) * 1000.0);
                        }
                        outbox::Reply::Stored
                    }
                    Err(CallError::RateLimited { retry_after_ms }) => {
                        self.wait(retry_after_ms as f64);
                        outbox::Reply::TooFast { retry_after_ms }
                    }
                    Err(err @ CallError::Transport(_)) => {
                        outbox::Reply::Unreachable(err.to_string())
                    }
                    Err(err) => outbox::Reply::Refused(err.to_string()),
                };
                self.outbox_event(outbox::Event::Replied { client_id, reply });
            }),
            Some(outbox::Next::Wait { client_id, ms }) => set_timeout(
                move || self.outbox_event(outbox::Event::WaitOver(client_id)),
                Duration::from_millis(ms),
            ),
            None => {}
        }
    }
}

/// Sends `change` under its client id (a retry applies it once): the
/// message as it now is.
async fn send_change(change: Change, client_id: Uuid) -> Result<shared::ChatMessage, CallError> {
    use crate::api::changes;
    match change {
        Change::Edit { id, text } => changes::edit(id, text, client_id).await,
        Change::Delete { id, reason } => changes::delete(id, reason, client_id).await,
        Change::React {
            id,
            reaction,
            on,
            guest_name,
        } => {
            // A guest reacts as this browser, under the name it gave.
            let request = shared::React {
                client_id: Some(client_id),
                browser: guest_name.is_some().then(browser::browser_id),
                name: guest_name,
            };
            changes::react(id, &reaction, on, &request).await
        }
    }
}

impl Live {
    /// The reader waits `ms` before sending again: the composer counts it
    /// down, a tick a second.
    fn wait(self, ms: f64) {
        let now = browser::now_ms();
        self.state.clock.set(now);
        self.state
            .wait_until
            .update(|until| *until = until.max(now + ms));
        self.tick();
    }

    fn tick(self) {
        if self.state.clock.get_untracked() >= self.state.wait_until.get_untracked() {
            return;
        }
        set_timeout(
            move || {
                self.state.clock.set(browser::now_ms());
                self.tick();
            },
            Duration::from_secs(1),
        );
    }
}
