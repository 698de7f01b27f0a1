//! Changes to messages (edits, deletions) as entries of the log: the
//! store's contract on both backends, then the JSON API and the stream.

mod support;

use serde_json::{Value, json};
use server::store::{Actor, ChangeDraft, Changed, Draft, Edit, Entry, Refusal, RoomRecord, Store};
use shared::{ChatMessage, MessageId, NewMessage};
use support::{contract, error_body, spawn_app};
use uuid::Uuid;

fn general() -> RoomRecord {
    RoomRecord {
        id: 1,
        name: "general".into(),
        kind: Default::default(),
    }
}

/// Stores `text` by the account `author` (or, `guest`, by a guest of that
/// name) and returns it.
async fn sent(store: &Store, author: &str, text: &str, guest: bool) -> ChatMessage {
    let draft = Draft {
        client_id: Uuid::now_v7(),
        room: general(),
        message: NewMessage::parse(author, text).expect("valid"),
        guest,
        reply: None,
    };
    store.insert_batch(&[draft]).await.expect("stores")[0]
        .message()
        .clone()
}

fn change(message: MessageId, author: &str, edit: Edit) -> ChangeDraft {
    ChangeDraft {
        client_id: Uuid::now_v7(),
        message,
        room: None,
        by: Actor::Account(author.into()),
        edit,
        moderation: None,
    }
}

fn edit(message: MessageId, text: &str) -> ChangeDraft {
    change(message, "ada", Edit::Text(text.into()))
}

fn delete(message: MessageId) -> ChangeDraft {
    change(message, "ada", Edit::Delete)
}

async fn applied(store: &Store, draft: &ChangeDraft) -> Entry {
    match store.change(draft).await.expect("stores") {
        Changed::New(entry) => entry,
        other => panic!("not applied: {other:?}"),
    }
}

fn ids(entries: &[Entry]) -> Vec<(MessageId, MessageId)> {
    entries.iter().map(|e| (e.id, e.message.id)).collect()
}

contract!(
    edits_and_deletions_take_the_next_ids_and_replay_in_order,
    a_message_reads_as_it_now_is_after_any_changes,
    a_change_is_applied_once_per_client_id,
    refused_changes_store_nothing,
    reactions_count_each_person_once_and_leave_with_the_message,
    a_reply_quotes_what_it_answers_as_it_now_is,
);

async fn a_reply_quotes_what_it_answers_as_it_now_is(store: Store) {
    let original = sent(&store, "ada", "which release?", false).await;
    let draft = Draft {
        client_id: Uuid::now_v7(),
        room: general(),
        message: NewMessage::parse("bob", "the next one").expect("valid"),
        guest: true,
        reply: Some(shared::message::Quote::of(&original)),
    };
    let reply = store.insert_batch(&[draft]).await.expect("stores")[0]
        .message()
        .clone();
    assert_eq!(reply.reply_to, Some(original.id));
    let quote = reply.quote.clone().expect("quoted");
    assert_eq!(
        (quote.username.as_str(), quote.text.as_str()),
        ("ada", "which release?")
    );
    // Read back, the quote is the original as it now is.
    applied(&store, &edit(original.id, "which release, 2 or 3?")).await;
    let read = store.message(reply.id).await.expect("reads").expect("held");
    assert_eq!(read.quote.expect("quoted").text, "which release, 2 or 3?");
    applied(&store, &delete(original.id)).await;
    let page = store.latest(general().id, 10).await.expect("reads");
    let quote = page[1].quote.clone().expect("quoted");
    assert!(quote.deleted && quote.text.is_empty(), "{quote:?}");
    let replayed = store.after(original.id, 10).await.expect("reads");
    assert_eq!(replayed[0].message.reply_to, Some(original.id));
    assert!(
        replayed[0]
            .message
            .quote
            .as_ref()
            .is_some_and(|q| q.deleted)
    );
}

fn react(message: MessageId, by: Actor, reaction: &str, on: bool) -> ChangeDraft {
    ChangeDraft {
        client_id: Uuid::now_v7(),
        message,
        room: None,
        by,
        edit: Edit::React {
            reaction: reaction.into(),
            on,
        },
        moderation: None,
    }
}

fn guest(name: &str) -> Actor {
    Actor::Guest {
        browser: Uuid::new_v4(),
        name: name.into(),
    }
}

async fn reactions_count_each_person_once_and_leave_with_the_message(store: Store) {
    let message = sent(&store, "ada", "ship it?", false).await;
    let bob = Actor::Account("bob".into());
    let cy = guest("cy");
    let first = applied(&store, &react(message.id, bob.clone(), "👍", true)).await;
    assert_eq!(
        first.id,
        message.id + 1,
        "a reaction is an entry of the log"
    );
    applied(&store, &react(message.id, cy.clone(), "👍", true)).await;
    let party = applied(&store, &react(message.id, bob.clone(), "🎉", true)).await;
    let shown = &party.message.reactions;
    assert_eq!(shown.len(), 2);
    assert_eq!((shown[0].reaction.as_str(), shown[0].count), ("👍", 2));
    assert_eq!(shown[0].people, ["bob"]);
    assert_eq!(shown[0].guests, ["cy"]);
    assert_eq!((shown[1].reaction.as_str(), shown[1].count), ("🎉", 1));
    // Given twice: once. Taken back when not given: nothing.
    let again = store
        .change(&react(message.id, bob.clone(), "👍", true))
        .await;
    assert!(matches!(again.expect("answers"), Changed::Existing(m) if m.reactions[0].count == 2));
    let absent = store
        .change(&react(message.id, guest("dee"), "🎉", false))
        .await;
    assert!(matches!(absent.expect("answers"), Changed::Existing(_)));
    // Taken back: the count falls, and a reaction nobody gives leaves.
    let fewer = applied(&store, &react(message.id, bob.clone(), "👍", false)).await;
    assert_eq!(fewer.message.reactions[0].count, 1);
    assert_eq!(fewer.message.reactions[0].people, Vec::<String>::new());
    let gone = applied(&store, &react(message.id, bob.clone(), "🎉", false)).await;
    assert_eq!(gone.message.reactions.len(), 1);
    // Read back as it now is; a deletion takes the reactions with it.
    let now = store
        .message(message.id)
        .await
        .expect("reads")
        .expect("held");
    assert_eq!(now.reactions, gone.message.reactions);
    let deleted = applied(&store, &delete(message.id)).await.message;
    assert!(deleted.reactions.is_empty());
    assert_eq!(
        store
            .change(&react(message.id, cy, "👍", true))
            .await
            .expect("answers"),
        Changed::Refused(Refusal::Deleted)
    );
    let log = store.after(message.id, 100).await.expect("reads");
    assert_eq!(
        log.len(),
        6,
        "three given, two taken back, one deletion: {log:?}"
    );
}

async fn edits_and_deletions_take_the_next_ids_and_replay_in_order(store: Store) {
    let first = sent(&store, "ada", "helo", false).await;
    let second = sent(&store, "ada", "oops", false).await;
    let edited = applied(&store, &edit(first.id, "hello")).await;
    assert_eq!(edited.id, second.id + 1, "the next id of the log");
    assert!(edited.is_change());
    assert_eq!(edited.message.text, "hello");
    assert!(edited.message.edited.is_some());
    let third = sent(&store, "ada", "after", false).await;
    assert_eq!(third.id, edited.id + 1, "a message follows the change");
    let deleted = applied(&store, &delete(second.id)).await;
    assert_eq!(deleted.id, third.id + 1);
    assert_eq!(store.newest_id().await.expect("reads"), Some(deleted.id));

    // Every entry after any id, once, in order, each as it now is.
    let log = store.after(0, 100).await.expect("reads");
    assert_eq!(
        ids(&log),
        [
            (first.id, first.id),
            (second.id, second.id),
            (edited.id, first.id),
            (third.id, third.id),
            (deleted.id, second.id),
        ]
    );
    assert_eq!(log[0].message.text, "hello");
    assert!(log[1].message.deleted && log[1].message.text.is_empty());
    let rest = store.after(edited.id, 100).await.expect("reads");
    assert_eq!(ids(&rest), [(third.id, third.id), (deleted.id, second.id)]);
    let limited = store.after(first.id, 2).await.expect("reads");
    assert_eq!(
        ids(&limited),
        [(second.id, second.id), (edited.id, first.id)]
    );
    let newest = store.newest_entries(2).await.expect("reads");
    assert_eq!(
        ids(&newest),
        [(third.id, third.id), (deleted.id, second.id)]
    );
    // A change adds no message.
    let counts = store.counts_through(deleted.id).await.expect("counts");
    assert_eq!(counts.get("general"), Some(&3));
}

async fn a_message_reads_as_it_now_is_after_any_changes(store: Store) {
    let message = sent(&store, "ada", "one", false).await;
    applied(&store, &edit(message.id, "two")).await;
    let last = applied(&store, &edit(message.id, "three")).await;
    let now = store
        .message(message.id)
        .await
        .expect("reads")
        .expect("held");
    assert_eq!(now.text, "three");
    assert_eq!(now.edited, last.message.edited);
    assert_eq!((now.id, now.client_id), (message.id, message.client_id));
    assert_eq!(now.timestamp, message.timestamp, "sent when it was sent");
    assert_eq!(
        store.versions(message.id).await.expect("reads"),
        ["one", "two"]
    );
    let history = store.latest(1, 10).await.expect("reads");
    assert_eq!(history, [now]);

    let gone = applied(&store, &delete(message.id)).await.message;
    assert!(gone.deleted);
    assert_eq!(gone.text, "");
    assert_eq!(gone.username, "ada");
    // Its text is gone from every table, the versions too.
    assert!(store.versions(message.id).await.expect("reads").is_empty());
    assert_eq!(store.message(message.id).await.expect("reads"), Some(gone));
}

async fn a_change_is_applied_once_per_client_id(store: Store) {
    let message = sent(&store, "ada", "one", false).await;
    let draft = edit(message.id, "two");
    let entry = applied(&store, &draft).await;
    // A retry, even with another text: applied once, answered as it now is.
    let retry = ChangeDraft {
        edit: Edit::Text("three".into()),
        ..draft.clone()
    };
    assert_eq!(
        store.change(&retry).await.expect("stores"),
        Changed::Existing(entry.message.clone())
    );
    let removal = delete(message.id);
    let deleted = applied(&store, &removal).await;
    assert!(matches!(
        store.change(&removal).await.expect("stores"),
        Changed::Existing(m) if m == deleted.message
    ));
    // Deleting again with a new client id changes nothing either.
    assert!(matches!(
        store.change(&delete(message.id)).await.expect("stores"),
        Changed::Existing(m) if m.deleted
    ));
    // The same text again is no change.
    let other = sent(&store, "ada", "same", false).await;
    assert!(matches!(
        store.change(&edit(other.id, "same")).await.expect("stores"),
        Changed::Existing(m) if m.edited.is_none()
    ));
    let log = store.after(0, 100).await.expect("reads");
    assert_eq!(
        ids(&log),
        [
            (message.id, message.id),
            (entry.id, message.id),
            (deleted.id, message.id),
            (other.id, other.id),
        ]
    );
}

async fn refused_changes_store_nothing(store: Store) {
    let adas = sent(&store, "ada", "mine", false).await;
    let guests = sent(&store, "ada", "a guest's", true).await;
    let newest = store.newest_id().await.expect("reads");
    let refused = |draft: ChangeDraft| {
        let store = store.clone();
        async move {
            match store.change(&draft).await.expect("answers") {
                Changed::Refused(refusal) => refusal,
                other => panic!("not refused: {other:?}"),
            }
        }
    };
    assert_eq!(
        refused(change(adas.id, "bob", Edit::Text("bob's now".into()))).await,
        Refusal::NotAuthor
    );
    assert_eq!(
        refused(change(adas.id, "bob", Edit::Delete)).await,
        Refusal::NotAuthor
    );
    // A guest's message is nobody's, not even an account of that name's.
    assert_eq!(refused(delete(guests.id)).await, Refusal::NotAuthor);
    assert_eq!(
        refused(edit(newest.unwrap_or(0) + 10, "x")).await,
        Refusal::NoSuchMessage
    );
    let elsewhere = ChangeDraft {
        room: Some(general().id + 1),
        ..edit(adas.id, "moved")
    };
    assert_eq!(refused(elsewhere).await, Refusal::NoSuchMessage);
    applied(&store, &delete(adas.id)).await;
    let newest = store.newest_id().await.expect("reads");
    assert_eq!(refused(edit(adas.id, "back")).await, Refusal::Deleted);

    assert_eq!(store.newest_id().await.expect("reads"), newest);
    let now = store
        .message(guests.id)
        .await
        .expect("reads")
        .expect("held");
    assert_eq!((now.text.as_str(), now.deleted), ("a guest's", false));
    assert!(store.versions(adas.id).await.expect("reads").is_empty());
}

#[tokio::test]
async fn a_deleted_text_is_gone_from_the_sqlite_file() {
    let (dir, path) = support::temp_database();
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url, server::store::Durability::Full)
        .await
        .expect("opens");
    let secret = "my-password-is-swordfish-0451";
    let message = sent(&store, "ada", secret, false).await;
    applied(&store, &edit(message.id, &format!("{secret} (edited)"))).await;
    applied(&store, &delete(message.id)).await;
    store.close().await;
    drop(store);
    for file in std::fs::read_dir(path.parent().expect("folder")).expect("lists") {
        let file = file.expect("entry").path();
        let bytes = std::fs::read(&file).expect("reads");
        let at = bytes
            .windows(secret.len())
            .position(|w| w == secret.as_bytes());
        assert_eq!(at, None, "the deleted text is still in {}", file.display());
    }
    drop(dir);
}

// The JSON API and the stream.

/// Signs up `name` on `app` and sends `text` to `general` as them.
async fn signed_up_and_sent(app: &support::TestApp, name: &str, text: &str) -> (String, Value) {
    let cookie = app.signed_up(name).await;
    let response = app
        .client
        .post(app.url("/api/messages"))
        .header("cookie", &cookie)
        .json(&json!({ "username": "", "text": text }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    (cookie, response.json().await.expect("json"))
}

async fn patch(
    app: &support::TestApp,
    cookie: Option<&str>,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    let mut request = app.client.patch(app.url(path)).json(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("request")
}

async fn delete_at(app: &support::TestApp, cookie: Option<&str>, path: &str) -> reqwest::Response {
    let mut request = app.client.delete(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn an_author_edits_and_deletes_and_every_stream_gets_each_change_once() {
    let app = spawn_app().await;
    let mut stream = app.events("", None).await;
    let (ada, message) = signed_up_and_sent(&app, "ada", "helo").await;
    let id = message["id"].as_i64().expect("id");
    assert_eq!(message["edited"], Value::Null);
    assert_eq!(message["deleted"], false);

    let response = patch(
        &app,
        Some(&ada),
        &format!("/api/messages/{id}"),
        &json!({ "text": "  hello\r\nworld ", "client_id": Uuid::now_v7() }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["chat-entry-id"],
        (id + 1).to_string().as_str(),
        "the change's own place in the log"
    );
    let edited: Value = response.json().await.expect("json");
    assert_eq!(edited["id"], id);
    assert_eq!(edited["text"], "hello\nworld", "the text rules apply");
    assert!(edited["edited"].is_string());

    let response = delete_at(
        &app,
        Some(&ada),
        &format!("/api/rooms/general/messages/{id}"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let deleted: Value = response.json().await.expect("json");
    assert_eq!(
        (deleted["deleted"].clone(), deleted["text"].clone()),
        (json!(true), json!(""))
    );

    let entries = stream.take_entries(3).await;
    assert_eq!(entries[0].0, id);
    assert_eq!(entries[0].1, None, "a new message has the default type");
    assert_eq!(entries[1].0, id + 1);
    assert_eq!(entries[1].1.as_deref(), Some("change"));
    assert_eq!(entries[1].2, edited);
    assert_eq!(entries[2].0, id + 2);
    assert_eq!(entries[2].2, deleted);

    // A page that resumes after the message gets both changes, once.
    let mut resumed = app.events("", Some(id)).await;
    let replay = resumed.take_entries(2).await;
    assert_eq!(
        replay.iter().map(|e| e.0).collect::<Vec<_>>(),
        [id + 1, id + 2]
    );
    assert_eq!(replay[1].2, deleted);
    // History shows it as it now is; it still counts as a message.
    let history = app.history("").await;
    assert_eq!(history, [deleted]);
    let next = app.send("bob", "next").await;
    assert_eq!(next["id"], id + 3, "the log goes on after the changes");
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_signed_in_author_may_change_a_message() {
    let app = spawn_app().await;
    let (ada, message) = signed_up_and_sent(&app, "ada", "mine").await;
    let id = message["id"].as_i64().expect("id");
    let path = format!("/api/messages/{id}");
    let bob = app.signed_up("bob").await;
    let text = json!({ "text": "bob was here" });

    let refusal = |response: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(response.status(), status);
        let body = error_body(response).await;
        assert_eq!(body["error"]["code"], code, "{body}");
        body
    };
    refusal(
        patch(&app, Some(&bob), &path, &text).await,
        403,
        "not_author",
    )
    .await;
    refusal(delete_at(&app, Some(&bob), &path).await, 403, "not_author").await;
    let guest = refusal(patch(&app, None, &path, &text).await, 401, "unauthorized").await;
    assert_eq!(guest["error"]["message"], "sign in to edit your messages");
    // A guest's message is nobody's to change.
    let guests = app.send("carol", "a guest's").await;
    let guests_path = format!("/api/messages/{}", guests["id"]);
    refusal(
        delete_at(&app, Some(&ada), &guests_path).await,
        403,
        "not_author",
    )
    .await;
    refusal(
        patch(&app, Some(&ada), "/api/messages/999", &text).await,
        404,
        "no_such_message",
    )
    .await;
    refusal(
        patch(&app, Some(&ada), "/api/messages/abc", &text).await,
        400,
        "invalid_path",
    )
    .await;
    let elsewhere = format!("/api/rooms/nowhere/messages/{id}");
    refusal(
        patch(&app, Some(&ada), &elsewhere, &text).await,
        404,
        "no_such_room",
    )
    .await;
    let empty = refusal(
        patch(&app, Some(&ada), &path, &json!({ "text": " " })).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(empty["error"]["rule"], "required");

    // Nothing refused was stored or broadcast: the log holds two messages.
    let mut stream = app.events("", Some(0)).await;
    let entries = stream.take_entries(2).await;
    assert!(entries.iter().all(|entry| entry.1.is_none()), "{entries:?}");
    assert_eq!(app.history("").await[0]["text"], "mine");

    let response = delete_at(&app, Some(&ada), &path).await;
    assert_eq!(response.status(), 200);
    let deleted = refusal(
        patch(&app, Some(&ada), &path, &text).await,
        409,
        "message_deleted",
    )
    .await;
    assert_eq!(deleted["error"]["message"], "this message was deleted");
    app.shutdown().await;
}

#[tokio::test]
async fn a_change_from_another_site_is_refused() {
    let app = spawn_app().await;
    let (ada, message) = signed_up_and_sent(&app, "ada", "mine").await;
    let response = app
        .client
        .delete(app.url(&format!("/api/messages/{}", message["id"])))
        .header("cookie", &ada)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    assert_eq!(error_body(response).await["error"]["code"], "cross_site");
    assert_eq!(app.history("").await[0]["deleted"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_author_sees_the_texts_an_edit_replaced() {
    let app = spawn_app().await;
    let (ada, message) = signed_up_and_sent(&app, "ada", "first").await;
    let id = message["id"].as_i64().expect("id");
    for text in ["second", "third"] {
        let response = patch(
            &app,
            Some(&ada),
            &format!("/api/messages/{id}"),
            &json!({ "text": text }),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let versions = |cookie: Option<String>| {
        let mut request = app
            .client
            .get(app.url(&format!("/api/messages/{id}/versions")));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move { request.send().await.expect("request") }
    };
    let response = versions(Some(ada.clone())).await;
    assert_eq!(response.status(), 200);
    let texts: Vec<String> = response.json().await.expect("json");
    assert_eq!(texts, ["first", "second"]);
    let bob = app.signed_up("bob").await;
    assert_eq!(versions(Some(bob)).await.status(), 403);
    assert_eq!(versions(None).await.status(), 401);
    // A deletion takes the versions with the text.
    assert_eq!(
        delete_at(&app, Some(&ada), &format!("/api/messages/{id}"))
            .await
            .status(),
        200
    );
    let texts: Vec<String> = versions(Some(ada)).await.json().await.expect("json");
    assert!(texts.is_empty(), "{texts:?}");
    app.shutdown().await;
}

/// `PUT` or `DELETE /api/messages/<id>/reactions/<reaction>`, the reaction
/// percent-encoded as a browser would.
async fn reaction(
    app: &support::TestApp,
    on: bool,
    cookie: Option<&str>,
    id: &Value,
    reaction: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let id = id.as_i64().expect("an id");
    let url = app.url(&shared::message::reaction_path(id, reaction));
    let mut request = if on {
        app.client.put(url)
    } else {
        app.client.delete(url)
    };
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn accounts_and_guests_react_once_each_and_every_stream_sees_it() {
    let app = spawn_app().await;
    let (ada, message) = signed_up_and_sent(&app, "ada", "ship it?").await;
    let id = &message["id"];
    let mut stream = app.events("", message["id"].as_i64()).await;
    let response = reaction(&app, true, Some(&ada), id, "👍", None).await;
    assert_eq!(response.status(), 200);
    let browser = Uuid::new_v4();
    let guest = json!({ "browser": browser, "name": "cy" });
    let response = reaction(&app, true, None, id, "👍", Some(guest.clone())).await;
    assert_eq!(response.status(), 200);
    // The same browser again is the same guest, under any name.
    let again = json!({ "browser": browser, "name": "cy2" });
    let response = reaction(&app, true, None, id, "👍", Some(again)).await;
    let now: Value = response.json().await.expect("json");
    assert_eq!(
        now["reactions"],
        json!([{ "reaction": "👍", "count": 2, "people": ["ada"], "guests": ["cy"] }])
    );
    let response = reaction(&app, true, Some(&ada), id, "ship it", None).await;
    assert_eq!(response.status(), 200, "a short word is a reaction too");
    let response = reaction(&app, false, Some(&ada), id, "👍", None).await;
    let now: Value = response.json().await.expect("json");
    assert_eq!(now["reactions"][0]["count"], 1);

    let entries = stream.take_entries(4).await;
    assert!(
        entries
            .iter()
            .all(|entry| entry.1.as_deref() == Some("change"))
    );
    assert_eq!(
        entries[3].2, now,
        "the last change carries the message as it now is"
    );
    assert_eq!(app.history("").await, [now]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_reaction_that_breaks_the_rules_is_refused_with_the_rule() {
    let app =
        support::spawn_app_with(|config| config.send_limit = server::rate::RateLimit::Off).await;
    let (ada, message) = signed_up_and_sent(&app, "ada", "hello").await;
    let id = &message["id"];
    let refused = |response: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(response.status(), status);
        let body = error_body(response).await;
        assert_eq!(body["error"]["code"], code, "{body}");
        body
    };
    let long = refused(
        reaction(&app, true, Some(&ada), id, "a reaction far too long", None).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        (
            long["error"]["field"].clone(),
            long["error"]["rule"].clone()
        ),
        (json!("reaction"), json!("too_long"))
    );
    let hidden = refused(
        reaction(&app, true, Some(&ada), id, "ok\u{200B}", None).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(hidden["error"]["rule"], "invisible_character");
    refused(
        reaction(&app, true, None, id, "👍", None).await,
        422,
        "invalid_body",
    )
    .await;
    let nameless = json!({ "browser": Uuid::new_v4() });
    refused(
        reaction(&app, true, None, id, "👍", Some(nameless)).await,
        422,
        "validation",
    )
    .await;
    let taken = json!({ "browser": Uuid::new_v4(), "name": "ada" });
    refused(
        reaction(&app, true, None, id, "👍", Some(taken)).await,
        422,
        "validation",
    )
    .await;
    refused(
        reaction(&app, true, Some(&ada), &json!(999), "👍", None).await,
        404,
        "no_such_message",
    )
    .await;
    for kind in 0..shared::message::MAX_REACTIONS {
        let response = reaction(&app, true, Some(&ada), id, &format!("r{kind}"), None).await;
        assert_eq!(response.status(), 200);
    }
    let bob = app.signed_up("bob").await;
    refused(
        reaction(&app, true, Some(&bob), id, "one more", None).await,
        409,
        "too_many_reactions",
    )
    .await;
    let response = reaction(&app, true, Some(&bob), id, "r7", None).await;
    assert_eq!(
        response.status(),
        200,
        "one already there takes more people"
    );
    let response = delete_at(&app, Some(&ada), &format!("/api/messages/{id}")).await;
    assert_eq!(response.status(), 200);
    refused(
        reaction(&app, true, Some(&bob), id, "r1", None).await,
        409,
        "message_deleted",
    )
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_reply_answers_a_message_of_its_own_room() {
    let app = spawn_app().await;
    let original = app.send("ada", "which release?").await;
    let response = app
        .post(&json!({ "username": "bob", "text": "the next one", "reply_to": original["id"] }))
        .await;
    assert_eq!(response.status(), 201);
    let reply: Value = response.json().await.expect("json");
    assert_eq!(reply["reply_to"], original["id"]);
    assert_eq!(reply["quote"]["username"], "ada");
    assert_eq!(reply["quote"]["text"], "which release?");

    let cookie = app.signed_up("cy").await;
    let created = app
        .client
        .post(app.url("/api/rooms"))
        .header("cookie", &cookie)
        .json(&json!({ "name": "random" }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let elsewhere = app
        .post_json(
            "/api/rooms/random/messages",
            &json!({ "username": "bob", "text": "here?", "reply_to": original["id"] }),
        )
        .await;
    assert_eq!(elsewhere.status(), 422);
    let body = error_body(elsewhere).await;
    assert_eq!(
        (
            body["error"]["field"].clone(),
            body["error"]["rule"].clone()
        ),
        (json!("reply_to"), json!("reply_to"))
    );
    let nowhere = app
        .post(&json!({ "username": "bob", "text": "?", "reply_to": 999 }))
        .await;
    assert_eq!(nowhere.status(), 422);
    assert_eq!(app.history("").await.len(), 2, "nothing refused was stored");
    app.shutdown().await;
}

#[tokio::test]
async fn a_message_with_markdown_carries_its_html_and_a_plain_one_does_not() {
    let app = spawn_app().await;
    let plain = app.send("ada", "just words & <things>").await;
    assert!(plain.get("html").is_none(), "{plain}");
    let marked = app
        .send(
            "ada",
            "**ship** it: https://example.com <script>alert(1)</script>",
        )
        .await;
    let html = marked["html"].as_str().expect("html");
    assert!(html.starts_with("<p><strong>ship</strong> it: <a href=\"https://example.com\" rel=\"noopener noreferrer nofollow ugc\" target=\"_blank\">"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    // History and the page carry the same HTML; an edit writes it again.
    assert_eq!(app.history("").await[1]["html"], marked["html"]);
    let (ada, mine) = signed_up_and_sent(&app, "bob", "plain at first").await;
    let response = patch(
        &app,
        Some(&ada),
        &format!("/api/messages/{}", mine["id"]),
        &json!({ "text": "now *marked*" }),
    )
    .await;
    let edited: Value = response.json().await.expect("json");
    assert_eq!(edited["html"], "<p>now <em>marked</em></p>");
    let page = app.client.get(app.url("/")).send().await.expect("page");
    let body = page.text().await.expect("html");
    assert!(
        body.contains("<p>now <em>marked</em></p>"),
        "the server renders it into the page"
    );
    assert!(
        !body.contains("<script>alert(1)"),
        "nothing a writer typed became markup"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sends_and_changes_queued_together_commit_together_in_the_order_asked() {
    let (_dir, path) = support::temp_database();
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url, server::store::Durability::Full)
        .await
        .expect("opens");
    let first = sent(&store, "ada", "first", false).await;
    let server::store::Writer::Sqlite(mut writer) = store.writer().await.expect("writer") else {
        panic!("a SQLite writer");
    };
    let draft = |text: &str| Draft {
        client_id: Uuid::now_v7(),
        room: general(),
        message: NewMessage::parse("ada", text).expect("valid"),
        guest: false,
        reply: None,
    };
    let (before, after) = ([draft("a"), draft("b")], [draft("c")]);
    let edit = edit(first.id, "first, edited");
    let runtime = tokio::runtime::Handle::current();
    let done = tokio::task::spawn_blocking(move || {
        writer.write_blocking(
            &[
                server::store::Work::Sends(&before),
                server::store::Work::Change(&edit),
                server::store::Work::Sends(&after),
            ],
            &runtime,
        )
    })
    .await
    .expect("joins")
    .expect("writes");
    let ids: Vec<Vec<MessageId>> = done
        .iter()
        .map(|done| match done {
            server::store::Done::Sends(batch) => {
                batch.stored.iter().map(|s| s.message().id).collect()
            }
            server::store::Done::Change(changed) => match changed.as_ref() {
                Changed::New(entry) => vec![entry.id],
                other => panic!("not applied: {other:?}"),
            },
        })
        .collect();
    let f = first.id;
    assert_eq!(ids, [vec![f + 1, f + 2], vec![f + 3], vec![f + 4]]);
    let log = store.after(first.id, 10).await.expect("reads");
    assert_eq!(
        log.iter().map(|e| e.id).collect::<Vec<_>>(),
        [f + 1, f + 2, f + 3, f + 4]
    );
    assert_eq!(log[2].message.text, "first, edited");
}
