//! Moderation: roles (given by the operator's command line and by
//! admins), a moderator's removal of anyone's message, and the audit log;
//! the store's part on both backends, then the JSON API and the stream.

mod support;

use chrono::Utc;
use serde_json::{Value, json};
use server::store::{
    Actor, ChangeDraft, Changed, Draft, Edit, Moderation, RoleSet, RoomRecord, Store,
};
use shared::{NewMessage, account::Role, names::name_key};
use support::{TestApp, contract, error_body, spawn_app, spawn_app_with};
use uuid::Uuid;

contract!(
    a_removal_is_an_entry_of_the_log_and_a_record_of_the_audit,
    the_last_admin_keeps_the_role,
);

async fn account(store: &Store, name: &str) {
    store
        .create_account(name, &name_key(name), "not a hash", 0)
        .await
        .expect("stores")
        .expect("a new name");
}

async fn a_removal_is_an_entry_of_the_log_and_a_record_of_the_audit(store: Store) {
    let general = RoomRecord {
        id: 1,
        name: "general".into(),
        kind: Default::default(),
    };
    let spam = store
        .insert_batch(&[Draft {
            client_id: Uuid::now_v7(),
            room: general,
            message: NewMessage::parse("bob", "buy cheap watches").expect("valid"),
            guest: false,
            reply: None,
        }])
        .await
        .expect("stores")[0]
        .message()
        .clone();
    let removal = ChangeDraft {
        client_id: Uuid::now_v7(),
        message: spam.id,
        room: None,
        by: Actor::Account("mo".into()),
        edit: Edit::Delete,
        moderation: Some(Moderation {
            reason: Some("spam".into()),
            keep_text: false,
        }),
    };
    let Changed::New(entry) = store.change(&removal).await.expect("stores") else {
        panic!("a moderator's removal applies");
    };
    assert_eq!(entry.id, spam.id + 1, "the log's next entry");
    assert!(entry.message.deleted && entry.message.removed);
    assert_eq!(entry.message.text, "");
    let now = store.message(spam.id).await.expect("reads").expect("kept");
    assert!(now.removed, "read back as removed");
    let audit = store.audit(None, 10).await.expect("reads");
    assert_eq!(audit.len(), 1, "{audit:?}");
    let record = &audit[0];
    assert_eq!(
        (
            record.actor.as_str(),
            record.action.as_str(),
            record.subject.as_str()
        ),
        ("mo", "remove_message", "bob")
    );
    assert_eq!(record.message_id, Some(spam.id));
    assert_eq!(record.reason.as_deref(), Some("spam"));
    assert_eq!(record.detail.as_deref(), Some("general"));
    assert_eq!(record.text, None, "the text is gone unless kept");

    // The same request again changes nothing and records nothing more.
    assert!(matches!(
        store.change(&removal).await.expect("stores"),
        Changed::Existing(_)
    ));
    assert_eq!(store.audit(None, 10).await.expect("reads").len(), 1);
}

async fn the_last_admin_keeps_the_role(store: Store) {
    account(&store, "ada").await;
    account(&store, "bob").await;
    let set = |name: &'static str, role| {
        let store = store.clone();
        async move {
            store
                .set_role(&name_key(name), role, "test", Utc::now())
                .await
                .expect("stores")
        }
    };
    assert_eq!(
        set("ADA", Role::Admin).await,
        RoleSet::Set { name: "ada".into() },
        "any spelling names the account"
    );
    assert_eq!(set("ada", Role::Member).await, RoleSet::LastAdmin);
    assert_eq!(set("nobody", Role::Admin).await, RoleSet::NoSuchAccount);
    assert_eq!(
        set("bob", Role::Admin).await,
        RoleSet::Set { name: "bob".into() }
    );
    assert_eq!(
        set("ada", Role::Moderator).await,
        RoleSet::Set { name: "ada".into() },
        "another admin remains"
    );
    assert_eq!(set("bob", Role::Member).await, RoleSet::LastAdmin);

    // Two admins taking each other's role at once leave one admin.
    set("ada", Role::Admin).await;
    let (first, second) = tokio::join!(set("ada", Role::Member), set("bob", Role::Member));
    let kept: Vec<_> = [first, second]
        .into_iter()
        .filter(|done| *done == RoleSet::LastAdmin)
        .collect();
    assert_eq!(kept.len(), 1, "exactly one stays admin");
    let audit = store.audit(None, 50).await.expect("reads");
    assert_eq!(
        audit.len(),
        5,
        "each role given is recorded, none refused: {audit:?}"
    );
    assert!(audit.windows(2).all(|pair| pair[0].id > pair[1].id));
    assert!(audit.iter().all(|record| record.action == "set_role"));
}

/// A message by `author` (signed in with `cookie`), as stored.
async fn sent_by(app: &TestApp, cookie: &str, text: &str) -> Value {
    let response = app
        .client
        .post(app.url("/api/messages"))
        .header("cookie", cookie)
        .json(&json!({ "username": "ignored", "text": text }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    response.json().await.expect("json")
}

/// One caller of the table below: a cookie, or none for a guest.
struct Who {
    name: &'static str,
    cookie: Option<String>,
}

async fn request(
    app: &TestApp,
    who: &Who,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(cookie) = &who.cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn each_role_may_do_what_it_may_and_nothing_more() {
    let app = spawn_app().await;
    let author = app.signed_up("zed").await;
    let callers = [
        Who {
            name: "admin",
            cookie: Some(app.signed_up_as("ad", Role::Admin).await),
        },
        Who {
            name: "moderator",
            cookie: Some(app.signed_up_as("mo", Role::Moderator).await),
        },
        Who {
            name: "member",
            cookie: Some(app.signed_up("me").await),
        },
        Who {
            name: "guest",
            cookie: None,
        },
    ];
    // (caller, action) → the status and error code expected.
    let expected = [
        ("admin", "remove", 200, None),
        ("moderator", "remove", 200, None),
        ("member", "remove", 403, Some("not_author")),
        ("guest", "remove", 401, Some("unauthorized")),
        ("admin", "set_role", 200, None),
        ("moderator", "set_role", 403, Some("forbidden")),
        ("member", "set_role", 403, Some("forbidden")),
        ("guest", "set_role", 403, Some("forbidden")),
        ("admin", "audit", 200, None),
        ("moderator", "audit", 200, None),
        ("member", "audit", 403, Some("forbidden")),
        ("guest", "audit", 403, Some("forbidden")),
        ("admin", "ban", 200, None),
        ("moderator", "ban", 200, None),
        ("member", "ban", 403, Some("forbidden")),
        ("guest", "ban", 403, Some("forbidden")),
        ("admin", "block", 201, None),
        ("moderator", "block", 201, None),
        ("member", "block", 403, Some("forbidden")),
        ("guest", "block", 403, Some("forbidden")),
        ("admin", "blocks", 200, None),
        ("moderator", "blocks", 200, None),
        ("member", "blocks", 403, Some("forbidden")),
        ("guest", "blocks", 403, Some("forbidden")),
        ("admin", "room", 200, None),
        ("moderator", "room", 200, None),
        ("member", "room", 403, Some("forbidden")),
        ("guest", "room", 403, Some("forbidden")),
        ("admin", "reports", 200, None),
        ("moderator", "reports", 200, None),
        ("member", "reports", 403, Some("forbidden")),
        ("guest", "reports", 403, Some("forbidden")),
        ("admin", "act", 200, None),
        ("moderator", "act", 200, None),
        ("member", "act", 403, Some("forbidden")),
        ("guest", "act", 403, Some("forbidden")),
    ];
    let mut target = 0;
    for (name, action, status, code) in expected {
        let who = callers.iter().find(|who| who.name == name).expect("listed");
        let response = match action {
            "remove" => {
                let message = sent_by(&app, &author, &format!("for the {name}")).await;
                let path = format!("/api/messages/{}", message["id"]);
                let body = json!({ "reason": "off topic" });
                request(&app, who, reqwest::Method::DELETE, &path, Some(body)).await
            }
            "set_role" => {
                let body = json!({ "role": "member" });
                let path = "/api/accounts/zed/role";
                request(&app, who, reqwest::Method::PUT, path, Some(body)).await
            }
            "ban" => {
                target += 1;
                let victim = format!("victim{target}");
                app.signed_up(&victim).await;
                let until = Utc::now() + chrono::Duration::hours(1);
                let body = json!({ "reason": "test", "until": until });
                let path = format!("/api/accounts/{victim}/ban");
                request(&app, who, reqwest::Method::POST, &path, Some(body)).await
            }
            "block" => {
                let body = json!({ "guest_name": format!("spam{name}") });
                request(&app, who, reqwest::Method::POST, "/api/blocks", Some(body)).await
            }
            "blocks" => request(&app, who, reqwest::Method::GET, "/api/blocks", None).await,
            "room" => {
                let body = json!({ "slow_mode_secs": 0 });
                let path = "/api/rooms/general";
                request(&app, who, reqwest::Method::PATCH, path, Some(body)).await
            }
            "reports" => request(&app, who, reqwest::Method::GET, "/api/reports", None).await,
            "act" => {
                let message = app.send("bob", &format!("reported for the {name}")).await;
                let path = format!("/api/messages/{}/reports", message["id"]);
                let made: Value = app
                    .post_json(&path, &json!({}))
                    .await
                    .json()
                    .await
                    .expect("json");
                let body = json!({ "action": "dismiss" });
                let path = format!("/api/reports/{}", made["id"]);
                request(&app, who, reqwest::Method::POST, &path, Some(body)).await
            }
            _ => request(&app, who, reqwest::Method::GET, "/api/audit", None).await,
        };
        assert_eq!(
            response.status().as_u16(),
            status,
            "{name} {action}: {:?}",
            response.text().await
        );
        if let Some(code) = code {
            assert_eq!(
                error_body(response).await["error"]["code"],
                code,
                "{name} {action}"
            );
        }
    }
    // Whatever was refused left nothing behind: each action that was
    // allowed is in the audit log once (the admin's and the moderator's),
    // besides the command line's grants.
    let admin = &callers[0];
    let audit: Vec<Value> = request(
        &app,
        admin,
        reqwest::Method::GET,
        "/api/audit?limit=200",
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let count = |actor: &str, action: &str| {
        audit
            .iter()
            .filter(|record| record["actor"] == actor && record["action"] == action)
            .count()
    };
    for actor in ["ad", "mo"] {
        for action in [
            "remove_message",
            "ban",
            "block",
            "room_settings",
            "dismiss_reports",
        ] {
            assert_eq!(count(actor, action), 1, "{actor} {action}: {audit:?}");
        }
    }
    assert_eq!(count("ad", "set_role"), 1);
    assert_eq!(count("mo", "set_role"), 0);
    assert_eq!(count("(command line)", "set_role"), 2);
    assert_eq!(audit.len(), 13, "nothing refused was recorded: {audit:?}");
}

#[tokio::test]
async fn a_removal_reaches_every_stream_and_the_audit_says_who_and_why() {
    let app = spawn_app().await;
    let moderator = app.signed_up_as("mo", Role::Moderator).await;
    let spam = app.send("spammer", "buy cheap watches").await;
    let id = spam["id"].as_i64().expect("id");
    let mut events = app.events("", Some(id)).await;

    let response = app
        .client
        .delete(app.url(&format!("/api/messages/{id}")))
        .header("cookie", &moderator)
        .json(&json!({ "reason": "  spam\r\n" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let removed: Value = response.json().await.expect("json");
    assert_eq!(
        (&removed["deleted"], &removed["removed"], &removed["text"]),
        (&json!(true), &json!(true), &json!(""))
    );
    let (entry, kind, streamed) = events.take_entries(1).await.remove(0);
    assert_eq!(kind.as_deref(), Some("change"));
    assert!(entry > id);
    assert_eq!(streamed, removed, "the stream carries the same message");
    let history = app.history("").await;
    assert_eq!(history[0]["removed"], true, "history reads it removed");

    let audit: Vec<Value> = app.get_json_as("/api/audit", &moderator).await;
    let record = &audit[0];
    assert_eq!(record["actor"], "mo");
    assert_eq!(record["action"], "remove_message");
    assert_eq!(record["subject"], "spammer");
    assert_eq!(record["message_id"], id);
    assert_eq!(record["reason"], "spam", "trimmed");
    assert_eq!(record["text"], Value::Null);

    // A reason longer than the rules allow is refused before anything.
    let other = app.send("spammer", "again").await;
    let response = app
        .client
        .delete(app.url(&format!("/api/messages/{}", other["id"])))
        .header("cookie", &moderator)
        .json(&json!({ "reason": "x".repeat(501) }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await["error"]["field"], "reason");
    assert_eq!(app.history("").await[1]["text"], "again");
}

#[tokio::test]
async fn the_audit_keeps_a_removed_text_only_when_the_operator_says_so() {
    let app = spawn_app_with(|config| config.audit_keeps_text = true).await;
    let moderator = app.signed_up_as("mo", Role::Admin).await;
    let spam = app.send("spammer", "evidence of abuse").await;
    let response = app
        .client
        .delete(app.url(&format!("/api/messages/{}", spam["id"])))
        .header("cookie", &moderator)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let audit: Vec<Value> = app.get_json_as("/api/audit?limit=1", &moderator).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["text"], "evidence of abuse");
    assert_eq!(audit[0]["reason"], Value::Null);
}

#[tokio::test]
async fn roles_change_on_the_page_and_take_effect_at_the_next_request() {
    let app = spawn_app().await;
    let admin = app.signed_up_as("ad", Role::Admin).await;
    let member = app.signed_up("me").await;
    let session = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/session"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(session(member.clone()).await["role"], "member");
    let put_role = |cookie: String, name: &'static str, role: &'static str| {
        let app = &app;
        async move {
            app.client
                .put(app.url(&format!("/api/accounts/{name}/role")))
                .header("cookie", cookie)
                .json(&json!({ "role": role }))
                .send()
                .await
                .expect("request")
        }
    };
    let response = put_role(admin.clone(), "ME", "moderator").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({ "username": "me", "role": "moderator" })
    );
    assert_eq!(session(member.clone()).await["role"], "moderator");
    // The room list names the chat's admins and moderators for the page.
    let directory: Value = app.get_json("/api/rooms").await;
    assert_eq!(
        directory["staff"],
        json!([{ "name": "ad", "role": "admin" }, { "name": "me", "role": "moderator" }])
    );

    // The last admin cannot step down; with another, they can.
    let response = put_role(admin.clone(), "ad", "member").await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_body(response).await["error"]["code"], "last_admin");
    let response = put_role(admin.clone(), "nobody", "admin").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        error_body(response).await["error"]["code"],
        "no_such_account"
    );
    let response = put_role(admin.clone(), "me", "owner").await;
    assert_eq!(response.status(), 422, "no such role");
    assert_eq!(put_role(admin.clone(), "me", "admin").await.status(), 200);
    assert_eq!(put_role(admin.clone(), "ad", "member").await.status(), 200);
    assert_eq!(session(admin.clone()).await["role"], "member");
    // No longer an admin: refused from the next request on.
    let response = put_role(admin, "me", "member").await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_command_line_grants_a_role_on_a_running_servers_database() {
    let app = spawn_app().await;
    let cookie = app.signed_up("ada").await;
    let grant = |name: &str, role: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["admin", "grant", name, "--role", role])
            .env("DATABASE_URL", &app.database_url)
            .output()
            .expect("runs")
    };
    let done = grant("Ada", "admin");
    assert!(done.status.success(), "{done:?}");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ada is now admin\n");
    let session: Value = app.get_json_as("/api/session", &cookie).await;
    assert_eq!(session["role"], "admin", "the running server sees it");

    let refused = grant("ada", "member");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("last admin"),
        "{refused:?}"
    );
    let unknown = grant("nobody", "moderator");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account named"));
    let bad = grant("ada", "owner");
    assert!(!bad.status.success(), "clap refuses an unknown role");
}

/// `name`'s event stream, opened with its session `cookie`.
async fn stream_of(app: &TestApp, cookie: &str) -> support::EventReader {
    let response = app
        .client
        .get(app.url("/api/events"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    support::EventReader::from_response(response)
}

async fn as_cookie(
    app: &TestApp,
    cookie: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_ban_ends_the_accounts_streams_refuses_it_everywhere_and_removes_what_it_asked() {
    let app = spawn_app().await;
    let moderator = app.signed_up_as("mo", Role::Moderator).await;
    let ada = app.signed_up("ada").await;
    let first = sent_by(&app, &ada, "troll one").await;
    let second = sent_by(&app, &ada, "troll two").await;
    let kept = app.send("bob", "an innocent bystander").await;
    let mut adas_stream = stream_of(&app, &ada).await;
    let mut others = app.events("", None).await;

    let until = Utc::now() + chrono::Duration::hours(1);
    let response = as_cookie(
        &app,
        &moderator,
        reqwest::Method::POST,
        "/api/accounts/ADA/ban",
        json!({ "reason": "trolling", "until": until, "remove_messages": "hour" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let banned: Value = response.json().await.expect("json");
    assert_eq!(banned["username"], "ada");
    assert_eq!(banned["removed"], 2);
    assert_eq!(banned["ban"]["reason"], "trolling");

    // Ada's open page is told, and its stream ends.
    let notice = adas_stream.next_passing("banned").await;
    assert_eq!(notice["reason"], "trolling");
    assert!(adas_stream.next().await.is_none(), "the stream ends");
    // Everyone else sees both messages removed, in the log's order.
    let removals = others.take_entries(2).await;
    let removed: Vec<_> = removals.iter().map(|(_, _, m)| m["id"].clone()).collect();
    assert_eq!(removed, [first["id"].clone(), second["id"].clone()]);
    assert!(removals.iter().all(|(_, kind, m)| {
        kind.as_deref() == Some("change") && m["removed"] == true && m["text"] == ""
    }));
    let history = app.history("").await;
    assert_eq!(history[2]["text"], kept["text"], "others' messages stay");

    // Every door is shut, with the reason and the end.
    let refusals = [
        (
            reqwest::Method::POST,
            "/api/messages",
            json!({ "username": "ada", "text": "hi" }),
        ),
        (
            reqwest::Method::PUT,
            &*format!("/api/messages/{}/reactions/ok", kept["id"]),
            json!({}),
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/general/presence",
            json!({ "browser": Uuid::new_v4(), "tab": Uuid::new_v4() }),
        ),
        (
            reqwest::Method::POST,
            "/api/rooms/general/typing",
            json!({ "browser": Uuid::new_v4(), "typing": true }),
        ),
        (
            reqwest::Method::POST,
            "/api/rooms",
            json!({ "name": "trolls" }),
        ),
    ];
    for (method, path, body) in refusals {
        let response = as_cookie(&app, &ada, method, path, body).await;
        assert_eq!(response.status(), 403, "{path}");
        let error = error_body(response).await;
        assert_eq!(error["error"]["code"], "banned", "{path}");
        assert_eq!(error["error"]["ban"]["reason"], "trolling");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("until") && m.contains("trolling")),
            "{error}"
        );
    }
    let response = app
        .client
        .get(app.url("/api/events"))
        .header("cookie", &ada)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403, "no new stream");
    let sign_in = app
        .client
        .post(app.url("/api/session"))
        .json(&json!({ "username": "ada", "password": support::PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(sign_in.status(), 403, "no new session either");
    assert_eq!(error_body(sign_in).await["error"]["code"], "banned");

    // Lifted, the same session works again.
    let response = as_cookie(
        &app,
        &moderator,
        reqwest::Method::DELETE,
        "/api/accounts/ada/ban",
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({ "username": "ada", "was_banned": true })
    );
    sent_by(&app, &ada, "sorry").await;

    let audit: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/audit",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    let actions: Vec<&str> = audit.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(
        actions[..4],
        ["unban", "remove_message", "remove_message", "ban"],
        "{audit:?}"
    );
    assert_eq!(audit[3]["subject"], "ada");
    assert_eq!(audit[3]["reason"], "trolling");
}

#[tokio::test]
async fn who_may_ban_whom() {
    let app = spawn_app().await;
    let admin = app.signed_up_as("ad", Role::Admin).await;
    let moderator = app.signed_up_as("mo", Role::Moderator).await;
    let member = app.signed_up("me").await;
    let ban = |until: Option<chrono::DateTime<Utc>>| json!({ "reason": "test", "until": until });
    let later = Some(Utc::now() + chrono::Duration::minutes(5));
    let cases = [
        (&moderator, "ad", ban(later), 403, "forbidden"),
        (&moderator, "mo", ban(later), 403, "forbidden"),
        (&member, "mo", ban(later), 403, "forbidden"),
        (&moderator, "nobody", ban(later), 404, "no_such_account"),
        (
            &moderator,
            "me",
            ban(Some(Utc::now() - chrono::Duration::minutes(5))),
            422,
            "invalid_body",
        ),
        (
            &moderator,
            "me",
            json!({ "reason": "x".repeat(501) }),
            422,
            "validation",
        ),
    ];
    for (who, name, body, status, code) in cases {
        let response = as_cookie(
            &app,
            who,
            reqwest::Method::POST,
            &format!("/api/accounts/{name}/ban"),
            body,
        )
        .await;
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(error_body(response).await["error"]["code"], code, "{name}");
    }
    let guest = app
        .client
        .post(app.url("/api/accounts/me/ban"))
        .json(&ban(later))
        .send()
        .await
        .expect("request");
    assert_eq!(guest.status(), 403);
    // An admin bans a moderator, for good.
    let response = as_cookie(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/accounts/mo/ban",
        ban(None),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json")["ban"]["until"],
        Value::Null
    );
    // A banned moderator moderates no more.
    let response = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/audit",
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_body(response).await["error"]["code"], "banned");
}

#[tokio::test]
async fn blocked_guests_are_refused_by_name_or_address_and_nobody_else_is() {
    let app = spawn_app().await;
    let moderator = app.signed_up_as("mo", Role::Moderator).await;
    let block = |body: Value| {
        let app = &app;
        let moderator = moderator.clone();
        async move { as_cookie(app, &moderator, reqwest::Method::POST, "/api/blocks", body).await }
    };
    let response = block(json!({ "guest_name": "Spammer", "reason": "spam" })).await;
    assert_eq!(response.status(), 201);
    let by_name: Value = response.json().await.expect("json");
    assert_eq!(
        (&by_name["kind"], &by_name["value"], &by_name["by"]),
        (&json!("name"), &json!("Spammer"), &json!("mo"))
    );
    let until = Utc::now() + chrono::Duration::hours(2);
    let response = block(json!({ "address": "127.0.0.7", "until": until })).await;
    assert_eq!(response.status(), 201);

    let from = |last: u8| support::client_from([127, 0, 0, last]);
    let send = |client: reqwest::Client, name: &'static str| {
        let app = &app;
        async move {
            client
                .post(app.url("/api/messages"))
                .json(&json!({ "username": name, "text": "hello" }))
                .send()
                .await
                .expect("request")
        }
    };
    for name in ["spammer", "SPAMMER", "Spаmmer"] {
        let response = send(from(8), name).await;
        assert_eq!(response.status(), 403, "{name}");
        let error = error_body(response).await;
        assert_eq!(error["error"]["code"], "blocked");
        assert_eq!(error["error"]["ban"]["reason"], "spam");
    }
    let response = send(from(7), "carol").await;
    assert_eq!(response.status(), 403, "a blocked address");
    let error = error_body(response).await;
    assert_eq!(error["error"]["code"], "blocked");
    assert!(error["error"]["ban"]["until"].is_string(), "{error}");
    let beat = json!({ "browser": Uuid::new_v4(), "tab": Uuid::new_v4(), "name": "carol" });
    let response = from(7)
        .post(app.url("/api/rooms/general/presence"))
        .json(&beat)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403, "not in presence either");
    assert_eq!(
        send(from(8), "carol").await.status(),
        201,
        "another address"
    );
    // An account from a blocked address is no guest: bans are for accounts.
    let signed_up = from(7)
        .post(app.url("/api/accounts"))
        .json(&json!({ "username": "dave", "password": support::PASSWORD }))
        .send()
        .await
        .expect("request");
    let dave = support::session_cookie(&signed_up);
    let response = from(7)
        .post(app.url("/api/messages"))
        .header("cookie", dave)
        .json(&json!({ "username": "dave", "text": "hello" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);

    // Refusals: nobody but moderators blocks; a block says what it is on.
    let member = app.signed_up("me").await;
    let response = as_cookie(
        &app,
        &member,
        reqwest::Method::POST,
        "/api/blocks",
        json!({ "guest_name": "x" }),
    )
    .await;
    assert_eq!(response.status(), 403);
    for body in [
        json!({}),
        json!({ "guest_name": "a", "address": "127.0.0.9" }),
        json!({ "address": "not an address" }),
        json!({ "guest_name": "a", "until": Utc::now() - chrono::Duration::hours(1) }),
    ] {
        assert_eq!(block(body.clone()).await.status(), 422, "{body}");
    }

    let listed: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/blocks",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(listed.len(), 2);
    let path = format!("/api/blocks/{}", by_name["id"]);
    let response = as_cookie(&app, &moderator, reqwest::Method::DELETE, &path, json!({})).await;
    assert_eq!(response.status(), 204);
    assert_eq!(send(from(8), "spammer").await.status(), 201, "lifted");
    let response = as_cookie(&app, &moderator, reqwest::Method::DELETE, &path, json!({})).await;
    assert_eq!(response.status(), 404);

    let audit: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/audit",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    let actions: Vec<&str> = audit.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions[..3], ["unblock", "block", "block"]);
}

#[tokio::test]
async fn moderators_set_slow_mode_lock_archive_and_guests_for_a_room() {
    let app = spawn_app().await;
    let moderator = app.signed_up_as("mo", Role::Moderator).await;
    let ada = app.signed_up("ada").await;
    let created = as_cookie(
        &app,
        &ada,
        reqwest::Method::POST,
        "/api/rooms",
        json!({ "name": "quiet" }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let patch = |cookie: &str, room: &str, body: Value| {
        let (app, cookie, path) = (&app, cookie.to_owned(), format!("/api/rooms/{room}"));
        async move { as_cookie(app, &cookie, reqwest::Method::PATCH, &path, body).await }
    };
    let post = |cookie: Option<&str>, body: Value| {
        let (app, cookie) = (&app, cookie.map(str::to_owned));
        async move {
            let mut request = app
                .client
                .post(app.url("/api/rooms/quiet/messages"))
                .json(&body);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send().await.expect("request")
        }
    };
    let says = |text: &str| json!({ "username": "gus", "text": text });

    // Who may, and what.
    assert_eq!(
        patch(&ada, "quiet", json!({ "locked": true }))
            .await
            .status(),
        403
    );
    for (room, body, status) in [
        ("quiet", json!({ "slow_mode_secs": 21_601 }), 422),
        ("quiet", json!({ "colour": "red" }), 422),
        ("general", json!({ "archived": true }), 422),
        ("nowhere", json!({ "locked": true }), 404),
    ] {
        assert_eq!(
            patch(&moderator, room, body.clone()).await.status(),
            status,
            "{body}"
        );
    }

    // Slow mode: once a minute each, moderators exempt.
    let response = patch(&moderator, "quiet", json!({ "slow_mode_secs": 60 })).await;
    assert_eq!(response.status(), 200);
    let room: Value = response.json().await.expect("json");
    assert_eq!(room["settings"]["slow_mode_secs"], 60);
    assert_eq!(post(Some(&ada), says("one")).await.status(), 201);
    let too_soon = post(Some(&ada), says("two")).await;
    assert_eq!(too_soon.status(), 429);
    let retry_after: u64 = too_soon.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let error = error_body(too_soon).await;
    assert_eq!(error["error"]["code"], "slow_mode");
    assert!(
        error["error"]["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms <= 60_000)
    );
    assert_eq!(post(None, says("a guest's")).await.status(), 201);
    assert_eq!(
        post(None, says("again")).await.status(),
        429,
        "a guest by its address"
    );
    for text in ["mod one", "mod two"] {
        assert_eq!(post(Some(&moderator), says(text)).await.status(), 201);
    }

    // Locked: moderators only, for messages and changes alike.
    let open_message: Value = post(Some(&moderator), says("before the lock"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        patch(
            &moderator,
            "quiet",
            json!({ "locked": true, "slow_mode_secs": 0 })
        )
        .await
        .status(),
        200
    );
    let locked = post(Some(&ada), says("three")).await;
    assert_eq!(locked.status(), 403);
    assert_eq!(error_body(locked).await["error"]["code"], "room_locked");
    let reaction = format!("/api/messages/{}/reactions/ok", open_message["id"]);
    let response = as_cookie(&app, &ada, reqwest::Method::PUT, &reaction, json!({})).await;
    assert_eq!(response.status(), 403, "no reaction either");
    assert_eq!(
        post(Some(&moderator), says("mod three")).await.status(),
        201
    );
    let history: Vec<Value> = app.get_json("/api/rooms/quiet/messages").await;
    assert_eq!(history.len(), 6, "reading stays open");

    // Closed to guests: accounts write, guests are told to sign in.
    patch(
        &moderator,
        "quiet",
        json!({ "locked": false, "guests": false }),
    )
    .await;
    assert_eq!(post(None, says("a guest")).await.status(), 401);
    assert_eq!(post(Some(&ada), says("four")).await.status(), 201);

    // Archived: out of the list for all but moderators, read-only.
    patch(&moderator, "quiet", json!({ "archived": true })).await;
    let listed = |cookie: String| {
        let app = &app;
        async move {
            let directory: Value =
                as_cookie(app, &cookie, reqwest::Method::GET, "/api/rooms", json!({}))
                    .await
                    .json()
                    .await
                    .expect("json");
            directory["rooms"]
                .as_array()
                .expect("rooms")
                .iter()
                .filter_map(|room| room["name"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(ada.clone()).await, ["general"]);
    assert_eq!(listed(moderator.clone()).await, ["general", "quiet"]);
    assert_eq!(post(Some(&ada), says("five")).await.status(), 403);
    let history: Vec<Value> = app.get_json("/api/rooms/quiet/messages").await;
    assert!(history.iter().any(|m| m["text"] == "four"), "history kept");

    let audit: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/audit",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    let settings_changes = audit
        .iter()
        .filter(|r| r["action"] == "room_settings")
        .count();
    assert_eq!(settings_changes, 4);
}

#[tokio::test]
async fn readers_report_messages_and_a_moderators_action_closes_the_reports() {
    let app = spawn_app().await;
    let moderator = app.signed_up_as("mo", Role::Moderator).await;
    let ada = app.signed_up("ada").await;
    let troll = app.signed_up("troll").await;
    let bad = sent_by(&app, &troll, "something nasty").await;
    let fine = app.send("bob", "something fine").await;
    let report = |cookie: Option<&str>, id: &Value, reason: &str| {
        let (app, cookie) = (&app, cookie.map(str::to_owned));
        let path = format!("/api/messages/{id}/reports");
        let body = json!({ "reason": reason });
        async move {
            let mut request = app.client.post(app.url(&path)).json(&body);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send().await.expect("request")
        }
    };
    // A signed-in reader and a guest report it; the same reader twice is
    // one report.
    let first = report(Some(&ada), &bad["id"], "abuse").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let again: Value = report(Some(&ada), &bad["id"], "abuse!")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(report(None, &bad["id"], "rude").await.status(), 201);
    assert_eq!(report(None, &fine["id"], "I disagree").await.status(), 201);
    assert_eq!(report(None, &json!(999_999), "?").await.status(), 404);
    let too_long = report(None, &fine["id"], &"x".repeat(501)).await;
    assert_eq!(too_long.status(), 422);

    // Only moderators see them, oldest first, with the message.
    let listed = as_cookie(&app, &ada, reqwest::Method::GET, "/api/reports", json!({})).await;
    assert_eq!(listed.status(), 403);
    let reports: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/reports",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    let seen: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| {
            (
                r["reporter"].as_str().unwrap_or(""),
                r["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("ada", "abuse"), ("guest", "rude"), ("guest", "I disagree")]
    );
    assert_eq!(reports[0]["message"]["text"], "something nasty");

    // Banning from a report closes both reports of that message.
    let act = |id: &Value, body: Value| {
        let (app, moderator, path) = (&app, moderator.clone(), format!("/api/reports/{id}"));
        async move { as_cookie(app, &moderator, reqwest::Method::POST, &path, body).await }
    };
    let response = act(&first["id"], json!({ "action": "ban", "reason": "abuse" })).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({ "message_id": bad["id"], "action": "ban", "closed": 2 })
    );
    let response = act(&first["id"], json!({ "action": "dismiss" })).await;
    assert_eq!(response.status(), 409, "closed already");
    let history = app.history("").await;
    assert_eq!(history[0]["removed"], true, "the message went with the ban");
    let troll_sends = as_cookie(
        &app,
        &troll,
        reqwest::Method::POST,
        "/api/messages",
        json!({ "username": "troll", "text": "hi" }),
    )
    .await;
    assert_eq!(error_body(troll_sends).await["error"]["code"], "banned");

    // A guest's message cannot be banned from; it can be dismissed.
    let reports: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/reports",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(reports.len(), 1);
    assert_eq!(
        act(&reports[0]["id"], json!({ "action": "ban" }))
            .await
            .status(),
        422
    );
    let response = act(&reports[0]["id"], json!({ "action": "dismiss" })).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.history("").await[1]["text"],
        "something fine",
        "dismissed: kept"
    );
    let reports: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/reports",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    assert!(reports.is_empty());
    assert_eq!(
        act(&json!(12345), json!({ "action": "dismiss" }))
            .await
            .status(),
        404
    );

    let audit: Vec<Value> = as_cookie(
        &app,
        &moderator,
        reqwest::Method::GET,
        "/api/audit",
        json!({}),
    )
    .await
    .json()
    .await
    .expect("json");
    let actions: Vec<&str> = audit.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions[..3], ["dismiss_reports", "remove_message", "ban"]);
}

#[tokio::test]
async fn the_moderators_page_lists_reports_acts_through_forms_and_escapes_what_it_shows() {
    let app = spawn_app().await;
    let moderator = app.signed_up_as("mo", Role::Admin).await;
    let nasty = app.send("mallory", "<script>alert(1)</script>").await;
    let response = app
        .client
        .post(app.url(&format!("/api/messages/{}/reports", nasty["id"])))
        .json(&json!({ "reason": "<b>xss</b>" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let report: Value = response.json().await.expect("json");

    // Nobody else sees it.
    let guest = app
        .client
        .get(app.url("/admin"))
        .send()
        .await
        .expect("request");
    assert_eq!(guest.status(), 403);
    assert!(
        guest
            .text()
            .await
            .expect("text")
            .contains("Only moderators")
    );

    let page = |path: &str| {
        let (app, moderator, path) = (&app, moderator.clone(), path.to_owned());
        async move {
            app.client
                .get(app.url(&path))
                .header("cookie", moderator)
                .send()
                .await
                .expect("request")
        }
    };
    let response = page("/admin").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|csp| csp.contains("default-src 'self'"))
    );
    let html = response.text().await.expect("text");
    assert!(html.contains("Open reports (1)"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped: {html}"
    );
    assert!(!html.contains("<script>"), "no script at all: {html}");
    assert!(html.contains("&lt;b&gt;xss&lt;/b&gt;"), "{html}");
    assert!(html.contains(r#"action="/admin/reports/"#), "{html}");
    assert!(
        html.contains(r#"action="/admin/roles""#),
        "an admin sets roles here"
    );

    // The form posts as a browser does (same origin), and comes back.
    let no_redirects = support::no_redirects();
    let form = |path: String, fields: &[(&str, &str)]| {
        let (app, moderator, client) = (&app, moderator.clone(), no_redirects.clone());
        let body = serde_urlencoded::to_string(fields).expect("form");
        async move {
            client
                .post(app.url(&path))
                .header("cookie", moderator)
                .header("origin", format!("http://{}", app.addr))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request")
        }
    };
    let done = form(
        format!("/admin/reports/{}", report["id"]),
        &[("action", "remove"), ("reason", "xss"), ("ban_hours", "")],
    )
    .await;
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(location.starts_with("/admin?done="), "{location}");
    assert_eq!(app.history("").await[0]["removed"], true);
    let again = form(
        format!("/admin/reports/{}", report["id"]),
        &[("action", "dismiss")],
    )
    .await;
    let location = again.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("/admin?error="),
        "closed already: {location}"
    );
    let html = page(&location).await.text().await.expect("text");
    assert!(html.contains("this report was closed already"), "{html}");
    assert!(html.contains("Open reports (0)"));

    // Blocks and roles through their forms; a form from elsewhere is refused.
    let blocked = form(
        "/admin/blocks".into(),
        &[("guest_name", "spammer"), ("hours", "24")],
    )
    .await;
    assert_eq!(blocked.status(), 303);
    assert!(
        page("/admin")
            .await
            .text()
            .await
            .expect("text")
            .contains("name spammer until")
    );
    let newmod = app.signed_up("newmod").await;
    form(
        "/admin/roles".into(),
        &[("name", "newmod"), ("role", "moderator")],
    )
    .await;
    let cross_site = app
        .post_form_from_another_site(
            "/admin/roles",
            Some(&moderator),
            &[("name", "newmod"), ("role", "admin")],
        )
        .await;
    assert_eq!(cross_site.status(), 403);

    let html = page("/admin/audit").await.text().await.expect("text");
    for action in ["remove_message", "block", "set_role"] {
        assert!(
            html.contains(&format!("<td>{action}</td>")),
            "{action}: {html}"
        );
    }
    let session: Value = app.get_json_as("/api/session", &newmod).await;
    assert_eq!(
        session["role"], "moderator",
        "the cross-site form changed nothing"
    );
}
