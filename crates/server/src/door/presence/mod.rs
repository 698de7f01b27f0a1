//! Who is in each room now, and who is typing: passing events on the hub,
//! never stored as messages and never replayed.
//!
//! A page says it is open on its room every [`HEARTBEAT_SECS`] and, as it
//! closes, that it leaves; a page not heard from for [`PRESENCE_TTL_SECS`]
//! has left (its connection vanished). A person is an account, or a
//! guest's browser, so one with several tabs is there once. Whenever the
//! people of a room change, every stream gets a `presence` event for that
//! room: at once if the room's last one went out [`ANNOUNCE_EVERY`] ago or
//! more, else once that much has passed, saying who is there then (so
//! pages coming and going cost every stream at most one event per room
//! and second, however many come and go). Someone typing says so at most every [`TYPING_EVERY_SECS`] per
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
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use shared::{
    names::name_key,
    presence::{PRESENCE_EVENT, PresenceEvent, TYPING_EVENT, TypingEvent},
    room::{ROOM_EVENT, ROOM_LEFT_EVENT, Room, RoomLeft},
};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::state::State;
use crate::{
    edge::client::client_key,
    log::hub::{Hub, Published},
    log::store::Store,
    log::visibility::Visibility,
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
/// The least time between two `presence` events of one room; changes in
/// between go out together in the second.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);
/// How often rooms whose change waits are looked at.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Who is who: an account (`account:<name>`), or a guest's browser
/// (`guest:<browser>`).
pub type Person = String;

/// How an account's [`Person`] begins.
pub const ACCOUNT: &str = "account:";

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
    /// An account was banned: out of presence, its streams told and ended.
    Banned {
        account: i64,
        person: Person,
        ban: shared::moderation::BanNotice,
    },
    /// An account was taken out of a private room: its streams are told.
    Left {
        account: i64,
        room: String,
    },
    /// Guests were blocked or unblocked: read the blocks again.
    Blocks,
    /// A room's settings changed: read them again.
    RoomSettings,
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
    /// Who may see which room (the chat's).
    visibility: Visibility,
    /// This server, so that it skips what it told the others itself.
    server: Uuid,
    /// Changes to tell the other servers (none with a single server).
    relay: Option<mpsc::Sender<Change>>,
    /// When each room's last `presence` event went out, and whether a
    /// change waits to.
    announced: Arc<Mutex<HashMap<String, Announced>>>,
    /// Counts the changes of guest blocks other servers told of (see
    /// [`crate::door::blocks`]).
    blocks_changed: Arc<tokio::sync::watch::Sender<u64>>,
    /// Counts the changes of rooms' settings other servers told of.
    rooms_changed: Arc<tokio::sync::watch::Sender<u64>>,
    /// With several servers, where another server's private room is read
    /// before its event goes out here.
    store: Option<Store>,
}

#[derive(Clone, Copy, Debug)]
struct Announced {
    at: Instant,
    waiting: bool,
}

impl Presence {
    /// Presence on `hub`, swept until `stop`; with several servers on
    /// `store`, told to and from the others.
    /// `visibility` learns of public rooms other servers create as they
    /// tell of them.
    pub fn start(store: &Store, hub: Hub, visibility: Visibility, stop: CancellationToken) -> Self {
        let (relay, changes) = if store.single_writer() {
            (None, None)
        } else {
            let (tell, changes) = mpsc::channel(RELAY_QUEUE);
            (Some(tell), Some(changes))
        };
        let presence = Self {
            state: Arc::default(),
            hub,
            visibility,
            server: Uuid::new_v4(),
            relay,
            announced: Arc::default(),
            blocks_changed: Arc::new(tokio::sync::watch::Sender::new(0)),
            rooms_changed: Arc::new(tokio::sync::watch::Sender::new(0)),
            store: (!store.single_writer()).then(|| store.clone()),
        };
        tokio::spawn(presence.clone().sweep(stop.clone()));
        tokio::spawn(presence.clone().flush(stop.clone()));
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

    /// The account `account` (its pages' person `person`) was banned: on
    /// every server its pages leave presence, and its streams receive the
    /// ban and end.
    pub fn banned(&self, account: i64, person: &str, ban: &shared::moderation::BanNotice) {
        self.ban_here(account, person, ban);
        self.tell(Change::Banned {
            account,
            person: person.to_owned(),
            ban: ban.clone(),
        });
    }

    /// This server changed the guest blocks: the others read them again.
    pub fn blocks_changed(&self) {
        self.tell(Change::Blocks);
    }

    /// Changes whenever another server changed the guest blocks.
    pub fn watch_blocks(&self) -> tokio::sync::watch::Receiver<u64> {
        self.blocks_changed.subscribe()
    }

    /// This server changed a room's settings (`room` as listed now): every
    /// stream hears of it, and the other servers read the settings again.
    pub fn room_settings_changed(&self, room: &Room) {
        self.announce_room(room);
        self.tell(Change::RoomSettings);
        self.tell(Change::Room { room: room.clone() });
    }

    /// The account `account` was taken out of the private room `room` (or
    /// left it): its streams, on every server, are told, so its pages drop
    /// the room at once (they carry nothing more of it anyway).
    pub fn left(&self, account: i64, room: &str) {
        self.tell_left(account, room);
        self.tell(Change::Left {
            account,
            room: room.to_owned(),
        });
    }

    fn tell_left(&self, account: i64, room: &str) {
        let left = RoomLeft {
            room: room.to_owned(),
        };
        self.hub
            .publish(Arc::new(Published::to(account, ROOM_LEFT_EVENT, &left)));
    }

    /// Changes whenever another server changed a room's settings.
    pub fn watch_rooms(&self) -> tokio::sync::watch::Receiver<u64> {
        self.rooms_changed.subscribe()
    }

    fn ban_here(&self, account: i64, person: &str, ban: &shared::moderation::BanNotice) {
        let changed = self.lock().leave(person);
        self.announce(&changed);
        self.hub.publish(Arc::new(Published::last_to(
            account,
            shared::moderation::BANNED_EVENT,
            ban,
        )));
    }

    fn announce_room(&self, room: &Room) {
        // Scoped to the room: a private room's creation or settings reach
        // its members' streams alone.
        self.hub.publish(Arc::new(
            Published::passing(ROOM_EVENT, room).in_room(&room.name),
        ));
    }

    /// Who is in `room` now.
    pub fn people(&self, room: &str) -> PresenceEvent {
        self.lock().people(room)
    }

    /// The people of `rooms` changed: each room's event goes out now, or
    /// waits for [`ANNOUNCE_EVERY`] since its last.
    fn announce(&self, rooms: &[String]) {
        let now = Instant::now();
        let due: Vec<&String> = {
            let mut announced = self.lock_announced();
            rooms
                .iter()
                .filter(|room| match announced.get_mut(room.as_str()) {
                    Some(last) if last.at + ANNOUNCE_EVERY > now => {
                        last.waiting = true;
                        false
                    }
                    _ => {
                        let last = Announced {
                            at: now,
                            waiting: false,
                        };
                        announced.insert((*room).clone(), last);
                        true
                    }
                })
                .collect()
        };
        for room in due {
            self.publish_people(room);
        }
    }

    /// Sends the rooms whose change waited and whose time has come;
    /// forgets rooms quiet for longer than [`ANNOUNCE_EVERY`].
    fn flush_due(&self) {
        let now = Instant::now();
        let due: Vec<String> = {
            let mut announced = self.lock_announced();
            announced.retain(|_, last| last.waiting || last.at + ANNOUNCE_EVERY > now);
            announced
                .iter_mut()
                .filter(|(_, last)| last.waiting && last.at + ANNOUNCE_EVERY <= now)
                .map(|(room, last)| {
                    *last = Announced {
                        at: now,
                        waiting: false,
                    };
                    room.clone()
                })
                .collect()
        };
        for room in &due {
            self.publish_people(room);
        }
    }

    fn publish_people(&self, room: &str) {
        let event = self.people(room);
        self.hub.publish(Arc::new(
            Published::passing(PRESENCE_EVENT, &event).in_room(room),
        ));
    }

    async fn flush(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => self.flush_due(),
            }
        }
    }

    fn lock_announced(&self) -> std::sync::MutexGuard<'_, HashMap<String, Announced>> {
        self.announced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn announce_typing(&self, room: &str, name: &str, typing: bool) {
        let event = TypingEvent {
            room: room.to_owned(),
            name: name.to_owned(),
            typing,
        };
        self.hub.publish(Arc::new(
            Published::passing(TYPING_EVENT, &event).in_room(room),
        ));
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
            Change::Room { room } => {
                // Another server's room: known here before it is announced.
                if room.kind.is_public() {
                    self.visibility.add_public(&room.name);
                    self.announce_room(&room);
                } else {
                    // A private room or a conversation (made, or its
                    // members changed): its members are read here first,
                    // so that one just added hears of it.
                    self.rooms_changed.send_modify(|changes| *changes += 1);
                    let presence = self.clone();
                    tokio::spawn(async move { presence.announce_private(room).await });
                }
            }
            Change::Banned {
                account,
                person,
                ban,
            } => self.ban_here(account, &person, &ban),
            Change::Left { account, room } => self.tell_left(account, &room),
            Change::Blocks => self.blocks_changed.send_modify(|changes| *changes += 1),
            Change::RoomSettings => self.rooms_changed.send_modify(|changes| *changes += 1),
        }
    }

    /// Announces another server's private `room` once its members as the
    /// store holds them now are known here.
    async fn announce_private(&self, room: Room) {
        let Some(store) = &self.store else {
            return self.announce_room(&room);
        };
        let known = match store.room_by_key(&name_key(&room.name)).await {
            Ok(Some(record)) => self.visibility.know(store, &record).await,
            Ok(None) => return,
            Err(err) => Err(err),
        };
        match known {
            Ok(()) => self.announce_room(&room),
            Err(err) => {
                tracing::warn!(error = %err, room = room.name, "could not read a room's members")
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

    fn presence_on(hub: &Hub) -> Presence {
        Presence {
            state: Arc::default(),
            hub: hub.clone(),
            visibility: Visibility::default(),
            server: Uuid::new_v4(),
            relay: None,
            announced: Arc::default(),
            blocks_changed: Arc::new(tokio::sync::watch::Sender::new(0)),
            rooms_changed: Arc::new(tokio::sync::watch::Sender::new(0)),
            store: None,
        }
    }

    fn frames(live: &mut tokio::sync::broadcast::Receiver<Arc<Published>>) -> Vec<String> {
        std::iter::from_fn(|| live.try_recv().ok())
            .map(|published| String::from_utf8_lossy(&published.frame).into_owned())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn what_another_server_says_is_announced_here() {
        let hub = Hub::default();
        let presence = presence_on(&hub);
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
                kind: Default::default(),
                people: Vec::new(),
                count: shared::MessageCount { as_of: 7, count: 0 },
                settings: Default::default(),
            },
        });
        assert_eq!(
            frames(&mut live),
            [
                "event: presence\ndata: {\"room\":\"general\",\"people\":[\"ada\"],\"guests\":0}\n\n",
                "event: typing\ndata: {\"room\":\"general\",\"name\":\"ada\",\"typing\":true}\n\n",
                "event: room\ndata: {\"name\":\"random\",\"kind\":\"public\",\"count\":{\"as_of\":7,\"count\":0}}\n\n",
            ]
        );
        // Leaving within the second goes out once the second is over.
        tokio::time::advance(ANNOUNCE_EVERY).await;
        presence.flush_due();
        assert_eq!(
            frames(&mut live),
            ["event: presence\ndata: {\"room\":\"general\",\"people\":[],\"guests\":0}\n\n"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pages_coming_and_going_cost_a_room_one_event_a_second() {
        let hub = Hub::default();
        let presence = presence_on(&hub);
        let mut live = hub.subscribe();
        let here = |n: u128| {
            presence
                .here(
                    "general",
                    tab(n),
                    &format!("guest:{n}"),
                    Some(format!("guest{n}")),
                    IpAddr::from([10, 0, 0, 1]),
                )
                .expect("room for it");
        };
        // The first change goes out at once; a hundred more within the
        // second wait, and go out as one, saying who is there then.
        here(0);
        assert_eq!(frames(&mut live).len(), 1);
        for n in 1..=100 {
            here(n);
            presence.gone(tab(n - 1));
        }
        presence.flush_due();
        assert!(
            frames(&mut live).is_empty(),
            "not before the second is over"
        );
        tokio::time::advance(ANNOUNCE_EVERY).await;
        presence.flush_due();
        let after = frames(&mut live);
        assert_eq!(
            after,
            [
                "event: presence\ndata: {\"room\":\"general\",\"people\":[\"guest100\"],\"named_guests\":[\"guest100\"],\"guests\":0}\n\n"
            ]
        );
        // Nothing more waits; a quiet room is forgotten, and its next
        // change goes out at once.
        tokio::time::advance(ANNOUNCE_EVERY).await;
        presence.flush_due();
        assert!(frames(&mut live).is_empty());
        assert!(presence.lock_announced().is_empty());
        presence.gone(tab(100));
        assert_eq!(frames(&mut live).len(), 1);
    }
}
