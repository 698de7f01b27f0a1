//! Several servers on one PostgreSQL database: one chat, whichever server
//! a browser reaches. (Skipped with a notice when no test cluster is
//! configured, except in CI; see `support::postgres`.)

mod support;

use std::{collections::BTreeSet, process::Stdio, time::Duration};

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use support::{
    EventReader, TestApp,
    postgres::{self, fresh_database},
    proxy::Proxy,
    spawn_app_on,
};
use tokio::process::{Child, Command};

/// The ids and texts of `n` message events.
async fn read(stream: &mut EventReader, n: usize) -> Vec<(i64, String)> {
    stream
        .take(n)
        .await
        .into_iter()
        .map(|(id, message)| (id, message["text"].as_str().expect("text").to_owned()))
        .collect()
}

/// Sends `count` messages through `app`, concurrently with other senders.
fn sender(app: &TestApp, name: &'static str, count: usize) -> tokio::task::JoinHandle<()> {
    let client = app.client.clone();
    let url = app.url("/api/messages");
    tokio::spawn(async move {
        for i in 0..count {
            let response = client
                .post(&url)
                .json(&json!({ "username": name, "text": format!("{name} {i}") }))
                .send()
                .await
                .expect("sends");
            assert_eq!(response.status(), 201);
        }
    })
}

#[tokio::test]
async fn every_stream_on_either_server_gets_every_message_once_in_one_order() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let mut streams = [
        one.events_on_new_connection("", None).await,
        one.events_on_new_connection("", None).await,
        two.events_on_new_connection("", None).await,
        two.events_on_new_connection("", None).await,
    ];
    let senders = [
        sender(&one, "ada", 30),
        sender(&one, "bob", 30),
        sender(&two, "cy", 30),
        sender(&two, "dee", 30),
    ];
    for sender in senders {
        sender.await.expect("sender");
    }
    let first = read(&mut streams[0], 120).await;
    let ids: Vec<i64> = first.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=120).collect::<Vec<_>>(),
        "every id once, in order"
    );
    let texts: BTreeSet<&str> = first.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts.len(), 120, "every message once");
    for stream in &mut streams[1..] {
        assert_eq!(read(stream, 120).await, first, "one order everywhere");
    }
    // Each server counts every message, whichever server took it.
    let count_path = <app::api::GetMessageCount as leptos::server_fn::ServerFn>::PATH;
    for app in [&one, &two] {
        let count: Value = app
            .call(count_path)
            .json(&json!({ "room": "general" }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(count, json!({ "as_of": 120, "count": 120 }));
    }
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test]
async fn a_room_created_on_one_server_is_there_at_once_on_the_other() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    // Two has read its rooms just now: the new one is not among them.
    let listed: Value = two.get_json("/api/rooms").await;
    assert_eq!(listed["rooms"].as_array().expect("rooms").len(), 1);
    let mut stream = two.events_on_new_connection("", None).await;
    let mut on_one = one.events_on_new_connection("", None).await;
    let ada = one.signed_up("ada").await;
    let created = one
        .call("/api/rooms")
        .header("cookie", &ada)
        .json(&json!({ "name": "random" }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let sent = two
        .call("/api/rooms/Random/messages")
        .json(&json!({ "username": "bob", "text": "hi there" }))
        .send()
        .await
        .expect("request");
    assert_eq!(sent.status(), 201);
    // Two's stream hears of the room (relayed) and gets its message, in
    // whichever order the two notifications arrive.
    let (mut announced, mut message) = (None, None);
    while announced.is_none() || message.is_none() {
        let event = stream.next().await.expect("stream open");
        match event.kind.as_deref() {
            Some("room") => {
                announced = Some(serde_json::from_str::<Value>(&event.data).expect("json"))
            }
            None => message = Some(serde_json::from_str::<Value>(&event.data).expect("json")),
            Some(_) => {}
        }
    }
    assert_eq!(announced.expect("announced")["name"], "random");
    assert_eq!(message.expect("message")["room"], "random");
    // Once one has published it, its history of the room holds it.
    assert_eq!(on_one.take(1).await[0].1["room"], "random");
    let page: Vec<Value> = one.get_json("/api/rooms/random/messages").await;
    assert_eq!(page.len(), 1);
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test]
async fn presence_and_typing_reach_the_streams_of_every_server() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let mut on_two = two.events_on_new_connection("", None).await;
    let mut on_one = one.events_on_new_connection("", None).await;
    let browser = uuid::Uuid::new_v4();
    let tab = uuid::Uuid::new_v4();
    let beat = json!({ "browser": browser, "tab": tab, "name": "bob" });
    assert_eq!(
        one.post_json("/api/rooms/general/presence", &beat)
            .await
            .status(),
        200
    );
    let here =
        json!({ "room": "general", "people": ["bob"], "named_guests": ["bob"], "guests": 0 });
    assert_eq!(on_two.next_passing("presence").await, here);
    // Two knows too: what it answers a page of its own counts Bob.
    let other = json!({ "browser": uuid::Uuid::new_v4(), "tab": uuid::Uuid::new_v4() });
    let answered: Value = two
        .post_json("/api/rooms/general/presence", &other)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        answered,
        json!({ "room": "general", "people": ["bob"], "named_guests": ["bob"], "guests": 1 })
    );
    let typing = json!({ "browser": browser, "name": "bob", "typing": true });
    assert_eq!(
        two.post_json("/api/rooms/general/typing", &typing)
            .await
            .status(),
        204
    );
    assert_eq!(
        on_one.next_passing("typing").await,
        json!({ "room": "general", "name": "bob", "typing": true })
    );
    one.shutdown().await;
    two.shutdown().await;
}

/// The next passing event of type `kind` on `stream`, as JSON.
/// The server binary on `url`, on a port of its own; killed when dropped.
async fn server_process(url: &str) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--addr",
            &addr,
            "--database-url",
            url,
            "--send-limit",
            "off",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starts the server");
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    for _ in 0..500 {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server process did not become healthy");
}

#[tokio::test]
async fn a_killed_server_loses_nothing_it_acknowledged_and_its_streams_resume_elsewhere() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (mut doomed, doomed_url) = server_process(&url).await;
    let survivor = spawn_app_on(&url).await;
    let client = reqwest::Client::new();
    let stream = client
        .get(format!("{doomed_url}/api/events"))
        .send()
        .await
        .expect("stream");
    let mut stream = support::EventReader::from_response(stream);

    // Sends go on while the server is killed: some are acknowledged, the
    // rest fail (and are not counted).
    let (count, counted) = tokio::sync::watch::channel(0_usize);
    let sending = tokio::spawn({
        let client = client.clone();
        let doomed_url = doomed_url.clone();
        async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let sent = client
                    .post(format!("{doomed_url}/api/messages"))
                    .json(&json!({ "username": "ada", "text": format!("m{i}") }))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 201 => {
                        let message: Value = response.json().await.expect("json");
                        acknowledged.push(message["id"].as_i64().expect("id"));
                        count.send_replace(acknowledged.len());
                    }
                    _ => return acknowledged,
                }
            }
            unreachable!()
        }
    });
    let seen = read(&mut stream, 10).await;
    // A stream may see a message before its sender's 201 arrives: kill
    // once ten are acknowledged too.
    let mut counted = counted;
    counted
        .wait_for(|&n| n >= 10)
        .await
        .expect("sender running");
    doomed.kill().await.expect("kill -9");
    let acknowledged = sending.await.expect("sender");
    assert!(acknowledged.len() >= 10, "{acknowledged:?}");

    // The browser reconnects to the other server with the last id it saw,
    // and someone sends there.
    let last_seen = seen.last().expect("seen").0;
    let mut resumed = survivor.events_on_new_connection("", Some(last_seen)).await;
    survivor.send("bob", "after the crash").await;

    // Everything acknowledged is stored. (Read after that send: an append
    // the killed server had under way may still have committed after the
    // kill, and appends commit in id order, so by now it has.)
    let stored: BTreeSet<i64> = survivor
        .history("?after=0&limit=500")
        .await
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect();
    assert!(
        acknowledged.iter().all(|id| stored.contains(id)),
        "acknowledged {acknowledged:?}, stored {stored:?}"
    );

    // The stream gets the rest, then what came next: no gap, no duplicate.
    let expected: Vec<i64> = stored
        .iter()
        .copied()
        .filter(|id| *id > last_seen)
        .collect();
    let ids: Vec<i64> = read(&mut resumed, expected.len())
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, expected);
    survivor.shutdown().await;
}

#[tokio::test]
async fn a_server_cut_off_from_the_database_loses_no_message() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    // `two` reaches the database through a link the test can cut.
    let cluster: reqwest::Url = url.parse().expect("URL");
    let database = cluster.socket_addrs(|| Some(5432)).expect("address")[0];
    let link = Proxy::start(database).await;
    let two = spawn_app_on(&url.replace(&database.to_string(), &link.addr.to_string())).await;
    let mut stream = two.events_on_new_connection("", None).await;
    for i in 0..5 {
        one.send("ada", &format!("before {i}")).await;
    }
    link.cut();
    wait_for_health(&two, 503).await;
    // Committed while `two` hears nothing: no notification will ever
    // tell it about these.
    for i in 0..5 {
        one.send("ada", &format!("after {i}")).await;
    }
    link.restore();
    wait_for_health(&two, 200).await;
    let texts: Vec<String> = read(&mut stream, 10)
        .await
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    let expected: Vec<String> = (0..5)
        .map(|i| format!("before {i}"))
        .chain((0..5).map(|i| format!("after {i}")))
        .collect();
    assert_eq!(texts, expected);
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test]
async fn a_dropped_listener_connection_is_replaced() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let mut stream = two.events_on_new_connection("", None).await;
    one.send("ada", "before").await;
    assert_eq!(postgres::drop_listener_connections(&url).await, 2);
    one.send("ada", "after").await;
    let texts: Vec<String> = read(&mut stream, 2)
        .await
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(texts, ["before", "after"]);
    one.shutdown().await;
    two.shutdown().await;
}

/// Sets whether the test cluster accepts new connections to `url`'s
/// database.
async fn allow_connections(url: &str, allow: bool) {
    let admin = std::env::var(postgres::URL_VARIABLE).expect("cluster");
    let database = url.rsplit_once('/').expect("database").1;
    let mut connection = PgConnection::connect(&admin).await.expect("connects");
    sqlx::query(&format!(
        "ALTER DATABASE {database} WITH ALLOW_CONNECTIONS {allow}"
    ))
    .execute(&mut connection)
    .await
    .expect("alters");
}

/// Ends every connection to `url`'s database, as a restart of PostgreSQL
/// would.
async fn end_connections(url: &str) {
    let admin = std::env::var(postgres::URL_VARIABLE).expect("cluster");
    let database = url.rsplit_once('/').expect("database").1;
    let mut connection = PgConnection::connect(&admin).await.expect("connects");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(database)
        .execute(&mut connection)
        .await
        .expect("ends connections");
}

/// Polls `/healthz` until it answers `status` (at most 20 s).
async fn wait_for_health(app: &TestApp, status: u16) {
    for _ in 0..200 {
        let response = app.client.get(app.url("/healthz")).send().await;
        if response.is_ok_and(|response| response.status() == status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/healthz did not answer {status}");
}

#[tokio::test]
async fn health_answers_in_its_time_when_the_database_stops_answering() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let cluster: reqwest::Url = url.parse().expect("URL");
    let database = cluster.socket_addrs(|| Some(5432)).expect("address")[0];
    let link = Proxy::start(database).await;
    let app = spawn_app_on(&url.replace(&database.to_string(), &link.addr.to_string())).await;
    link.stall();
    // Not "database unavailable" once the pool gives up, nor never: the
    // check's own time ran out.
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.text().await.expect("body"),
        "database not answering"
    );
    link.cut();
}

#[tokio::test]
async fn health_fails_while_the_database_is_unreachable_and_recovers() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let app = spawn_app_on(&url).await;
    allow_connections(&url, false).await;
    end_connections(&url).await;
    wait_for_health(&app, 503).await;
    allow_connections(&url, true).await;
    wait_for_health(&app, 200).await;
    // And it follows the log again: a message sent elsewhere reaches it.
    let mut stream = app.events_on_new_connection("", None).await;
    let other = spawn_app_on(&url).await;
    other.send("ada", "back").await;
    assert_eq!(read(&mut stream, 1).await[0].1, "back");
    other.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn changes_made_on_either_server_reach_every_stream_in_one_order() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let mut streams = [
        one.events_on_new_connection("", None).await,
        two.events_on_new_connection("", None).await,
    ];
    let cookie = one.signed_up("ada").await;
    let mut ids = Vec::new();
    for (app, text) in [(&one, "on one"), (&two, "on two")] {
        let response = app
            .client
            .post(app.url("/api/messages"))
            .header("cookie", &cookie)
            .json(&json!({ "username": "", "text": text }))
            .send()
            .await
            .expect("sends");
        assert_eq!(response.status(), 201);
        ids.push(response.json::<Value>().await.expect("json")["id"].clone());
    }
    // Each server changes the message the other took, while the other sends.
    let edit = two
        .client
        .patch(two.url(&format!("/api/messages/{}", ids[0])))
        .header("cookie", &cookie)
        .json(&json!({ "text": "on one, edited on two" }))
        .send();
    let delete = one
        .client
        .delete(one.url(&format!("/api/messages/{}", ids[1])))
        .header("cookie", &cookie)
        .send();
    let (edit, delete) = tokio::join!(edit, delete);
    assert_eq!(edit.expect("edits").status(), 200);
    assert_eq!(delete.expect("deletes").status(), 200);
    one.send("bob", "after").await;

    let first = streams[0].take_entries(5).await;
    let order: Vec<i64> = first.iter().map(|entry| entry.0).collect();
    assert_eq!(
        order,
        (1..=5).collect::<Vec<_>>(),
        "every entry once, in order"
    );
    let changes: Vec<&Value> = first
        .iter()
        .filter(|entry| entry.1.as_deref() == Some("change"))
        .map(|entry| &entry.2)
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        streams[1].take_entries(5).await,
        first,
        "one order everywhere"
    );
    // Both servers show each message as it now is.
    for app in [&one, &two] {
        let history = app.history("").await;
        assert_eq!(history[0]["text"], "on one, edited on two");
        assert_eq!(history[1]["deleted"], true);
        assert_eq!(history.len(), 3);
    }
}

#[tokio::test]
async fn a_ban_on_one_server_ends_the_accounts_streams_on_the_other() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let moderator = one
        .signed_up_as("mo", shared::account::Role::Moderator)
        .await;
    let ada = two.signed_up("ada").await;
    let response = two
        .client
        .get(two.url("/api/events"))
        .header("cookie", &ada)
        .send()
        .await
        .expect("request");
    let mut adas_stream = EventReader::from_response(response);
    let mut bystander = two.events_on_new_connection("", None).await;
    let response = one
        .client
        .post(one.url("/api/accounts/ada/ban"))
        .header("cookie", &moderator)
        .json(&json!({ "reason": "spam" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(adas_stream.next_passing("banned").await["reason"], "spam");
    assert!(
        adas_stream.next().await.is_none(),
        "ended on the other server"
    );
    // Nobody else hears of it, and their streams go on.
    one.send("bob", "still here").await;
    let event = bystander.next().await.expect("stream open");
    assert_eq!(event.kind, None, "a message, not the ban: {event:?}");
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test]
async fn a_guest_blocked_on_one_server_is_refused_by_the_other() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let moderator = one
        .signed_up_as("mo", shared::account::Role::Moderator)
        .await;
    let response = one
        .client
        .post(one.url("/api/blocks"))
        .header("cookie", &moderator)
        .json(&json!({ "guest_name": "spammer" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    // Server two reads the blocks again once told over NOTIFY (until then
    // it still takes the guest's messages): the first refusal is that.
    let message = json!({ "username": "spammer", "text": "buy" });
    until_refused(&two, &message, "the block").await;
    for _ in 0..3 {
        assert_eq!(two.post(&message).await.status(), 403, "and from then on");
    }
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test]
async fn a_room_locked_on_one_server_is_locked_on_the_other() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let moderator = one
        .signed_up_as("mo", shared::account::Role::Moderator)
        .await;
    let response = one
        .client
        .patch(one.url("/api/rooms/general"))
        .header("cookie", &moderator)
        .json(&json!({ "locked": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // Server two reads the settings again once told over NOTIFY.
    let message = json!({ "username": "bob", "text": "hello" });
    until_refused(&two, &message, "the lock").await;
    let directory: Value = two.get_json("/api/rooms").await;
    assert_eq!(directory["rooms"][0]["settings"]["locked"], true);
    one.shutdown().await;
    two.shutdown().await;
}

/// Sends `message` to `app` until it is refused (`403`): once `app` has
/// heard of `what` another server did.
async fn until_refused(app: &TestApp, message: &Value, what: &str) {
    let mut tries = 0;
    while app.post(message).await.status() != 403 {
        tries += 1;
        assert!(tries < 500, "the server never heard of {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The texts of the next entries of `events` up to and including `last`.
async fn texts_through(events: &mut EventReader, last: &str) -> Vec<String> {
    let mut texts = Vec::new();
    loop {
        let (_, message) = events.take(1).await.remove(0);
        let text = message["text"].as_str().expect("text").to_owned();
        let done = text == last;
        texts.push(text);
        if done {
            return texts;
        }
    }
}

#[tokio::test]
async fn a_private_room_reaches_its_members_streams_alone_on_every_server() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let ada = one.signed_up("ada").await;
    let bob = one.signed_up("bob").await;
    let call = |app: &TestApp, method: reqwest::Method, path: &str, cookie: &str| {
        app.client
            .request(method, app.url(path))
            .header("cookie", cookie)
    };
    let send = |app: &TestApp, room: &str, cookie: &str, text: &str| {
        call(
            app,
            reqwest::Method::POST,
            &format!("/api/rooms/{room}/messages"),
            cookie,
        )
        .json(&json!({ "username": "x", "text": text }))
    };
    let created = call(&one, reqwest::Method::POST, "/api/rooms", &ada)
        .json(&json!({ "name": "secret", "private": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let mut ada_on_two = stream_as(&two, &ada).await;
    let mut bob_on_two = stream_as(&two, &bob).await;
    // A message in the room, then one in general that every stream gets.
    let send_pair = |text: &'static str, mark: &'static str| {
        let pair = [
            send(&one, "secret", &ada, text),
            send(&one, "general", &ada, mark),
        ];
        async move {
            for request in pair {
                assert_eq!(request.send().await.expect("send").status(), 201);
            }
        }
    };
    send_pair("one", "mark 1").await;
    assert_eq!(
        texts_through(&mut ada_on_two, "mark 1").await,
        ["one", "mark 1"]
    );
    assert_eq!(texts_through(&mut bob_on_two, "mark 1").await, ["mark 1"]);

    // Bob is added on one; once two knows, his stream there carries it.
    let added = call(
        &one,
        reqwest::Method::POST,
        "/api/rooms/secret/members",
        &ada,
    )
    .json(&json!({ "username": "bob" }))
    .send()
    .await
    .expect("request");
    assert_eq!(added.status(), 200);
    until_status(&two, &bob, 200, "bob added").await;
    send_pair("two", "mark 2").await;
    assert_eq!(
        texts_through(&mut bob_on_two, "mark 2").await,
        ["two", "mark 2"]
    );

    // Taken out on one: two stops carrying it to him.
    let removed = call(
        &one,
        reqwest::Method::DELETE,
        "/api/rooms/secret/members/bob",
        &ada,
    )
    .send()
    .await
    .expect("request");
    assert_eq!(removed.status(), 204);
    until_status(&two, &bob, 404, "bob taken out").await;
    assert_eq!(
        bob_on_two.next_passing("room_left").await,
        json!({ "room": "secret" })
    );
    send_pair("three", "mark 3").await;
    assert_eq!(texts_through(&mut bob_on_two, "mark 3").await, ["mark 3"]);
    assert_eq!(
        texts_through(&mut ada_on_two, "mark 3").await,
        ["two", "mark 2", "three", "mark 3"]
    );
    one.shutdown().await;
    two.shutdown().await;
}

/// The event stream of the holder of `cookie` on `app`, on a connection
/// of its own.
async fn stream_as(app: &TestApp, cookie: &str) -> EventReader {
    let request = reqwest::Client::new()
        .get(app.url("/api/events"))
        .header("cookie", cookie);
    EventReader::from_response(request.send().await.expect("stream"))
}

/// Reads `secret`'s history on `app` as the holder of `cookie` until it
/// answers `status`: once `app` has heard of `what` another server did.
async fn until_status(app: &TestApp, cookie: &str, status: u16, what: &str) {
    let mut tries = 0;
    loop {
        let response = app
            .client
            .get(app.url("/api/rooms/secret/messages"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request");
        if response.status().as_u16() == status {
            return;
        }
        tries += 1;
        assert!(tries < 500, "the server never heard of {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_direct_conversation_is_the_same_and_its_peoples_alone_on_every_server() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let one = spawn_app_on(&url).await;
    let two = spawn_app_on(&url).await;
    let ada = one.signed_up("ada").await;
    let bob = one.signed_up("bob").await;
    let cara = one.signed_up("cara").await;
    let open = |app: &TestApp, cookie: &str, with: &str| {
        app.client
            .post(app.url("/api/direct"))
            .header("cookie", cookie)
            .json(&json!({ "usernames": [with] }))
            .send()
    };
    let mut bob_on_two = stream_as(&two, &bob).await;
    let mut cara_on_two = stream_as(&two, &cara).await;
    let opened = open(&one, &ada, "bob").await.expect("request");
    assert_eq!(opened.status(), 200);
    let room: serde_json::Value = opened.json().await.expect("json");
    let name = room["name"].as_str().expect("name").to_owned();
    // Made on one: bob's stream on two hears of it at once.
    assert_eq!(bob_on_two.next_passing("room").await["name"], json!(name));
    // Opened by the other person on the other server: the same one.
    let again: serde_json::Value = open(&two, &bob, "ada")
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (&again["name"], &again["people"]),
        (&json!(name), &json!(["ada", "bob"]))
    );

    // What ada writes on one reaches bob's stream on two, not cara's.
    let path = format!("/api/rooms/{}/messages", shared::room::path_segment(&name));
    for (room, text) in [
        (path.as_str(), "psst"),
        ("/api/rooms/general/messages", "mark"),
    ] {
        let sent = one
            .client
            .post(one.url(room))
            .header("cookie", &ada)
            .json(&json!({ "username": "x", "text": text }))
            .send()
            .await
            .expect("send");
        assert_eq!(sent.status(), 201);
    }
    assert_eq!(
        texts_through(&mut bob_on_two, "mark").await,
        ["psst", "mark"]
    );
    assert_eq!(texts_through(&mut cara_on_two, "mark").await, ["mark"]);
    let peek = two
        .client
        .get(two.url(&path))
        .header("cookie", &cara)
        .send()
        .await
        .expect("request");
    assert_eq!(peek.status(), 404);
    one.shutdown().await;
    two.shutdown().await;
}
