//! What the sidebar knows of each room: how many messages it holds, how far
//! the reader has read it, and so how many are unread.
//!
//! A room's count starts as the server's (as of an id) and grows with each
//! message of that room the page receives after that id; the stream brings
//! every room's messages in id order, so a message counted once is never
//! counted again. What is unread is the count less the count when the
//! reader last read the room ([`ReadPosition`]): a signed-in reader's
//! positions come from the server, a guest's from this browser.

use std::collections::HashMap;

use shared::{
    ChatMessage, MessageCount,
    room::{ReadPosition, Room, RoomKind, RoomSettings, room_key},
};

/// One room in the sidebar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub name: String,
    pub count: MessageCount,
    /// Where the reader last read it (`None`: never, here).
    pub read: Option<ReadPosition>,
    /// What moderators set for it, as last heard.
    pub settings: RoomSettings,
    /// Who may see it.
    pub kind: RoomKind,
    /// A direct conversation's people (none for a room).
    pub people: Vec<String>,
    /// `name`'s [`room_key`], worked out once: every message is looked up
    /// by it.
    key: String,
}

impl Tally {
    fn new(name: String, count: MessageCount, read: Option<ReadPosition>) -> Self {
        Self {
            key: room_key(&name),
            name,
            count,
            read,
            settings: RoomSettings::default(),
            kind: RoomKind::Public,
            people: Vec::new(),
        }
    }

    /// A room as the server lists it, read nowhere yet.
    fn of(room: Room) -> Self {
        Self {
            settings: room.settings,
            kind: room.kind,
            people: room.people,
            ..Self::new(room.name, room.count, None)
        }
    }

    /// What the sidebar and the page's header call it: a room by its name
    /// (`#name`), a direct conversation by its people but `me`.
    pub fn title(&self, me: Option<&str>) -> String {
        if self.kind == RoomKind::Direct {
            shared::room::people_but(&self.people, me)
        } else {
            format!("#{}", self.name)
        }
    }

    /// Read as far as `position`, unless it was read further already.
    fn read_to(&mut self, position: ReadPosition) {
        self.read = Some(self.read.map_or(position, |known| known.max(position)));
    }

    /// How many of its messages the reader has not read.
    pub fn unread(&self) -> u64 {
        self.read.unwrap_or_default().unread(self.count.count)
    }
}

/// Every room the page knows, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tallies {
    rooms: Vec<Tally>,
    /// Whether the read positions are known (a guest's are read from the
    /// browser's storage once the page runs there): until then no room
    /// shows a number, rather than every message as unread.
    pub positions_known: bool,
}

impl Tallies {
    /// The server's rooms with the read positions known so far (`None`
    /// while they are not known yet).
    pub fn new(rooms: Vec<Room>, read: Option<&HashMap<String, ReadPosition>>) -> Self {
        let rooms = rooms.into_iter().map(Tally::of).collect();
        let mut tallies = Self {
            rooms,
            positions_known: false,
        };
        if let Some(read) = read {
            tallies.know_positions(read);
        }
        tallies
    }

    pub fn rooms(&self) -> &[Tally] {
        &self.rooms
    }

    /// The room called `name` (in any case), if known.
    pub fn get(&self, name: &str) -> Option<&Tally> {
        let key = room_key(name);
        self.rooms.iter().find(|room| room.key == key)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Tally> {
        let key = room_key(name);
        self.rooms.iter_mut().find(|room| room.key == key)
    }

    /// Counts a message the page received (in id order per room). Returns
    /// `false` if its room is not known here yet (a room created since
    /// the list was read): the list should be read again.
    pub fn received(&mut self, message: &ChatMessage) -> bool {
        let Some(room) = self.get_mut(&message.room) else {
            return false;
        };
        if message.id > room.count.as_of {
            room.count = MessageCount {
                as_of: message.id,
                count: room.count.count + 1,
            };
        }
        true
    }

    /// Sets the read positions of every room from `read` (a guest's, from
    /// the browser's storage), keeping any that is further on.
    pub fn know_positions(&mut self, read: &HashMap<String, ReadPosition>) {
        for (room, position) in read {
            self.read(room, *position);
        }
        self.positions_known = true;
    }

    /// [`Self::know_positions`], and for a reader new here (no position
    /// at all: none from the server, none kept in this browser) every room
    /// counts as read as far as it goes now, so that only what arrives from
    /// now on is unread. Returns those starting positions, to be kept.
    pub fn know_positions_or_start(
        &mut self,
        stored: &HashMap<String, ReadPosition>,
    ) -> Option<HashMap<String, ReadPosition>> {
        self.know_positions(stored);
        if self.rooms.iter().any(|room| room.read.is_some()) {
            return None;
        }
        let started = self
            .rooms
            .iter_mut()
            .map(|room| {
                let position = ReadPosition {
                    last_read: room.count.as_of,
                    count: room.count.count,
                };
                room.read = Some(position);
                (room.name.clone(), position)
            })
            .collect();
        Some(started)
    }

    /// Records that `room` was read as far as `position` (never moving
    /// back).
    pub fn read(&mut self, room: &str, position: ReadPosition) {
        if let Some(room) = self.get_mut(room) {
            room.read_to(position);
        }
    }

    /// Drops `room` from the list (the reader no longer sees it).
    pub fn remove(&mut self, room: &str) {
        let key = room_key(room);
        self.rooms.retain(|tally| tally.key != key);
    }

    /// Takes in a fresh list from the server: rooms new to the page,
    /// counts further on than the page's, and each room's settings.
    pub fn merge(&mut self, fresh: Vec<Room>) {
        for room in fresh {
            match self.get_mut(&room.name) {
                Some(known) => {
                    known.settings = room.settings;
                    if room.count.as_of > known.count.as_of {
                        known.count = room.count;
                    }
                }
                None => self.rooms.push(Tally::of(room)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use uuid::Uuid;

    use super::*;

    fn room(name: &str, as_of: i64, count: u64) -> Room {
        Room {
            name: name.into(),
            kind: Default::default(),
            people: Vec::new(),
            count: MessageCount { as_of, count },
            settings: Default::default(),
        }
    }

    fn message(id: i64, room: &str) -> ChatMessage {
        ChatMessage {
            id,
            room: room.into(),
            client_id: Uuid::nil(),
            username: "ada".into(),
            text: "hi".into(),
            timestamp: DateTime::UNIX_EPOCH,
            guest: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_room_counts_each_message_after_the_servers_count_once() {
        let mut tallies = Tallies::new(vec![room("general", 10, 7), room("random", 10, 2)], None);
        // At or before the server's count: counted already.
        assert!(tallies.received(&message(9, "random")));
        assert!(tallies.received(&message(11, "random")));
        // The same message again (relayed, or replayed): once.
        assert!(tallies.received(&message(11, "Random")));
        assert!(tallies.received(&message(12, "general")));
        let random = tallies.get("random").expect("known");
        assert_eq!(
            random.count,
            MessageCount {
                as_of: 11,
                count: 3
            }
        );
        assert_eq!(tallies.get("general").expect("known").count.count, 8);
        // A room the page does not know yet: read the list again.
        assert!(!tallies.received(&message(13, "new")));
    }

    #[test]
    fn unread_is_the_count_since_the_room_was_read() {
        let read = HashMap::from([(
            "random".to_owned(),
            ReadPosition {
                last_read: 8,
                count: 1,
            },
        )]);
        let mut tallies = Tallies::new(
            vec![room("general", 10, 7), room("random", 10, 2)],
            Some(&read),
        );
        assert!(tallies.positions_known);
        assert_eq!(tallies.get("random").expect("known").unread(), 1);
        // Never read here: all of it.
        assert_eq!(tallies.get("general").expect("known").unread(), 7);
        tallies.received(&message(11, "random"));
        assert_eq!(tallies.get("random").expect("known").unread(), 2);
        tallies.read(
            "RANDOM",
            ReadPosition {
                last_read: 11,
                count: 3,
            },
        );
        assert_eq!(tallies.get("random").expect("known").unread(), 0);
        // An older position (another tab's, late) does not move it back.
        tallies.read(
            "random",
            ReadPosition {
                last_read: 9,
                count: 2,
            },
        );
        assert_eq!(tallies.get("random").expect("known").unread(), 0);
    }

    #[test]
    fn a_room_left_leaves_the_list_in_any_case() {
        let mut tallies = Tallies::new(vec![room("general", 4, 4), room("Secret", 4, 2)], None);
        tallies.remove("secret");
        assert!(tallies.get("Secret").is_none());
        assert!(tallies.get("general").is_some());
        tallies.remove("nowhere");
        assert_eq!(tallies.rooms().len(), 1);
    }

    #[test]
    fn a_guests_positions_are_known_once_read_from_the_browser() {
        let mut tallies = Tallies::new(vec![room("general", 4, 4)], None);
        assert!(!tallies.positions_known);
        let stored = HashMap::from([(
            "General".to_owned(),
            ReadPosition {
                last_read: 3,
                count: 3,
            },
        )]);
        tallies.know_positions(&stored);
        assert!(tallies.positions_known);
        assert_eq!(tallies.get("general").expect("known").unread(), 1);
    }

    #[test]
    fn a_reader_new_here_starts_with_nothing_unread_but_what_comes_next() {
        let mut tallies = Tallies::new(vec![room("general", 10, 7), room("random", 10, 2)], None);
        let started = tallies
            .know_positions_or_start(&HashMap::new())
            .expect("new here");
        assert_eq!(
            started["general"],
            ReadPosition {
                last_read: 10,
                count: 7
            }
        );
        assert!(tallies.positions_known);
        assert!(tallies.rooms().iter().all(|room| room.unread() == 0));
        tallies.received(&message(11, "random"));
        assert_eq!(tallies.get("random").expect("known").unread(), 1);
        // A room created later was never read: everything in it is new.
        tallies.merge(vec![room("new", 12, 0)]);
        tallies.received(&message(13, "new"));
        assert_eq!(tallies.get("new").expect("known").unread(), 1);

        // One position anywhere (here: from the browser) means read before:
        // the other rooms keep counting all they hold.
        let mut returning = Tallies::new(vec![room("general", 10, 7), room("random", 10, 2)], None);
        let stored = HashMap::from([("random".to_owned(), ReadPosition::default())]);
        assert_eq!(returning.know_positions_or_start(&stored), None);
        assert_eq!(returning.get("general").expect("known").unread(), 7);
    }

    #[test]
    fn a_fresh_list_adds_new_rooms_and_keeps_counts_further_on() {
        let mut tallies = Tallies::new(vec![room("general", 10, 7)], None);
        tallies.received(&message(12, "general"));
        tallies.merge(vec![room("general", 11, 8), room("new", 11, 0)]);
        assert_eq!(
            tallies.get("general").expect("known").count,
            MessageCount {
                as_of: 12,
                count: 8
            }
        );
        assert_eq!(tallies.rooms().len(), 2);
        assert!(tallies.received(&message(13, "new")));
        assert_eq!(tallies.get("new").expect("known").count.count, 1);
    }
}
