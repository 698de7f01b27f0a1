//! Who is where and who typed when, on this server's view of every
//! server: the bookkeeping behind [`super::Presence`], without clocks or
//! I/O of its own.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    time::Duration,
};

use shared::presence::{
    PRESENCE_NAMES_MAX, PRESENCE_TTL_SECS, PresenceEvent, TYPING_EVERY_SECS, TYPING_TTL_SECS,
};
use tokio::time::Instant;
use uuid::Uuid;

use super::{ACCOUNT, Full, MAX_TABS, MAX_TABS_PER_CLIENT, MAX_TABS_PER_PERSON, Person};

#[derive(Debug, Default)]
pub(super) struct State {
    tabs: HashMap<Uuid, Tab>,
    /// Room → person → their name and how many of their pages are there.
    rooms: HashMap<String, BTreeMap<Person, Here>>,
    /// (room, person) → when their typing was last accepted.
    typing: HashMap<(String, Person), Instant>,
    /// Client address → how many of the pages this server heard are its.
    per_client: HashMap<IpAddr, usize>,
    /// Person → how many pages they have open, in every room.
    per_person: HashMap<Person, usize>,
}

#[derive(Debug)]
struct Tab {
    room: String,
    person: Person,
    /// The address it came from (`None`: told by another server).
    client: Option<IpAddr>,
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
    pub(super) fn here(
        &mut self,
        room: &str,
        tab: Uuid,
        person: &str,
        name: Option<String>,
        client: Option<IpAddr>,
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
            return Err(Full::Everyone);
        }
        let clients_pages =
            client.map_or(0, |client| self.per_client.get(&client).map_or(0, |n| *n));
        let persons_pages = self.per_person.get(person).map_or(0, |n| *n);
        if clients_pages >= MAX_TABS_PER_CLIENT || persons_pages >= MAX_TABS_PER_PERSON {
            return Err(Full::Yours);
        }
        if let Some(client) = client {
            *self.per_client.entry(client).or_default() += 1;
        }
        *self.per_person.entry(person.to_owned()).or_default() += 1;
        self.tabs.insert(
            tab,
            Tab {
                room: room.to_owned(),
                person: person.to_owned(),
                client,
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
    pub(super) fn gone(&mut self, tab: Uuid) -> Vec<String> {
        let Some(Tab {
            room,
            person,
            client,
            ..
        }) = self.tabs.remove(&tab)
        else {
            return Vec::new();
        };
        if let Some(client) = client {
            uncount(&mut self.per_client, &client);
        }
        uncount(&mut self.per_person, &person);
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

    /// Forgets every page of `person`; returns the rooms whose people
    /// changed.
    pub(super) fn leave(&mut self, person: &str) -> Vec<String> {
        let tabs: Vec<Uuid> = self
            .tabs
            .iter()
            .filter(|(_, tab)| tab.person == person)
            .map(|(id, _)| *id)
            .collect();
        let mut changed: Vec<String> = tabs.into_iter().flat_map(|tab| self.gone(tab)).collect();
        changed.sort();
        changed.dedup();
        self.typing.retain(|(_, typist), _| typist != person);
        changed
    }

    /// Forgets pages and typing not heard from in time; returns the rooms
    /// whose people changed.
    pub(super) fn sweep(&mut self, now: Instant) -> Vec<String> {
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
    pub(super) fn typing(&mut self, room: &str, person: &str, typing: bool, now: Instant) -> bool {
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

    /// Another server accepted a typing change of `person` in `room`.
    pub(super) fn typed_elsewhere(&mut self, room: &str, person: &str, typing: bool, now: Instant) {
        let key = (room.to_owned(), person.to_owned());
        if typing {
            self.typing.insert(key, now);
        } else {
            self.typing.remove(&key);
        }
    }

    pub(super) fn people(&self, room: &str) -> PresenceEvent {
        let mut event = PresenceEvent {
            room: room.to_owned(),
            ..PresenceEvent::default()
        };
        let mut named_guests = Vec::new();
        for (person, here) in self.rooms.get(room).into_iter().flatten() {
            match &here.name {
                Some(name) => {
                    if !person.starts_with(ACCOUNT) {
                        named_guests.push(name.clone());
                    }
                    event.people.push(name.clone());
                }
                None => event.guests += 1,
            }
        }
        event.people.sort();
        // The first names; the rest counted (see PRESENCE_NAMES_MAX).
        event.others = event.people.len().saturating_sub(PRESENCE_NAMES_MAX);
        event.people.truncate(PRESENCE_NAMES_MAX);
        named_guests.retain(|name| event.people.contains(name));
        named_guests.sort();
        event.named_guests = named_guests;
        event
    }
}

/// One fewer for `key`, forgotten at none.
fn uncount<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
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
                .here("general", tab(1), "a1", ada.clone(), None, now)
                .expect("room"),
            ["general"]
        );
        // A second tab, and a heartbeat of the first: nothing changes.
        assert!(
            state
                .here("general", tab(2), "a1", ada.clone(), None, now)
                .expect("room")
                .is_empty()
        );
        assert!(
            state
                .here("general", tab(1), "a1", ada, None, now)
                .expect("room")
                .is_empty()
        );
        state
            .here("general", tab(3), "g7", None, None, now)
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
            .here("general", tab(1), "a1", Some("ada".into()), None, now)
            .expect("room");
        let later = now + Duration::from_secs(PRESENCE_TTL_SECS - 1);
        state
            .here("random", tab(2), "b2", Some("bob".into()), None, later)
            .expect("room");
        // The same tab id in another room: it left the first.
        let moved = state
            .here("rust", tab(2), "b2", Some("bob".into()), None, later)
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
    fn the_number_of_open_pages_is_bounded() {
        let mut state = State::default();
        let now = Instant::now();
        for n in 0..MAX_TABS as u128 {
            state
                .here("general", tab(n), &format!("g{n}"), None, None, now)
                .expect("room");
        }
        assert!(
            state
                .here("general", tab(u128::MAX), "late", None, None, now)
                .is_err()
        );
        // A heartbeat of a page already there still counts.
        assert!(state.here("general", tab(0), "g0", None, None, now).is_ok());
    }

    #[test]
    fn a_crowded_room_lists_the_first_names_and_counts_the_rest() {
        let mut state = State::default();
        let now = Instant::now();
        for n in 0..450u128 {
            let name = Some(format!("guest {n:03}"));
            state
                .here("general", tab(n), &format!("g{n}"), name, None, now)
                .expect("room");
        }
        let event = state.people("general");
        assert_eq!(event.people.len(), PRESENCE_NAMES_MAX);
        assert_eq!(event.people[0], "guest 000");
        assert_eq!(event.others, 450 - PRESENCE_NAMES_MAX);
        assert!(
            serde_json::to_string(&event).expect("json").len() < 1024,
            "one event to every stream stays small"
        );
    }

    #[test]
    fn one_address_and_one_person_hold_a_bounded_share_of_the_pages() {
        let mut state = State::default();
        let now = Instant::now();
        let office = Some(IpAddr::from([10, 0, 0, 1]));
        for n in 0..MAX_TABS_PER_CLIENT as u128 {
            // A guest browser per page: the people are the client's choice.
            state
                .here("general", tab(n), &format!("g{n}"), None, office, now)
                .expect("within the address's share");
        }
        let more = state.here("general", tab(u128::MAX), "late", None, office, now);
        assert_eq!(more, Err(Full::Yours));
        let elsewhere = Some(IpAddr::from([10, 0, 0, 2]));
        state
            .here("general", tab(u128::MAX), "late", None, elsewhere, now)
            .expect("another address has its own share");
        // One person, from anywhere.
        for n in 0..MAX_TABS_PER_PERSON as u128 {
            let from = Some(IpAddr::from([10, 1, 0, n as u8]));
            state
                .here("random", tab(1_000_000 + n), "a1", None, from, now)
                .expect("within the person's share");
        }
        assert_eq!(
            state.here("random", tab(2_000_000), "a1", None, elsewhere, now),
            Err(Full::Yours)
        );
        // Closed pages give their share back.
        state.gone(tab(0));
        state
            .here("general", tab(u128::MAX - 1), "back", None, office, now)
            .expect("a page closed, a page opens");
    }
}
