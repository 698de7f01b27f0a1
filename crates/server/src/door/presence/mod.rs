//! Who is in each room now, and who is typing: passing events on the hub,
//! never stored as messages and never replayed.
//!
//! A page says it is open on its room every [`HEARTBEAT_SECS`] and, as it
//! closes, that it leaves; a page not heard from for [`PRESENCE_TTL_SECS`]
//! has left (its connection vanished). A person is an account, or a
//! guest's browser, so one with several tabs is there once. Whenever the
//! people of a room change, every stream gets a `presence` event for that
//! room. Someone typing says so at most every [`TYPING_EVERY_SECS`] per
//! room (more is dropped); every stream gets a `typing` event.
//!
//! A room just created is a passing event too (`room`), so that every page
//! lists it at once.
//!
//! With several servers each tells the others what its pages said (and
//! which room was created) over
//! PostgreSQL's `NOTIFY` on [`CHANNEL`], and each keeps the whole picture.
//! Losing one of these is harmless: the next heartbeat says it again, and
//! what is not said again expires.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use shared::{
    presence::{PRESENCE_EVENT, PresenceEvent, TYPING_EVENT, TypingEvent},
    room::{ROOM_EVENT, Room},
};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::state::State;
use crate::{
    edge::client::client_key,
    log::hub::{Hub, Published},
    log::store::Store,
};

mod state;

/// The `NOTIFY` channel servers tell each other on.
pub const CHANNEL: &str = "chat_presence";
/// The most open pages known at once (from every server).
pub const MAX_TABS: usize = 50_000;
/// The most open pages one client address may have on this server (an
/// office behind one address has a few hundred): a few addresses cannot
/// fill [`MAX_TABS`] for everyone.
pub const MAX_TABS_PER_CLIENT: usize = 500;
/// The most open pages one person (an account, or a guest's browser) may
/// have: more than anyone opens.
pub const MAX_TABS_PER_PERSON: usize = 100;
/// How often expired pages and typing are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// How many changes may wait to be told to the other servers.
const RELAY_QUEUE: usize = 1024;

/// Who is who: an account, or a guest's browser.
pub type Person = String;

/// A change, as one server tells the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Change {
    Here {
        room: String,
        tab: Uuid,
        person: Person,
        name: Option<String>,
    },
    Gone {
        tab: Uuid,
    },
    Typing {
        room: String,
        person: Person,
        name: String,
        typing: bool,
    },
    Room {
        room: Room,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    server: Uuid,
    change: Change,
}

/// Why a page's heartbeat was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// The table of every server's pages is full.
    #[error("too many open pages")]
    Everyone,
    /// The client address, or the person, has as many pages as it may.
    #[error("too many open pages of yours")]
    Yours,
}

/// The presence of every room; cheap to clone.
#[derive(Clone, Debug)]
pub struct Presence {
    state: Arc<Mutex<State>>,
    hub: Hub,
    /// This server, so that it skips what it told the others itself.
    server: Uuid,
    /// Changes to tell the other servers (none with a single server).
    relay: Option<mpsc::Sender<Change>>,
}

impl Presence {
    /// Presence on `hub`, swept until `stop`; with several servers on
    /// `store`, told to and from the others.
    pub fn start(store: &Store, hub: Hub, stop: CancellationToken) -> Self {
        let (relay, changes) = if store.single_writer() {
            (None, None)
        } else {
            let (tell, changes) = mpsc::channel(RELAY_QUEUE);
            (Some(tell), Some(changes))
        };
        let presence = Self {
            state: Arc::default(),
            hub,
            server: Uuid::new_v4(),
            relay,
        };
        tokio::spawn(presence.clone().sweep(stop.clone()));
        if let Some(changes) = changes {
            tokio::spawn(tell_others(store.clone(), presence.server, changes));
            tokio::spawn(presence.clone().hear_others(store.clone(), stop));
        }
        presence
    }

    /// `tab` of `person` (shown as `name`, or as a guest with none) is open
    /// on `room`, from `client`.
    pub fn here(
        &self,
        room: &str,
        tab: Uuid,
        person: &str,
        name: Option<String>,
        client: IpAddr,
    ) -> Result<(), Full> {
        let from = Some(client_key(client));
        let changed = self
            .lock()
            .here(room, tab, person, name.clone(), from, Instant::now())?;
        self.announce(&changed);
        self.tell(Change::Here {
            room: room.to_owned(),
            tab,
            person: person.to_owned(),
            name,
        });
        Ok(())
    }

    /// `tab` closed.
    pub fn gone(&self, tab: Uuid) {
        let changed = self.lock().gone(tab);
        self.announce(&changed);
        self.tell(Change::Gone { tab });
    }

    /// `person`, called `name`, is typing in `room` (or stopped). Returns
    /// whether it went out (see [`TYPING_EVERY_SECS`]).
    pub fn typing(&self, room: &str, person: &str, name: &str, typing: bool) -> bool {
        if !self.lock().typing(room, person, typing, Instant::now()) {
            return false;
        }
        self.announce_typing(room, name, typing);
        self.tell(Change::Typing {
            room: room.to_owned(),
            person: person.to_owned(),
            name: name.to_owned(),
            typing,
        });
        true
    }

    /// `room` was just created: every stream (on every server) hears of it.
    pub fn room_created(&self, room: &Room) {
        self.announce_room(room);
        self.tell(Change::Room { room: room.clone() });
    }

    fn announce_room(&self, room: &Room) {
        self.hub
            .publish(Arc::new(Published::passing(ROOM_EVENT, room)));
    }

    /// Who is in `room` now.
    pub fn people(&self, room: &str) -> PresenceEvent {
        self.lock().people(room)
    }

    fn announce(&self, rooms: &[String]) {
        for room in rooms {
            let event = self.people(room);
            self.hub
                .publish(Arc::new(Published::passing(PRESENCE_EVENT, &event)));
        }
    }

    fn announce_typing(&self, room: &str, name: &str, typing: bool) {
        let event = TypingEvent {
            room: room.to_owned(),
            name: name.to_owned(),
            typing,
        };
        self.hub
            .publish(Arc::new(Published::passing(TYPING_EVENT, &event)));
    }

    fn tell(&self, change: Change) {
        if let Some(relay) = &self.relay {
            // Full: the others hear the next heartbeat instead.
            let _ = relay.try_send(change);
        }
    }

    /// What another server said.
    fn apply(&self, change: Change) {
        let now = Instant::now();
        match change {
            Change::Here {
                room,
                tab,
                person,
                name,
            } => {
                // Bound first: the lock must be let go before announcing.
                // Its address was counted by the server it reached.
                let here = self.lock().here(&room, tab, &person, name, None, now);
                if let Ok(changed) = here {
                    self.announce(&changed);
                }
            }
            Change::Gone { tab } => {
                let changed = self.lock().gone(tab);
                self.announce(&changed);
            }
            Change::Typing {
                room,
                person,
                name,
                typing,
            } => {
                // The other server applied the limit; keep the picture.
                self.lock().typed_elsewhere(&room, &person, typing, now);
                self.announce_typing(&room, &name, typing);
            }
            Change::Room { room } => self.announce_room(&room),
        }
    }

    async fn sweep(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let changed = self.lock().sweep(Instant::now());
            self.announce(&changed);
        }
    }

    /// Applies what the other servers say until `stop`.
    async fn hear_others(self, store: Store, stop: CancellationToken) {
        let mut retry = Duration::from_millis(100);
        while !stop.is_cancelled() {
            match store.listen_to(CHANNEL).await {
                Ok(Some(mut listener)) => {
                    retry = Duration::from_millis(100);
                    loop {
                        let heard = tokio::select! {
                            () = stop.cancelled() => return,
                            heard = listener.next_payload() => heard,
                        };
                        match heard {
                            Ok(Some(payload)) => match serde_json::from_str::<Relayed>(&payload) {
                                Ok(relayed) if relayed.server != self.server => {
                                    self.apply(relayed.change);
                                }
                                Ok(_) => {}
                                Err(err) => tracing::warn!(error = %err, "unreadable presence"),
                            },
                            // Lost meanwhile: the next heartbeats say it again.
                            Ok(None) => {}
                            Err(err) => {
                                tracing::warn!(error = %err, "presence listener lost");
                                break;
                            }
                        }
                    }
                }
                Ok(None) => return,
                Err(err) => tracing::warn!(error = %err, "cannot listen for presence"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(Duration::from_secs(5));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Each change is whole before the lock is let go: a poisoned one is usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Tells the other servers each change, in order, one at a time.
async fn tell_others(store: Store, server: Uuid, mut changes: mpsc::Receiver<Change>) {
    while let Some(change) = changes.recv().await {
        let payload = match serde_json::to_string(&Relayed { server, change }) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "presence change does not serialize");
                continue;
            }
        };
        if let Err(err) = store.notify(CHANNEL, &payload).await {
            tracing::warn!(error = %err, "could not tell the other servers");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn what_another_server_says_is_announced_here() {
        let hub = Hub::default();
        let presence = Presence {
            state: Arc::default(),
            hub: hub.clone(),
            server: Uuid::new_v4(),
            relay: None,
        };
        let mut live = hub.subscribe();
        presence.apply(Change::Here {
            room: "general".into(),
            tab: tab(1),
            person: "account:ada".into(),
            name: Some("ada".into()),
        });
        presence.apply(Change::Typing {
            room: "general".into(),
            person: "account:ada".into(),
            name: "ada".into(),
            typing: true,
        });
        presence.apply(Change::Gone { tab: tab(1) });
        presence.apply(Change::Room {
            room: Room {
                name: "random".into(),
                count: shared::MessageCount { as_of: 7, count: 0 },
            },
        });
        let frames: Vec<String> = std::iter::from_fn(|| live.try_recv().ok())
            .map(|published| String::from_utf8_lossy(&published.frame).into_owned())
            .collect();
        assert_eq!(
            frames,
            [
                "event: presence\ndata: {\"room\":\"general\",\"people\":[\"ada\"],\"guests\":0}\n\n",
                "event: typing\ndata: {\"room\":\"general\",\"name\":\"ada\",\"typing\":true}\n\n",
                "event: presence\ndata: {\"room\":\"general\",\"people\":[],\"guests\":0}\n\n",
                "event: room\ndata: {\"name\":\"random\",\"count\":{\"as_of\":7,\"count\":0}}\n\n",
            ]
        );
    }
}
