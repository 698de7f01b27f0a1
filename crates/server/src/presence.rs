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
//! With several servers each tells the others what its pages said over
//! PostgreSQL's `NOTIFY` on [`CHANNEL`], and each keeps the whole picture.
//! Losing one of these is harmless: the next heartbeat says it again, and
//! what is not said again expires.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use shared::presence::{
    PRESENCE_EVENT, PRESENCE_TTL_SECS, PresenceEvent, TYPING_EVENT, TYPING_EVERY_SECS,
    TYPING_TTL_SECS, TypingEvent,
};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    hub::{Hub, Published},
    store::Store,
};

/// The `NOTIFY` channel servers tell each other on.
pub const CHANNEL: &str = "chat_presence";
/// The most open pages known at once (from every server).
pub const MAX_TABS: usize = 50_000;
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
}

#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    server: Uuid,
    change: Change,
}

/// Why a page's heartbeat was refused.
#[derive(Debug, thiserror::Error)]
#[error("too many open pages")]
pub struct Full;

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

#[derive(Debug, Default)]
struct State {
    tabs: HashMap<Uuid, Tab>,
    /// Room → person → their name and how many of their pages are there.
    rooms: HashMap<String, BTreeMap<Person, Here>>,
    /// (room, person) → when their typing was last accepted.
    typing: HashMap<(String, Person), Instant>,
}

#[derive(Debug)]
struct Tab {
    room: String,
    person: Person,
    expires: Instant,
}

#[derive(Debug)]
struct Here {
    name: Option<String>,
    tabs: usize,
}

impl State {
    /// Records that `tab` is open on `room`; returns the rooms whose
    /// people changed.
    fn here(
        &mut self,
        room: &str,
        tab: Uuid,
        person: &str,
        name: Option<String>,
        now: Instant,
    ) -> Result<Vec<String>, Full> {
        let expires = now + Duration::from_secs(PRESENCE_TTL_SECS);
        if let Some(known) = self.tabs.get_mut(&tab)
            && known.room == room
            && known.person == person
        {
            known.expires = expires;
            let here = self
                .rooms
                .get_mut(room)
                .and_then(|people| people.get_mut(person));
            if let Some(here) = here
                && here.name != name
            {
                here.name = name;
                return Ok(vec![room.to_owned()]);
            }
            return Ok(Vec::new());
        }
        let mut changed = self.gone(tab);
        if self.tabs.len() >= MAX_TABS {
            return Err(Full);
        }
        self.tabs.insert(
            tab,
            Tab {
                room: room.to_owned(),
                person: person.to_owned(),
                expires,
            },
        );
        let people = self.rooms.entry(room.to_owned()).or_default();
        let here = people.entry(person.to_owned()).or_insert(Here {
            name: None,
            tabs: 0,
        });
        here.tabs += 1;
        if here.tabs == 1 || here.name != name {
            here.name = name;
            if !changed.iter().any(|r| r == room) {
                changed.push(room.to_owned());
            }
        }
        Ok(changed)
    }

    /// Forgets `tab`; returns the room whose people changed, if any.
    fn gone(&mut self, tab: Uuid) -> Vec<String> {
        let Some(Tab { room, person, .. }) = self.tabs.remove(&tab) else {
            return Vec::new();
        };
        let Some(people) = self.rooms.get_mut(&room) else {
            return Vec::new();
        };
        let Some(here) = people.get_mut(&person) else {
            return Vec::new();
        };
        here.tabs -= 1;
        if here.tabs > 0 {
            return Vec::new();
        }
        people.remove(&person);
        if people.is_empty() {
            self.rooms.remove(&room);
        }
        vec![room]
    }

    /// Forgets pages and typing not heard from in time; returns the rooms
    /// whose people changed.
    fn sweep(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<Uuid> = self
            .tabs
            .iter()
            .filter(|(_, tab)| tab.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut changed = Vec::new();
        for tab in expired {
            for room in self.gone(tab) {
                if !changed.contains(&room) {
                    changed.push(room);
                }
            }
        }
        let ttl = Duration::from_secs(TYPING_TTL_SECS);
        self.typing.retain(|_, at| now.duration_since(*at) < ttl);
        changed
    }

    /// Whether a typing change of `person` in `room` goes out: a start at
    /// most every [`TYPING_EVERY_SECS`]; a stop only after a start.
    fn typing(&mut self, room: &str, person: &str, typing: bool, now: Instant) -> bool {
        let key = (room.to_owned(), person.to_owned());
        if !typing {
            return self.typing.remove(&key).is_some();
        }
        let every = Duration::from_secs(TYPING_EVERY_SECS);
        match self.typing.get(&key) {
            Some(at) if now.duration_since(*at) < every => false,
            _ => {
                self.typing.insert(key, now);
                true
            }
        }
    }

    fn people(&self, room: &str) -> PresenceEvent {
        let mut event = PresenceEvent {
            room: room.to_owned(),
            ..PresenceEvent::default()
        };
        for here in self.rooms.get(room).into_iter().flat_map(BTreeMap::values) {
            match &here.name {
                Some(name) => event.people.push(name.clone()),
                None => event.guests += 1,
            }
        }
        event.people.sort();
        event
    }
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
    /// on `room`.
    pub fn here(
        &self,
        room: &str,
        tab: Uuid,
        person: &str,
        name: Option<String>,
    ) -> Result<(), Full> {
        let changed = self
            .lock()
            .here(room, tab, person, name.clone(), Instant::now())?;
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
                let here = self.lock().here(&room, tab, &person, name, now);
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
                let mut state = self.lock();
                let key = (room.clone(), person);
                if typing {
                    state.typing.insert(key, now);
                } else {
                    state.typing.remove(&key);
                }
                drop(state);
                self.announce_typing(&room, &name, typing);
            }
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
    fn a_person_with_two_tabs_is_there_once_until_both_close() {
        let mut state = State::default();
        let now = Instant::now();
        let ada = Some("ada".to_owned());
        assert_eq!(
            state
                .here("general", tab(1), "a1", ada.clone(), now)
                .expect("room"),
            ["general"]
        );
        // A second tab, and a heartbeat of the first: nothing changes.
        assert!(
            state
                .here("general", tab(2), "a1", ada.clone(), now)
                .expect("room")
                .is_empty()
        );
        assert!(
            state
                .here("general", tab(1), "a1", ada, now)
                .expect("room")
                .is_empty()
        );
        state
            .here("general", tab(3), "g7", None, now)
            .expect("room");
        let people = state.people("general");
        assert_eq!((people.people, people.guests), (vec!["ada".to_owned()], 1));
        assert!(state.gone(tab(1)).is_empty(), "her other tab is still open");
        assert_eq!(state.gone(tab(2)), ["general"]);
        assert_eq!(state.people("general").people, Vec::<String>::new());
    }

    #[test]
    fn a_page_not_heard_from_expires_and_one_that_moves_leaves_its_room() {
        let mut state = State::default();
        let now = Instant::now();
        state
            .here("general", tab(1), "a1", Some("ada".into()), now)
            .expect("room");
        let later = now + Duration::from_secs(PRESENCE_TTL_SECS - 1);
        state
            .here("random", tab(2), "b2", Some("bob".into()), later)
            .expect("room");
        // The same tab id in another room: it left the first.
        let moved = state
            .here("rust", tab(2), "b2", Some("bob".into()), later)
            .expect("room");
        assert_eq!(moved, ["random", "rust"]);
        let swept = state.sweep(now + Duration::from_secs(PRESENCE_TTL_SECS));
        assert_eq!(swept, ["general"]);
        assert_eq!(state.people("rust").people, ["bob"]);
    }

    #[test]
    fn typing_goes_out_at_most_every_two_seconds_and_stops_once() {
        let mut state = State::default();
        let now = Instant::now();
        assert!(state.typing("general", "a1", true, now));
        assert!(!state.typing("general", "a1", true, now + Duration::from_millis(1_999)));
        // Another room, or another person, has a limit of its own.
        assert!(state.typing("random", "a1", true, now));
        assert!(state.typing("general", "b2", true, now));
        assert!(state.typing("general", "a1", true, now + Duration::from_secs(2)));
        assert!(state.typing("general", "a1", false, now));
        assert!(
            !state.typing("general", "a1", false, now),
            "stopped already"
        );
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
        let frames: Vec<String> = std::iter::from_fn(|| live.try_recv().ok())
            .map(|published| String::from_utf8_lossy(&published.frame).into_owned())
            .collect();
        assert_eq!(
            frames,
            [
                "event: presence\ndata: {\"room\":\"general\",\"people\":[\"ada\"],\"guests\":0}\n\n",
                "event: typing\ndata: {\"room\":\"general\",\"name\":\"ada\",\"typing\":true}\n\n",
                "event: presence\ndata: {\"room\":\"general\",\"people\":[],\"guests\":0}\n\n",
            ]
        );
    }

    #[test]
    fn the_number_of_open_pages_is_bounded() {
        let mut state = State::default();
        let now = Instant::now();
        for n in 0..MAX_TABS as u128 {
            state
                .here("general", tab(n), &format!("g{n}"), None, now)
                .expect("room");
        }
        assert!(
            state
                .here("general", tab(u128::MAX), "late", None, now)
                .is_err()
        );
        // A heartbeat of a page already there still counts.
        assert!(state.here("general", tab(0), "g0", None, now).is_ok());
    }
}
