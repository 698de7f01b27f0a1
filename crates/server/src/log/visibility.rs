//! Who may see which room: every room known here by its name as stored,
//! public or private, and each private room's members.
//!
//! The one rule a stream follows before it sends a frame about a room (an
//! entry of the log, a passing event): a public room's go to everyone, a
//! private room's to its members alone, and a room not known here yet (one
//! another server just created) to nobody until it is. The caller door
//! follows the same rule for requests ([`Visibility::sees`]), and
//! `door::rooms` keeps this up to date.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use shared::{names::name_key, room::RoomKind};

use crate::log::store::{Membership, RoomId, RoomRecord, Store, StoreError};

/// Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Visibility {
    rooms: Arc<RwLock<Rooms>>,
    /// Whether every room known is public (most chats): then the door
    /// reads nothing to check a message's room (`any_private`).
    all_public: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Rooms {
    public: HashSet<String>,
    /// Each private room's members (account id → owner), by room name.
    private: HashMap<String, HashMap<i64, bool>>,
    /// Private rooms' names by id.
    names: HashMap<RoomId, String>,
}

impl Visibility {
    /// Knows `rooms` and the private ones' `memberships`, and nothing else.
    pub fn set(&self, rooms: &[RoomRecord], memberships: &[Membership]) {
        let mut known = Rooms::default();
        for room in rooms {
            known.add(room);
        }
        for membership in memberships {
            if let Some(name) = known.names.get(&membership.room_id)
                && let Some(members) = known.private.get_mut(name)
            {
                members.insert(membership.account_id, membership.owner);
            }
        }
        self.replace(known);
    }

    /// Knows `room` too (with no members yet, if private).
    pub fn add(&self, room: &RoomRecord) {
        let mut rooms = self.write();
        rooms.add(room);
        self.all_public
            .store(rooms.private.is_empty(), Ordering::Release);
    }

    /// Knows the public room called `name` too (another server's, as it
    /// told of it).
    pub fn add_public(&self, name: &str) {
        self.write().public.insert(name.to_owned());
    }

    /// Sets the private room `room`'s members.
    pub fn set_members(&self, room: &RoomRecord, memberships: &[Membership]) {
        let mut rooms = self.write();
        rooms.add(room);
        if let Some(members) = rooms.private.get_mut(&room.name) {
            *members = memberships
                .iter()
                .map(|membership| (membership.account_id, membership.owner))
                .collect();
        }
        self.all_public.store(false, Ordering::Release);
    }

    /// Knows the rooms called `names` (as stored) that are not known here
    /// yet, reading them (and a private one's members) from the store:
    /// rooms another server created.
    pub async fn learn<'a>(
        &self,
        store: &Store,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let unknown: HashSet<&str> = {
            let rooms = self.read();
            names
                .into_iter()
                .filter(|name| !rooms.public.contains(*name) && !rooms.private.contains_key(*name))
                .collect()
        };
        for name in unknown {
            if let Some(room) = store.room_by_key(&name_key(name)).await? {
                self.know(store, &room).await?;
            }
        }
        Ok(())
    }

    /// Knows `room` as the store holds it now: public, or private with
    /// the members the store lists.
    pub async fn know(&self, store: &Store, room: &RoomRecord) -> Result<(), StoreError> {
        if room.kind.is_public() {
            self.add(room);
        } else {
            self.set_members(room, &store.members_of(room.id).await?);
        }
        Ok(())
    }

    /// Whether `account` (`None`: a guest) may see the room called `room`
    /// (as stored).
    pub fn sees(&self, room: &str, account: Option<i64>) -> bool {
        let rooms = self.read();
        rooms.public.contains(room)
            || account.is_some_and(|account| {
                rooms
                    .private
                    .get(room)
                    .is_some_and(|members| members.contains_key(&account))
            })
    }

    /// Whether `account` is an owner of the private room `room`.
    pub fn owns(&self, room: &str, account: i64) -> bool {
        self.read()
            .private
            .get(room)
            .and_then(|members| members.get(&account))
            .copied()
            .unwrap_or(false)
    }

    /// Whether frames need looking at: some room known here is private.
    pub fn any_private(&self) -> bool {
        !self.all_public.load(Ordering::Acquire)
    }

    fn replace(&self, rooms: Rooms) {
        let all_public = rooms.private.is_empty();
        *self.write() = rooms;
        self.all_public.store(all_public, Ordering::Release);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        self.rooms
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rooms> {
        self.rooms
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Rooms {
    fn add(&mut self, room: &RoomRecord) {
        match room.kind {
            RoomKind::Public => {
                self.public.insert(room.name.clone());
            }
            RoomKind::Private | RoomKind::Direct => {
                self.names.insert(room.id, room.name.clone());
                self.private.entry(room.name.clone()).or_default();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(id: RoomId, name: &str, kind: RoomKind) -> RoomRecord {
        RoomRecord {
            id,
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn a_private_room_is_its_members_alone_and_an_unknown_room_nobodys() {
        let visibility = Visibility::default();
        let rooms = [
            room(1, "general", RoomKind::Public),
            room(2, "secret", RoomKind::Private),
            room(3, "empty", RoomKind::Private),
        ];
        let ada = Membership {
            room_id: 2,
            account_id: 7,
            owner: true,
        };
        visibility.set(&rooms, &[ada]);
        assert!(visibility.any_private());
        for account in [None, Some(7), Some(8)] {
            assert!(visibility.sees("general", account));
            assert!(!visibility.sees("elsewhere", account), "not known here yet");
            assert!(!visibility.sees("empty", account));
        }
        assert!(visibility.sees("secret", Some(7)));
        assert!(!visibility.sees("secret", Some(8)));
        assert!(!visibility.sees("secret", None));
        assert!(visibility.owns("secret", 7));

        // Its members change: the one taken out no longer sees it.
        visibility.set_members(
            &rooms[1],
            &[Membership {
                room_id: 2,
                account_id: 8,
                owner: false,
            }],
        );
        assert!(!visibility.sees("secret", Some(7)));
        assert!(visibility.sees("secret", Some(8)));
        assert!(!visibility.owns("secret", 8));

        // A room added later is known from then on.
        visibility.add(&room(4, "elsewhere", RoomKind::Public));
        assert!(visibility.sees("elsewhere", None));
    }

    #[test]
    fn with_every_room_public_nothing_private_is_looked_for() {
        let visibility = Visibility::default();
        visibility.set(&[room(1, "general", RoomKind::Public)], &[]);
        assert!(!visibility.any_private());
        assert!(visibility.sees("general", None));
        assert!(!visibility.sees("unknown", None));
    }
}
