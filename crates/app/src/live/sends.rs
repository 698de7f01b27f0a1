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
    state::{Delivery, Draft, LinkStatus, Outgoing},
};

impl Live {
    /// Queues a new message and starts sending.
    pub(super) fn submit(self, draft: Draft) {
        let Draft {
            username,
            text,
            reply,
        } = draft;
        let renamed = browser::load_username().as_deref() != Some(username.trim());
        browser::save_username(username.trim());
        if renamed {
            // Here under the new name at once, not at the next heartbeat.
            self.heartbeat(false);
        }
        self.state.outbox.update(|out| {
            out.push(Outgoing {
                client_id: browser::new_client_id(),
                username,
                text,
                reply,
                delivery: Delivery::Queued,
            })
        });
        self.flush();
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
                let room = self.state.room.get_untracked();
                let reply_to = entry.reply.map(|quote| quote.id);
                let sent = send_message(room, entry.username, entry.text, client_id, reply_to);
                let reply = match sent.await {
                    Ok(stored) => {
                        self.state.confirm(stored);
                        outbox::Reply::Stored
                    }
                    Err(CallError::RateLimited { retry_after_ms }) => {
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
