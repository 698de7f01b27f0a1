//! The message log's contract, run against both backends: each test is
//! written once and run as `sqlite::<name>` and `postgres::<name>`.
//! Then what only a log with several writers must get right.

mod support;

use std::collections::BTreeSet;

use server::store::{
    Draft, Durability, Entry, InviteCreated, InviteRecord, InviteUsed, MemberAdded, Membership,
    RoomCaps, RoomCreated, RoomRecord, Store, StoreError, Stored,
};
use shared::{
    ChatMessage, NewMessage,
    room::{ReadPosition, RoomKind},
};
use uuid::Uuid;

/// `general`, as the migrations create it.
fn general() -> RoomRecord {
    RoomRecord {
        id: 1,
        name: "general".into(),
        kind: RoomKind::Public,
    }
}

fn draft(client_id: Uuid, text: &str) -> Draft {
    draft_in(&general(), client_id, text)
}

fn draft_in(room: &RoomRecord, client_id: Uuid, text: &str) -> Draft {
    Draft {
        client_id,
        room: room.clone(),
        message: NewMessage::parse("ada", text).expect("valid"),
        guest: true,
        reply: None,
    }
}

/// The messages of entries of a log that holds no change.
fn sent(entries: Vec<Entry>) -> Vec<ChatMessage> {
    assert!(
        entries.iter().all(|entry| !entry.is_change()),
        "{entries:?}"
    );
    entries.into_iter().map(|entry| entry.message).collect()
}

fn texts(page: &[ChatMessage]) -> Vec<String> {
    page.iter().map(|m| m.text.clone()).collect()
}

use support::contract;

contract!(
    ids_increase_in_insertion_order,
    repeated_client_id_returns_the_first_message,
    what_a_batch_returns_is_what_a_reader_reads,
    a_client_id_twice_in_one_batch_is_stored_once,
    a_large_batch_with_repeats_keeps_every_message_once_in_order,
    pages_walk_back_through_history,
    an_empty_log_has_no_newest_id,
    messages_are_counted_up_to_an_id,
    timestamps_read_back_as_stored,
    an_account_name_key_is_held_once,
    a_session_is_found_by_its_token_hash_until_it_ends,
    a_room_name_key_is_held_once,
    rooms_created_at_once_do_not_pass_the_caps,
    each_room_reads_its_own_messages_in_one_id_order,
    a_read_position_never_moves_back,
    a_private_room_is_made_with_its_owner_and_keeps_its_members,
    an_invite_lets_people_in_until_it_expires_runs_out_or_is_revoked,
);

async fn ids_increase_in_insertion_order(store: Store) {
    let drafts: Vec<_> = (0..5)
        .map(|i| draft(Uuid::new_v4(), &format!("m{i}")))
        .collect();
    let stored = store.insert_batch(&drafts).await.expect("stores");
    let ids: Vec<_> = stored.iter().map(|s| s.message().id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let messages: Vec<_> = stored.into_iter().map(Stored::into_message).collect();
    assert_eq!(texts(&messages), ["m0", "m1", "m2", "m3", "m4"]);
    let more = store
        .insert_batch(&[draft(Uuid::new_v4(), "m5")])
        .await
        .expect("stores");
    assert!(more[0].message().id > ids[4]);
    assert_eq!(
        store.newest_id().await.expect("reads"),
        Some(more[0].message().id)
    );
}

async fn repeated_client_id_returns_the_first_message(store: Store) {
    let id = Uuid::new_v4();
    let first = store
        .insert_batch(&[draft(id, "one")])
        .await
        .expect("stores");
    let again = store
        .insert_batch(&[draft(id, "two"), draft(id, "three")])
        .await
        .expect("stores");
    let Stored::New(original) = &first[0] else {
        panic!("first send should be new");
    };
    assert_eq!(
        again,
        [
            Stored::Existing(original.clone()),
            Stored::Existing(original.clone())
        ]
    );
    assert_eq!(store.newest(10).await.expect("reads").len(), 1);
}

async fn what_a_batch_returns_is_what_a_reader_reads(store: Store) {
    let old = store
        .insert_batch(&[draft(Uuid::now_v7(), "older")])
        .await
        .expect("stores");
    // One repeated id among new ones.
    let mixed = store
        .insert_batch(&[
            draft(Uuid::now_v7(), "a"),
            draft(old[0].message().client_id, "again"),
            draft(Uuid::now_v7(), "b"),
        ])
        .await
        .expect("stores");
    // All new, one of them an account's.
    let account_message = Draft {
        guest: false,
        ..draft(Uuid::now_v7(), "d")
    };
    let fresh = store
        .insert_batch(&[draft(Uuid::now_v7(), "c"), account_message])
        .await
        .expect("stores");
    assert!(fresh[0].message().guest);
    assert!(!fresh[1].message().guest);
    assert!(matches!(mixed[1], Stored::Existing(_)));
    let returned: Vec<ChatMessage> = [&old[..], &mixed[..], &fresh[..]]
        .concat()
        .into_iter()
        .filter_map(|s| match s {
            Stored::New(message) => Some(message),
            Stored::Existing(_) => None,
        })
        .collect();
    assert_eq!(store.newest(10).await.expect("reads"), returned);
}

async fn a_client_id_twice_in_one_batch_is_stored_once(store: Store) {
    let id = Uuid::new_v4();
    let other = Uuid::new_v4();
    let stored = store
        .insert_batch(&[draft(id, "one"), draft(other, "x"), draft(id, "two")])
        .await
        .expect("stores");
    let Stored::New(first) = &stored[0] else {
        panic!("first send should be new: {stored:?}");
    };
    assert!(matches!(&stored[1], Stored::New(m) if m.text == "x"));
    assert_eq!(stored[2], Stored::Existing(first.clone()));
    assert_eq!(store.newest(10).await.expect("reads").len(), 2);
}

async fn a_large_batch_with_repeats_keeps_every_message_once_in_order(store: Store) {
    // Larger than any one statement a writer may cut a batch into, with
    // repeats early, late and of an earlier batch.
    let earlier = store
        .insert_batch(&[draft(Uuid::now_v7(), "earlier")])
        .await
        .expect("stores");
    let mut drafts: Vec<Draft> = (0..150)
        .map(|i| draft(Uuid::now_v7(), &format!("m{i}")))
        .collect();
    drafts[70].client_id = drafts[3].client_id;
    drafts[140].client_id = earlier[0].message().client_id;
    drafts[141].client_id = drafts[140].client_id;
    let stored = store.insert_batch(&drafts).await.expect("stores");

    let repeats = [70, 140, 141];
    for (i, result) in stored.iter().enumerate() {
        match (repeats.contains(&i), result) {
            (false, Stored::New(message)) => assert_eq!(message.text, format!("m{i}")),
            (true, Stored::Existing(_)) => {}
            (_, other) => panic!("draft {i}: {other:?}"),
        }
    }
    assert_eq!(stored[70].message(), stored[3].message());
    assert_eq!(stored[140].message(), earlier[0].message());
    let new: Vec<ChatMessage> = stored
        .into_iter()
        .filter_map(|s| match s {
            Stored::New(message) => Some(message),
            Stored::Existing(_) => None,
        })
        .collect();
    assert_eq!(new.len(), 147);
    assert!(new.windows(2).all(|pair| pair[0].id < pair[1].id));
    let read = store
        .after(earlier[0].message().id, 200)
        .await
        .expect("reads");
    assert_eq!(sent(read), new);
}

async fn pages_walk_back_through_history(store: Store) {
    let drafts: Vec<_> = (1..=7)
        .map(|i| draft(Uuid::new_v4(), &format!("m{i}")))
        .collect();
    store.insert_batch(&drafts).await.expect("stores");
    let latest = store.latest(general().id, 3).await.expect("reads");
    assert_eq!(texts(&latest), ["m5", "m6", "m7"]);
    let older = store
        .before(general().id, latest[0].id, 3)
        .await
        .expect("reads");
    assert_eq!(texts(&older), ["m2", "m3", "m4"]);
    let newer = sent(store.after(older[2].id, 10).await.expect("reads"));
    assert_eq!(texts(&newer), ["m5", "m6", "m7"]);
    let first = sent(store.after(0, 2).await.expect("reads"));
    assert_eq!(texts(&first), ["m1", "m2"]);
}

async fn an_empty_log_has_no_newest_id(store: Store) {
    assert_eq!(store.newest_id().await.expect("reads"), None);
    assert!(store.newest(10).await.expect("reads").is_empty());
    assert!(store.after(0, 10).await.expect("reads").is_empty());
    store.ping().await.expect("answers");
}

async fn messages_are_counted_up_to_an_id(store: Store) {
    assert!(
        store
            .counts_through(i64::MAX)
            .await
            .expect("counts")
            .is_empty()
    );
    let random = create_room(&store, "random").await;
    let drafts: Vec<_> = (0..4)
        .map(|i| draft(Uuid::new_v4(), &format!("m{i}")))
        .chain([draft_in(&random, Uuid::new_v4(), "elsewhere")])
        .collect();
    let stored = store.insert_batch(&drafts).await.expect("stores");
    let second = stored[1].message().id;
    let counts = store.counts_through(second).await.expect("counts");
    assert_eq!(counts.get("general"), Some(&2));
    assert_eq!(counts.get("random"), None);
    let counts = store.counts_through(i64::MAX).await.expect("counts");
    assert_eq!(counts.get("general"), Some(&4));
    assert_eq!(counts.get("random"), Some(&1));
}

const NO_CAPS: RoomCaps = RoomCaps {
    max_rooms: 1000,
    max_per_creator: 1000,
};

async fn create_room(store: &Store, name: &str) -> RoomRecord {
    match store
        .create_room(
            name,
            &name.to_lowercase(),
            RoomKind::Public,
            None,
            1,
            NO_CAPS,
        )
        .await
        .expect("creates")
    {
        RoomCreated::Created(room) => room,
        other => panic!("{name}: {other:?}"),
    }
}

async fn rooms_created_at_once_do_not_pass_the_caps(store: Store) {
    let mut creators = Vec::new();
    for name in ["ada", "bob"] {
        let id = store
            .create_account(name, name, "hash", 1)
            .await
            .expect("creates")
            .expect("free");
        creators.push(id);
    }
    // general and 5 more; ada at most 3.
    let caps = RoomCaps {
        max_rooms: 6,
        max_per_creator: 3,
    };
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        let (name, creator) = (format!("ada{i}"), creators[0]);
        async move {
            store
                .create_room(&name, &name, RoomKind::Public, Some(creator), 1, caps)
                .await
        }
    });
    let made = futures::future::join_all(attempts).await;
    let created = made
        .iter()
        .filter(|made| matches!(made, Ok(RoomCreated::Created(_))))
        .count();
    assert_eq!(created, 3, "{made:?}");
    assert!(
        made.iter()
            .all(|made| matches!(made, Ok(RoomCreated::Created(_) | RoomCreated::CreatorFull))),
        "{made:?}"
    );
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        let (name, creator) = (format!("bob{i}"), creators[1]);
        async move {
            store
                .create_room(&name, &name, RoomKind::Public, Some(creator), 1, caps)
                .await
        }
    });
    let made = futures::future::join_all(attempts).await;
    let created = made
        .iter()
        .filter(|made| matches!(made, Ok(RoomCreated::Created(_))))
        .count();
    assert_eq!(created, 2, "the chat's cap: {made:?}");
    assert_eq!(store.rooms().await.expect("reads").len(), 6);
}

async fn a_room_name_key_is_held_once(store: Store) {
    assert_eq!(store.rooms().await.expect("reads"), [general()]);
    let random = create_room(&store, "Random").await;
    assert_eq!(random.name, "Random");
    let again = store
        .create_room("RANDOM", "random", RoomKind::Public, None, 2, NO_CAPS)
        .await;
    assert_eq!(
        again.expect("no error"),
        RoomCreated::Taken,
        "the key is taken"
    );
    let general_again = store
        .create_room("General", "general", RoomKind::Public, None, 2, NO_CAPS)
        .await;
    assert_eq!(
        general_again.expect("no error"),
        RoomCreated::Taken,
        "general exists"
    );
    assert_eq!(store.rooms().await.expect("reads"), [general(), random]);
}

async fn a_private_room_is_made_with_its_owner_and_keeps_its_members(store: Store) {
    let account = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .create_account(name, name, "hash", 0)
                .await
                .expect("stores")
                .expect("new")
        }
    };
    let (ada, bob) = (account("ada").await, account("bob").await);
    let RoomCreated::Created(secret) = store
        .create_room("secret", "secret", RoomKind::Private, Some(ada), 1, NO_CAPS)
        .await
        .expect("stores")
    else {
        panic!("created");
    };
    assert_eq!(secret.kind, RoomKind::Private);
    assert_eq!(store.rooms().await.expect("reads")[1], secret);
    let owner = Membership {
        room_id: secret.id,
        account_id: ada,
        owner: true,
    };
    assert_eq!(store.memberships().await.expect("reads"), [owner]);

    assert_eq!(
        store.add_member(secret.id, bob, 2).await.expect("adds"),
        MemberAdded::Added
    );
    assert_eq!(
        store.add_member(secret.id, bob, 3).await.expect("adds"),
        MemberAdded::Already
    );
    assert_eq!(
        store.member_names(secret.id).await.expect("reads"),
        [("ada".to_owned(), true), ("bob".to_owned(), false)]
    );
    assert!(store.set_owner(secret.id, bob, true).await.expect("sets"));
    assert!(store.remove_member(secret.id, ada).await.expect("removes"));
    assert!(!store.remove_member(secret.id, ada).await.expect("removes"));
    assert!(!store.set_owner(secret.id, ada, true).await.expect("sets"));
    assert_eq!(
        store.members_of(secret.id).await.expect("reads"),
        [Membership {
            room_id: secret.id,
            account_id: bob,
            owner: true,
        }]
    );
}

async fn each_room_reads_its_own_messages_in_one_id_order(store: Store) {
    let random = create_room(&store, "random").await;
    let drafts: Vec<_> = (1..=6)
        .map(|i| {
            let room = if i % 2 == 0 { &random } else { &general() };
            draft_in(room, Uuid::new_v4(), &format!("m{i}"))
        })
        .collect();
    let stored = store.insert_batch(&drafts).await.expect("stores");
    // What the insert answers names the room, as what is read back does.
    let rooms: Vec<_> = stored.iter().map(|s| s.message().room.clone()).collect();
    assert_eq!(
        rooms,
        [
            "general", "random", "general", "random", "general", "random"
        ]
    );
    let in_random = store.latest(random.id, 10).await.expect("reads");
    assert_eq!(texts(&in_random), ["m2", "m4", "m6"]);
    assert!(in_random.iter().all(|m| m.room == "random"));
    let older = store
        .before(random.id, in_random[1].id, 10)
        .await
        .expect("reads");
    assert_eq!(texts(&older), ["m2"]);
    let newer = store
        .after_in(general().id, stored[0].message().id, 10)
        .await
        .expect("reads");
    assert_eq!(texts(&newer), ["m3", "m5"]);
    // Every room together, in one id order: what a stream replays.
    let all = sent(store.after(0, 10).await.expect("reads"));
    assert_eq!(texts(&all), ["m1", "m2", "m3", "m4", "m5", "m6"]);
    assert_eq!(all[1].room, "random");
}

async fn a_read_position_never_moves_back(store: Store) {
    let account = store
        .create_account("ada", "ada", "hash", 1)
        .await
        .expect("creates")
        .expect("free");
    let random = create_room(&store, "random").await;
    let at = |last_read, count| ReadPosition { last_read, count };
    assert!(
        store
            .read_positions(account)
            .await
            .expect("reads")
            .is_empty()
    );
    store
        .mark_read(account, random.id, at(10, 4))
        .await
        .expect("marks");
    store
        .mark_read(account, random.id, at(7, 3))
        .await
        .expect("marks");
    store.mark_read(account, 1, at(12, 9)).await.expect("marks");
    let read = store.read_positions(account).await.expect("reads");
    assert_eq!(read.get("random"), Some(&at(10, 4)));
    assert_eq!(read.get("general"), Some(&at(12, 9)));
    store
        .mark_read(account, random.id, at(11, 5))
        .await
        .expect("marks");
    let read = store.read_positions(account).await.expect("reads");
    assert_eq!(read.get("random"), Some(&at(11, 5)));
}

async fn timestamps_read_back_as_stored(store: Store) {
    let stored = store
        .insert_batch(&[draft(Uuid::new_v4(), "now")])
        .await
        .expect("stores");
    let read = store.newest(1).await.expect("reads");
    assert_eq!(read[0].timestamp, stored[0].message().timestamp);
    let age = chrono::Utc::now() - read[0].timestamp;
    assert!(age.num_seconds().abs() < 60, "{age}");
}

async fn an_account_name_key_is_held_once(store: Store) {
    let id = store
        .create_account("Ada", "ada", "hash", 1)
        .await
        .expect("creates")
        .expect("free");
    let again = store.create_account("ADA", "ada", "hash", 2).await;
    assert_eq!(again.expect("no error"), None, "the key is taken");
    let account = store
        .account_by_key("ada")
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!((account.id, account.name.as_str()), (id, "Ada"));
    assert!(store.name_key_taken("ada").await.expect("reads"));
    assert!(!store.name_key_taken("bob").await.expect("reads"));
}

async fn a_session_is_found_by_its_token_hash_until_it_ends(store: Store) {
    let id = store
        .create_account("ada", "ada", "hash", 1)
        .await
        .expect("creates")
        .expect("free");
    let (token, other) = ([1u8; 32], [2u8; 32]);
    store.create_session(&token, id, 100).await.expect("stores");
    store.create_session(&other, id, 100).await.expect("stores");
    let found = store.session_account(&token, 100).await.expect("reads");
    assert_eq!(found.map(|(a, seen)| (a.id, seen)), Some((id, 100)));
    assert!(
        store
            .session_account(&token, 101)
            .await
            .expect("reads")
            .is_none()
    );
    store.touch_session(&token, 200).await.expect("touches");
    assert!(
        store
            .session_account(&token, 150)
            .await
            .expect("reads")
            .is_some()
    );
    store.delete_session(&token).await.expect("deletes");
    assert!(
        store
            .session_account(&token, 0)
            .await
            .expect("reads")
            .is_none()
    );
    assert_eq!(store.delete_idle_sessions(150).await.expect("deletes"), 1);
    assert!(
        store
            .session_account(&other, 0)
            .await
            .expect("reads")
            .is_none()
    );
}

/// Makes the database on `url` say that its name keys were made the first
/// way, as a database from before look-alike letters were folded does.
async fn mark_name_keys_made_the_first_way(url: &str) {
    use sqlx::Connection;
    const FIRST_WAY: &str = "UPDATE name_keys SET version = 1";
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url)
            .await
            .expect("connects");
        sqlx::query(FIRST_WAY)
            .execute(&mut connection)
            .await
            .expect("updates");
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connects");
        sqlx::query(FIRST_WAY)
            .execute(&mut connection)
            .await
            .expect("updates");
    }
}

/// Keys made the first way (lower case before the skeleton, rooms lower
/// case only) are made again as the store opens: each name is found by
/// its key as made now, and of two names that now look the same the
/// older keeps the key.
async fn name_keys_made_before_are_made_again_on_opening(url: &str) {
    use shared::names::name_key;
    let store = Store::open(url, Durability::Full).await.expect("opens");
    let mut made = Vec::new();
    // Each with the key the first way gave it.
    for (name, old_key) in [("biII", "biii"), ("paypal", "paypal"), ("paypaI", "paypai")] {
        let id = store
            .create_account(name, old_key, "hash", 1)
            .await
            .expect("creates")
            .expect("free");
        made.push(id);
    }
    let caps = RoomCaps {
        max_rooms: 10,
        max_per_creator: 10,
    };
    let created = store
        .create_room("Été", "été", RoomKind::Public, None, 1, caps)
        .await
        .expect("creates");
    let RoomCreated::Created(ete) = created else {
        panic!("{created:?}")
    };
    drop(store);
    mark_name_keys_made_the_first_way(url).await;

    let store = Store::open(url, Durability::Full)
        .await
        .expect("opens again");
    let found = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .account_by_key(&name_key(name))
                .await
                .expect("reads")
                .map(|account| account.id)
        }
    };
    assert_eq!(found("BILL").await, Some(made[0]), "remade: bill's key");
    assert_eq!(
        found("paypaI").await,
        Some(made[1]),
        "the older holds the key"
    );
    let newer = store.account_by_key("paypai").await.expect("reads");
    assert_eq!(
        newer.map(|a| a.id),
        Some(made[2]),
        "the newer keeps its old key"
    );
    let room = store.room_by_key(&name_key("ÉTÉ")).await.expect("reads");
    assert_eq!(room, Some(ete));
}

#[tokio::test]
async fn sqlite_name_keys_made_before_are_made_again_on_opening() {
    let (_dir, path) = support::temp_database();
    name_keys_made_before_are_made_again_on_opening(&format!("sqlite://{}", path.display())).await;
}

#[tokio::test]
async fn postgres_name_keys_made_before_are_made_again_on_opening() {
    if let Some(url) = support::postgres::fresh_database().await {
        name_keys_made_before_are_made_again_on_opening(&url).await;
    }
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    // Each connection (the writer's and every reader's) would see a
    // database of its own: messages would be stored where no reader looks.
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://chat.db?mode=memory",
    ] {
        let opened = Store::open(url, Durability::Full).await;
        assert!(
            matches!(opened, Err(StoreError::UnsupportedUrl(_))),
            "{url}: {opened:?}"
        );
    }
}

/// Two servers on one PostgreSQL database.
async fn two_postgres_servers() -> Option<(Store, Store)> {
    let url = support::postgres::fresh_database().await?;
    let one = Store::open(&url, Durability::Full).await.expect("opens");
    let two = Store::open(&url, Durability::Full).await.expect("opens");
    Some((one, two))
}

#[tokio::test]
async fn postgres_ids_become_visible_in_id_order_whichever_server_takes_them() {
    let Some((one, two)) = two_postgres_servers().await else {
        return;
    };
    const WRITERS_PER_SERVER: usize = 3;
    const BATCHES: usize = 40;
    let total = (2 * WRITERS_PER_SERVER * BATCHES * 2) as i64;
    // Readers follow the log as streams do: each asks for what comes after
    // the newest id it has, and must end with every id exactly once.
    let readers: Vec<_> = (0..3)
        .map(|i| {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut newest = 0;
                while (seen.len() as i64) < total {
                    let page = store.after(newest, 50).await.expect("reads");
                    for message in page {
                        newest = message.id;
                        seen.push(message.id);
                    }
                    tokio::task::yield_now().await;
                }
                seen
            })
        })
        .collect();
    let writers: Vec<_> = (0..2 * WRITERS_PER_SERVER)
        .map(|i| {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move {
                let mut writer = store.writer().await.expect("writer");
                for batch in 0..BATCHES {
                    let drafts = [
                        draft(Uuid::now_v7(), &format!("w{i} b{batch} a")),
                        draft(Uuid::now_v7(), &format!("w{i} b{batch} b")),
                    ];
                    writer.insert_batch(&drafts).await.expect("stores");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let every_id: Vec<i64> = (1..=total).collect();
    for reader in readers {
        let seen = tokio::time::timeout(std::time::Duration::from_secs(30), reader)
            .await
            .expect("every reader sees everything")
            .expect("reader");
        assert_eq!(seen, every_id, "a reader missed or repeated an id");
    }
}

#[tokio::test]
async fn postgres_a_send_retried_on_another_server_is_stored_once() {
    let Some((one, two)) = two_postgres_servers().await else {
        return;
    };
    for round in 0..20 {
        let client_id = Uuid::new_v4();
        let attempt = [draft(client_id, &format!("retried {round}"))];
        let (a, b) = tokio::join!(one.insert_batch(&attempt), two.insert_batch(&attempt));
        let (a, b) = (a.expect("stores"), b.expect("stores"));
        let new = [&a[0], &b[0]]
            .iter()
            .filter(|s| matches!(s, Stored::New(_)))
            .count();
        assert_eq!(new, 1, "exactly one attempt stores it: {a:?} {b:?}");
        assert_eq!(a[0].message(), b[0].message());
    }
    let stored = sent(one.after(0, 100).await.expect("reads"));
    let client_ids: BTreeSet<_> = stored.iter().map(|m| m.client_id).collect();
    assert_eq!(stored.len(), 20);
    assert_eq!(client_ids.len(), 20);
}

async fn an_invite_lets_people_in_until_it_expires_runs_out_or_is_revoked(store: Store) {
    let mut accounts = Vec::new();
    for name in ["ada", "bob", "cara", "dan", "eve", "fay"] {
        let id = store
            .create_account(name, name, "hash", 0)
            .await
            .expect("stores")
            .expect("new");
        accounts.push(id);
    }
    let ada = accounts[0];
    let RoomCreated::Created(secret) = store
        .create_room("secret", "secret", RoomKind::Private, Some(ada), 1, NO_CAPS)
        .await
        .expect("stores")
    else {
        panic!("created");
    };
    let invite = |code: &str, expires_at: i64, uses_left: Option<i64>| InviteRecord {
        code: code.into(),
        room_id: secret.id,
        expires_at,
        uses_left,
    };
    // One use, until 100.
    let once = invite("once", 100, Some(1));
    assert_eq!(
        store
            .create_invite(&once, ada, 10, 2)
            .await
            .expect("stores"),
        InviteCreated::Created
    );
    assert_eq!(
        store.invite("once", 99).await.expect("reads"),
        Some(once.clone())
    );
    assert_eq!(store.invite("once", 100).await.expect("reads"), None);
    // Expired: nobody joins, no use taken.
    assert_eq!(
        store
            .use_invite("once", accounts[1], 100)
            .await
            .expect("uses"),
        InviteUsed::Gone
    );
    // A member already takes no use.
    assert_eq!(
        store.use_invite("once", ada, 20).await.expect("uses"),
        InviteUsed::Already(secret.id)
    );
    // Four people use its one use at once: one joins.
    let tries = accounts[1..5].iter().map(|&account| {
        let store = store.clone();
        async move { store.use_invite("once", account, 20).await }
    });
    let used = futures::future::join_all(tries).await;
    let joined = used
        .iter()
        .filter(|used| matches!(used, Ok(InviteUsed::Joined(room)) if *room == secret.id))
        .count();
    assert_eq!(joined, 1, "{used:?}");
    assert!(
        used.iter()
            .all(|used| matches!(used, Ok(InviteUsed::Joined(_) | InviteUsed::Gone))),
        "{used:?}"
    );
    assert_eq!(store.members_of(secret.id).await.expect("reads").len(), 2);
    assert_eq!(store.invite("once", 20).await.expect("reads"), None);

    // Any number of uses; two live at most (the used-up one is not live).
    let open = invite("open", 1000, None);
    assert_eq!(
        store
            .create_invite(&open, ada, 20, 2)
            .await
            .expect("stores"),
        InviteCreated::Created
    );
    assert_eq!(
        store
            .create_invite(&invite("more", 1000, None), ada, 20, 2)
            .await
            .expect("stores"),
        InviteCreated::Created
    );
    assert_eq!(
        store
            .create_invite(&invite("extra", 1000, None), ada, 20, 2)
            .await
            .expect("stores"),
        InviteCreated::Full
    );
    assert_eq!(
        store
            .invites_of(secret.id, 20)
            .await
            .expect("reads")
            .iter()
            .map(|invite| invite.code.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["more", "open"])
    );
    assert_eq!(
        store
            .use_invite("open", accounts[5], 30)
            .await
            .expect("uses"),
        InviteUsed::Joined(secret.id)
    );
    assert_eq!(
        store.invite("open", 30).await.expect("reads"),
        Some(open),
        "no limit: as it was"
    );
    // Revoked: gone.
    assert!(
        store
            .revoke_invite(secret.id, "open")
            .await
            .expect("revokes")
    );
    assert!(
        !store
            .revoke_invite(secret.id, "open")
            .await
            .expect("revokes")
    );
    assert_eq!(
        store.use_invite("open", ada, 30).await.expect("uses"),
        InviteUsed::Gone
    );
}
