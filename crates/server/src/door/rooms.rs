//! The rooms: which exist, found by name, and who may create one.
//!
//! Every request that names a room (`/r/<name>`, `/api/rooms/<name>/…`, a
//! server function) finds it here, in memory. Rooms are never renamed or
//! deleted, so what is known stays right; what may be missing is a room
//! another server created (PostgreSQL): there, a name not known here is
//! looked up in the database (one indexed read, like a page of history),
//! and a name found missing is not asked about again for [`MISS_AGE`], so
//! pages of made-up rooms cost one read per name and second, not one each.
//! On SQLite this server creates every room, so a name not known here is
//! no room.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use shared::{
    GENERAL, ValidationError,
    names::{check_letters, name_key},
    room::{DIRECT_MARK, MAX_INVITES, RoomKind, RoomSettings, parse_room_name},
};

use crate::{
    door::accounts::DAY,
    door::counts::Counter,
    edge::client::client_key,
    log::store::{
        Account, DirectMade, InviteCreated, InviteRecord, InviteUsed, MemberAdded, RoomCaps,
        RoomCreated, RoomId, RoomRecord, Store, StoreError,
    },
    log::visibility::Visibility,
};

/// The most (room, writer) pairs slow mode remembers; past it, those
/// whose wait is over are forgotten first.
const MAX_PACED: usize = 100_000;

/// The most rooms one chat holds: the sidebar lists them all, and each
/// has its count in memory.
pub const MAX_ROOMS: usize = 1000;
/// The most rooms one account may create: a few accounts cannot use up
/// the chat's rooms for everyone.
pub const ROOMS_PER_ACCOUNT: usize = 20;
/// The most rooms created from one client address in a day, whoever is
/// signed in there: the accounts an address may make a day (50) would
/// otherwise make every room the chat may hold.
pub const ROOMS_PER_ADDRESS_PER_DAY: u32 = 30;
/// How old the list may be when it is listed (on a shared log).
const LIST_AGE: Duration = Duration::from_secs(1);
/// How long a name found to be no room stays so without asking the
/// database again (on a shared log; a room another server creates in that
/// time is found after it).
pub const MISS_AGE: Duration = Duration::from_secs(1);
/// The most missing names remembered: past it, a miss is not remembered
/// (each costs its read, as every name did before).
const MAX_MISSES: usize = 10_000;

/// The most direct conversations one chat holds (each is a room in
/// memory, as every room).
pub const MAX_DIRECT: usize = 100_000;
/// The most new direct conversations one account may open a day.
pub const DIRECT_PER_ACCOUNT_PER_DAY: u32 = 100;

/// Why a room was not created.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The chat holds [`MAX_ROOMS`] rooms.
    #[error("the chat has as many rooms as it may hold ({MAX_ROOMS})")]
    TooMany,
    /// The account created [`ROOMS_PER_ACCOUNT`] rooms.
    #[error("you have created as many rooms as one account may ({ROOMS_PER_ACCOUNT})")]
    TooManyOfYours,
    /// The chat holds [`MAX_DIRECT`] direct conversations.
    #[error("the chat has as many direct conversations as it may hold ({MAX_DIRECT})")]
    TooManyDirect,
    /// [`ROOMS_PER_ADDRESS_PER_DAY`] rooms were created from the client's
    /// address (or [`DIRECT_PER_ACCOUNT_PER_DAY`] direct conversations
    /// opened by the account); it may create another after this.
    #[error("too many rooms created from this address today")]
    TooManyFromAddress(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rooms of the chat; cheap to clone.
#[derive(Clone, Debug)]
pub struct Rooms {
    store: Store,
    known: Arc<RwLock<Known>>,
    /// Whether this server creates every room there is (a single writer):
    /// then an unknown name is unknown, with no need to look.
    complete: bool,
    /// Keys the database had no room for, and when it was asked.
    misses: Arc<Mutex<HashMap<String, tokio::time::Instant>>>,
    /// Rooms created per client address in the day.
    by_address: Arc<Counter<IpAddr>>,
    /// What moderators set for each room that has settings (rooms absent:
    /// nothing set).
    settings: Arc<RwLock<HashMap<RoomId, RoomSettings>>>,
    /// Slow mode: when each writer in each room may write again.
    paced: Arc<Mutex<HashMap<(RoomId, String), Instant>>>,
    /// Who may see which room (the chat's, which every stream follows):
    /// told of every room found or created, and of private rooms' members.
    visibility: Visibility,
    /// Each direct conversation's people by account name, in name order
    /// (they never change).
    people: Arc<RwLock<HashMap<RoomId, Vec<String>>>>,
    /// New direct conversations opened per account in the day.
    direct_by_account: Arc<Counter<i64>>,
}

#[derive(Debug)]
struct Known {
    /// Oldest first.
    rooms: Vec<RoomRecord>,
    by_key: HashMap<String, usize>,
    read_at: Instant,
}

impl Known {
    fn new(rooms: Vec<RoomRecord>) -> Self {
        let by_key = rooms
            .iter()
            .enumerate()
            .map(|(index, room)| (name_key(&room.name), index))
            .collect();
        Self {
            rooms,
            by_key,
            read_at: Instant::now(),
        }
    }

    fn find(&self, key: &str) -> Option<&RoomRecord> {
        self.by_key.get(key).map(|&index| &self.rooms[index])
    }

    fn add(&mut self, room: RoomRecord) {
        let key = name_key(&room.name);
        if !self.by_key.contains_key(&key) {
            self.by_key.insert(key, self.rooms.len());
            self.rooms.push(room);
        }
    }
}

impl Rooms {
    /// Reads the rooms the store holds; keeps `visibility` up to date.
    pub async fn load(store: Store, visibility: Visibility) -> Result<Self, StoreError> {
        let known = Known::new(store.rooms().await?);
        let rooms = Self {
            visibility,
            complete: store.single_writer(),
            store,
            known: Arc::new(RwLock::new(known)),
            misses: Arc::default(),
            by_address: Arc::new(Counter::new(DAY)),
            settings: Arc::default(),
            paced: Arc::default(),
            people: Arc::default(),
            direct_by_account: Arc::new(Counter::new(DAY)),
        };
        rooms.reload_settings().await?;
        Ok(rooms)
    }

    /// Reads the rooms' settings again whenever `changed` changes
    /// (another server changed them), until `stop`.
    pub fn follow_settings(
        &self,
        mut changed: tokio::sync::watch::Receiver<u64>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let rooms = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    told = changed.changed() => if told.is_err() { return },
                }
                if let Err(err) = rooms.reload_settings().await {
                    tracing::warn!(error = %err, "could not read the rooms' settings");
                }
            }
        });
    }

    /// Reads the rooms' settings and private rooms' members again.
    async fn reload_settings(&self) -> Result<(), StoreError> {
        self.reload_with(&self.store.rooms().await?).await
    }

    /// [`Self::reload_settings`] with `rooms` just read.
    async fn reload_with(&self, rooms: &[RoomRecord]) -> Result<(), StoreError> {
        self.visibility.set(rooms, &self.store.memberships().await?);
        let mut people: HashMap<RoomId, Vec<String>> = HashMap::new();
        for (room, person) in self.store.direct_people().await? {
            people.entry(room).or_default().push(person);
        }
        for names in people.values_mut() {
            names.sort();
        }
        *self
            .people
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = people;
        let mut settings = self.store.room_settings().await?;
        settings.retain(|_, settings| !settings.is_open());
        *self
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
        Ok(())
    }

    /// What moderators set for `room`.
    pub fn settings(&self, room: RoomId) -> RoomSettings {
        self.settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&room)
            .copied()
            .unwrap_or_default()
    }

    /// Whether any room has settings (most chats have none: then nothing
    /// is read to check them).
    pub fn any_set(&self) -> bool {
        !self
            .settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
    }

    /// Sets `room`'s settings as `by` (recorded in the audit log).
    pub async fn set_settings(
        &self,
        room: &RoomRecord,
        settings: RoomSettings,
        by: &str,
    ) -> Result<(), StoreError> {
        self.store
            .set_room_settings(room, settings, by, chrono::Utc::now())
            .await?;
        let mut held = self
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if settings.is_open() {
            held.remove(&room.id);
        } else {
            held.insert(room.id, settings);
        }
        Ok(())
    }

    /// Slow mode: whether `writer` may write in `room` now, at most once
    /// per `every`; if not, how long until it may.
    pub fn pace(&self, room: RoomId, writer: String, every: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let mut paced = self
            .paced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (room, writer);
        if let Some(next) = paced.get(&key)
            && *next > now
        {
            return Err(*next - now);
        }
        if paced.len() >= MAX_PACED {
            paced.retain(|_, next| *next > now);
        }
        if paced.len() < MAX_PACED {
            paced.insert(key, now + every);
        }
        Ok(())
    }

    /// `general`, which always exists.
    pub fn general(&self) -> RoomRecord {
        self.read()
            .find(GENERAL)
            .cloned()
            .expect("the migration creates general")
    }

    /// The room called `name` (ignoring case and look-alike letters), if
    /// there is one.
    pub async fn find(&self, name: &str) -> Result<Option<RoomRecord>, StoreError> {
        let key = name_key(name.trim());
        if let Some(room) = self.read().find(&key) {
            return Ok(Some(room.clone()));
        }
        if self.complete {
            return Ok(None);
        }
        let now = tokio::time::Instant::now();
        let missed = |asked: &tokio::time::Instant| now.duration_since(*asked) < MISS_AGE;
        if self.lock_misses().get(&key).is_some_and(missed) {
            return Ok(None);
        }
        let found = self.store.room_by_key(&key).await?;
        match &found {
            Some(room) => {
                self.know(room).await?;
                self.write().add(room.clone());
                self.lock_misses().remove(&key);
            }
            None => {
                let mut misses = self.lock_misses();
                if misses.len() >= MAX_MISSES {
                    misses.retain(|_, asked| missed(asked));
                }
                if misses.len() < MAX_MISSES {
                    misses.insert(key, now);
                }
            }
        }
        Ok(found)
    }

    /// The room `id` (one named by the database: an invite's).
    pub async fn with_id(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        if let Some(room) = self.read().rooms.iter().find(|room| room.id == id) {
            return Ok(Some(room.clone()));
        }
        let found = self.store.room_by_id(id).await?;
        if let Some(room) = &found {
            self.know(room).await?;
            self.write().add(room.clone());
        }
        Ok(found)
    }

    /// Every room, oldest first (on a shared log, as of at most a second
    /// ago).
    pub async fn list(&self) -> Result<Vec<RoomRecord>, StoreError> {
        let stale = !self.complete && self.read().read_at.elapsed() >= LIST_AGE;
        if stale {
            self.refresh().await?;
        }
        Ok(self.read().rooms.clone())
    }

    /// Creates the room `name` (the rules of [`parse_room_name`]) of
    /// `kind`, made by the account `creator` (a private room's owner) from
    /// the address `client`. A name taken (ignoring case and look-alike
    /// letters, by a room of any kind) is refused with
    /// [`shared::Rule::Taken`].
    pub async fn create(
        &self,
        name: &str,
        kind: RoomKind,
        creator: i64,
        client: IpAddr,
    ) -> Result<RoomRecord, RoomError> {
        let name = parse_room_name(name)?;
        check_letters(shared::Field::Room, &name)?;
        // Nor one that only looks like a conversation's (`＠`, which
        // NFKC makes `@`): its key would take theirs.
        if name_key(&name).starts_with(&name_key(&DIRECT_MARK.to_string())) {
            return Err(ValidationError {
                field: shared::Field::Room,
                rule: shared::Rule::Reserved,
            }
            .into());
        }
        let client = client_key(client);
        self.by_address
            .take(
                &client,
                ROOMS_PER_ADDRESS_PER_DAY,
                tokio::time::Instant::now(),
            )
            .map_err(RoomError::TooManyFromAddress)?;
        let created = self.insert(name, kind, creator).await;
        if created.is_err() {
            self.by_address.give_back(&client);
        }
        created
    }

    /// Stores the room `name` (valid) unless it or a cap is taken.
    async fn insert(
        &self,
        name: String,
        kind: RoomKind,
        creator: i64,
    ) -> Result<RoomRecord, RoomError> {
        let key = name_key(&name);
        if self.read().find(&key).is_some() {
            return Err(taken().into());
        }
        let now = chrono::Utc::now().timestamp();
        let caps = RoomCaps {
            max_rooms: MAX_ROOMS,
            max_per_creator: ROOMS_PER_ACCOUNT,
        };
        // The caps are checked by the database as it inserts, so rooms
        // created at once cannot pass them together.
        let room = match self
            .store
            .create_room(&name, &key, kind, Some(creator), now, caps)
            .await?
        {
            RoomCreated::Created(room) => room,
            // Another server created it meanwhile.
            RoomCreated::Taken => return Err(taken().into()),
            RoomCreated::ChatFull => return Err(RoomError::TooMany),
            RoomCreated::CreatorFull => return Err(RoomError::TooManyOfYours),
        };
        self.know(&room).await?;
        self.write().add(room.clone());
        self.lock_misses().remove(&key);
        Ok(room)
    }

    /// Tells the visibility of `room` (and a private one's members) before
    /// anything of it is sent; knows a direct conversation's people.
    async fn know(&self, room: &RoomRecord) -> Result<(), StoreError> {
        self.visibility.know(&self.store, room).await?;
        if room.kind == RoomKind::Direct && !self.read_people().contains_key(&room.id) {
            let mut names: Vec<String> = self
                .store
                .member_names(room.id)
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            names.sort();
            self.people
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(room.id, names);
        }
        Ok(())
    }

    /// A direct conversation's people by account name, in name order
    /// (none for a room).
    pub fn people(&self, room: &RoomRecord) -> Vec<String> {
        self.read_people()
            .get(&room.id)
            .cloned()
            .unwrap_or_default()
    }

    fn read_people(&self) -> std::sync::RwLockReadGuard<'_, HashMap<RoomId, Vec<String>>> {
        self.people
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The direct conversation of the accounts `people` (2 to
    /// [`shared::room::MAX_DIRECT_PEOPLE`], `opener` among them), made now
    /// unless it exists; whether it was made.
    pub async fn direct(
        &self,
        people: &[i64],
        opener: i64,
    ) -> Result<(RoomRecord, bool), RoomError> {
        let mut ids = people.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let name = direct_name(&ids);
        match self.find(&name).await? {
            Some(room) if room.kind == RoomKind::Direct => return Ok((room, false)),
            // A room named so before such names were refused: never taken
            // for the conversation (its messages would go there).
            Some(_) => return Err(taken().into()),
            None => {}
        }
        self.direct_by_account
            .take(
                &opener,
                DIRECT_PER_ACCOUNT_PER_DAY,
                tokio::time::Instant::now(),
            )
            .map_err(RoomError::TooManyFromAddress)?;
        let key = name_key(&name);
        let now = chrono::Utc::now().timestamp();
        let made = self
            .store
            .create_direct(&name, &key, &ids, opener, now, MAX_DIRECT)
            .await;
        // Only a conversation made counts against the opener's day.
        if !matches!(made, Ok(DirectMade::Created(_))) {
            self.direct_by_account.give_back(&opener);
        }
        let (room, created) = match made? {
            DirectMade::Created(room) => (room, true),
            DirectMade::Existing(room) => (room, false),
            DirectMade::ChatFull => return Err(RoomError::TooManyDirect),
            DirectMade::Taken => return Err(taken().into()),
        };
        self.know(&room).await?;
        self.write().add(room.clone());
        self.lock_misses().remove(&key);
        Ok((room, created))
    }

    /// Whether some room known here is private (most chats have none:
    /// then nothing is read to check a message's room).
    pub fn any_private(&self) -> bool {
        self.visibility.any_private()
    }

    /// Whether `account` (`None`: a guest) may see `room`.
    pub fn sees(&self, room: &RoomRecord, account: Option<i64>) -> bool {
        self.visibility.sees(&room.name, account)
    }

    /// Whether `account` is an owner of the private `room`.
    pub fn owns(&self, room: &RoomRecord, account: i64) -> bool {
        self.visibility.owns(&room.name, account)
    }

    /// The private `room`'s members by name, and whether each is an owner,
    /// in the order they joined.
    pub async fn member_names(&self, room: &RoomRecord) -> Result<Vec<(String, bool)>, StoreError> {
        self.store.member_names(room.id).await
    }

    /// The account called `name` (ignoring case and look-alike letters).
    pub async fn account_named(&self, name: &str) -> Result<Option<Account>, StoreError> {
        self.store.account_by_key(&name_key(name.trim())).await
    }

    /// Adds the account `member` to the private `room`.
    pub async fn add_member(
        &self,
        room: &RoomRecord,
        member: i64,
    ) -> Result<MemberAdded, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let added = self.store.add_member(room.id, member, now).await?;
        self.know(room).await?;
        Ok(added)
    }

    /// Takes the account `member` out of the private `room`; whether they
    /// were in it. Their streams stop carrying it at once.
    pub async fn remove_member(&self, room: &RoomRecord, member: i64) -> Result<bool, StoreError> {
        let removed = self.store.remove_member(room.id, member).await?;
        self.know(room).await?;
        Ok(removed)
    }

    /// Makes the member `member` of the private `room` an owner or not;
    /// whether they are a member.
    pub async fn set_owner(
        &self,
        room: &RoomRecord,
        member: i64,
        owner: bool,
    ) -> Result<bool, StoreError> {
        let set = self.store.set_owner(room.id, member, owner).await?;
        self.know(room).await?;
        Ok(set)
    }

    /// Stores `invite` to its room, made by `creator`, unless the room
    /// holds [`MAX_INVITES`] live ones.
    pub async fn create_invite(
        &self,
        invite: &InviteRecord,
        creator: i64,
    ) -> Result<InviteCreated, StoreError> {
        let now = chrono::Utc::now().timestamp();
        self.store
            .create_invite(invite, creator, now, MAX_INVITES)
            .await
    }

    /// The private `room`'s live invites, newest first.
    pub async fn invites(&self, room: &RoomRecord) -> Result<Vec<InviteRecord>, StoreError> {
        let now = chrono::Utc::now().timestamp();
        self.store.invites_of(room.id, now).await
    }

    /// The live invite `code`'s room, if there is one.
    pub async fn invited_to(&self, code: &str) -> Result<Option<RoomRecord>, StoreError> {
        let now = chrono::Utc::now().timestamp();
        match self.store.invite(code, now).await? {
            Some(invite) => self.with_id(invite.room_id).await,
            None => Ok(None),
        }
    }

    /// Revokes the private `room`'s invite `code`; whether it had one.
    pub async fn revoke_invite(&self, room: &RoomRecord, code: &str) -> Result<bool, StoreError> {
        self.store.revoke_invite(room.id, code).await
    }

    /// Adds `account` to the room of the live invite `code`, taking one of
    /// its uses; the room, and whether they joined (or were in it).
    pub async fn use_invite(
        &self,
        code: &str,
        account: i64,
    ) -> Result<Option<(RoomRecord, MemberAdded)>, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let (room, added) = match self.store.use_invite(code, account, now).await? {
            InviteUsed::Joined(room) => (room, MemberAdded::Added),
            InviteUsed::Already(room) => (room, MemberAdded::Already),
            InviteUsed::RoomFull(room) => (room, MemberAdded::Full),
            InviteUsed::Gone => return Ok(None),
        };
        let Some(room) = self.with_id(room).await? else {
            return Ok(None);
        };
        self.know(&room).await?;
        Ok(Some((room, added)))
    }

    async fn refresh(&self) -> Result<(), StoreError> {
        let rooms = self.store.rooms().await?;
        self.reload_with(&rooms).await?;
        *self.write() = Known::new(rooms);
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        // Nothing is left half changed under the lock: a poisoned one is usable.
        self.known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_misses(&self) -> std::sync::MutexGuard<'_, HashMap<String, tokio::time::Instant>> {
        self.misses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The name of the direct conversation of the accounts `ids` (in order,
/// once each): `@3-17`.
fn direct_name(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{DIRECT_MARK}{}", ids.join("-"))
}

/// A room name that is one already.
fn taken() -> ValidationError {
    ValidationError {
        field: shared::Field::Room,
        rule: shared::Rule::Taken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    async fn rooms() -> (tempfile::TempDir, Rooms) {
        let (dir, store) = crate::testing::temp_store().await;
        (
            dir,
            Rooms::load(store, Visibility::default())
                .await
                .expect("loads"),
        )
    }

    #[tokio::test]
    async fn general_exists_from_the_start() {
        let (_dir, rooms) = rooms().await;
        assert_eq!(rooms.general().name, "general");
        let found = rooms.find("General").await.expect("reads");
        assert_eq!(found, Some(rooms.general()));
        let listed = rooms.list().await.expect("reads");
        assert_eq!(listed, vec![rooms.general()]);
    }

    #[tokio::test]
    async fn a_created_room_is_found_by_its_name_in_any_case() {
        let (_dir, rooms) = rooms().await;
        let store = rooms.store.clone();
        let creator = store
            .create_account("ada", "ada", "hash", 0)
            .await
            .expect("stores")
            .expect("new");
        let random = rooms
            .create("  Random ", RoomKind::Public, creator, HOME)
            .await
            .expect("created");
        assert_eq!(random.name, "Random");
        assert_eq!(rooms.find("random").await.expect("reads"), Some(random));
        assert_eq!(rooms.find("nowhere").await.expect("reads"), None);
        let err = rooms
            .create("RANDOM", RoomKind::Public, creator, HOME)
            .await
            .expect_err("taken");
        assert!(
            matches!(err, RoomError::Invalid(ref invalid) if invalid.rule == shared::Rule::Taken),
            "{err:?}"
        );
        let err = rooms
            .create("", RoomKind::Public, creator, HOME)
            .await
            .expect_err("empty");
        assert!(matches!(err, RoomError::Invalid(_)), "{err:?}");
        // Read again from the store: the same rooms.
        let reloaded = Rooms::load(store, Visibility::default())
            .await
            .expect("loads");
        assert_eq!(
            reloaded.list().await.expect("reads"),
            rooms.list().await.expect("reads")
        );
    }

    #[tokio::test]
    async fn on_a_shared_log_a_missing_name_is_asked_about_once_a_second() {
        let (_dir, mut rooms) = rooms().await;
        // As on PostgreSQL: rooms may be created where this server does
        // not see it.
        rooms.complete = false;
        let store = rooms.store.clone();
        assert_eq!(rooms.find("elsewhere").await.expect("reads"), None);
        // Another server creates it.
        let caps = RoomCaps {
            max_rooms: 10,
            max_per_creator: 10,
        };
        let created = store
            .create_room(
                "elsewhere",
                &name_key("elsewhere"),
                RoomKind::Public,
                None,
                0,
                caps,
            )
            .await
            .expect("stores");
        let RoomCreated::Created(elsewhere) = created else {
            panic!("{created:?}")
        };
        // Within the second, the miss stands: no read.
        assert_eq!(rooms.find("Elsewhere").await.expect("reads"), None);
        // A second later (the miss made that long ago).
        for asked in rooms.lock_misses().values_mut() {
            *asked -= MISS_AGE;
        }
        assert_eq!(
            rooms.find("elsewhere").await.expect("reads"),
            Some(elsewhere)
        );
        assert!(rooms.lock_misses().is_empty());
    }

    #[tokio::test]
    async fn a_room_named_as_a_conversation_before_the_rule_is_never_taken_for_it() {
        let (_dir, rooms) = rooms().await;
        let store = rooms.store.clone();
        let mut people = Vec::new();
        for name in ["ada", "bob"] {
            let id = store
                .create_account(name, name, "hash", 0)
                .await
                .expect("stores")
                .expect("new");
            people.push(id);
        }
        // A public room named as their conversation is, made before names
        // beginning with `@` were refused.
        let name = direct_name(&people);
        let caps = RoomCaps {
            max_rooms: 10,
            max_per_creator: 10,
        };
        store
            .create_room(&name, &name_key(&name), RoomKind::Public, None, 0, caps)
            .await
            .expect("stores");
        let known = Rooms::load(store, Visibility::default())
            .await
            .expect("loads");
        let err = known
            .direct(&people, people[0])
            .await
            .expect_err("not that room");
        assert!(
            matches!(err, RoomError::Invalid(ref invalid) if invalid.rule == shared::Rule::Taken),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn one_address_creates_a_few_rooms_a_day_whoever_is_signed_in() {
        let (_dir, rooms) = rooms().await;
        let mut made = 0;
        // Two accounts from one address: the second finds the address's
        // rooms of the day used up, though it made none itself.
        for account in 0..2 {
            let creator = rooms
                .store
                .create_account(
                    &format!("ada{account}"),
                    &format!("ada{account}"),
                    "hash",
                    0,
                )
                .await
                .expect("stores")
                .expect("new");
            for n in 0..ROOMS_PER_ACCOUNT {
                match rooms
                    .create(
                        &format!("room {account} {n}"),
                        RoomKind::Public,
                        creator,
                        HOME,
                    )
                    .await
                {
                    Ok(_) => made += 1,
                    Err(RoomError::TooManyFromAddress(wait)) => {
                        assert!(wait > Duration::from_secs(23 * 60 * 60), "{wait:?}");
                    }
                    Err(err) => panic!("{err:?}"),
                }
            }
        }
        assert_eq!(made, ROOMS_PER_ADDRESS_PER_DAY);
        // A refused name takes nothing; another address may.
        let creator = rooms
            .store
            .create_account("bob", "bob", "hash", 0)
            .await
            .expect("stores")
            .expect("new");
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));
        assert!(
            rooms
                .create("", RoomKind::Public, creator, elsewhere)
                .await
                .is_err()
        );
        rooms
            .create("bob's", RoomKind::Public, creator, elsewhere)
            .await
            .expect("another address");
    }
}
