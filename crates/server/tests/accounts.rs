//! Accounts over the JSON API: sign up, sign in, sign out, who am I.

mod support;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use support::{PASSWORD, TestApp, error_body, session_cookie, spawn_app, spawn_app_with};

/// `POST` `body` to `path` with `cookie` (a `name=value` pair), if any.
async fn post(app: &TestApp, path: &str, body: &Value, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).json(body);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.expect("request")
}

async fn sign_up(app: &TestApp, username: &str) -> reqwest::Response {
    let body = json!({ "username": username, "password": PASSWORD });
    post(app, "/api/accounts", &body, None).await
}

async fn sign_in(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    let body = json!({ "username": username, "password": password });
    post(app, "/api/session", &body, None).await
}

fn set_cookie(response: &reqwest::Response) -> String {
    response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// `GET /api/session` with `cookie`: the status and the name, if any.
async fn who(app: &TestApp, cookie: &str) -> (StatusCode, Option<String>) {
    let response = app
        .client
        .get(app.url("/api/session"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    (status, body["username"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn signing_up_signs_in_with_an_http_only_lax_cookie() {
    let app = spawn_app().await;
    let response = sign_up(&app, "  Ada  ").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let flags = set_cookie(&response);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(flags.contains(flag), "{flag} in {flags}");
    }
    assert!(!flags.contains("Secure"), "plain http: {flags}");
    let cookie = session_cookie(&response);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({ "username": "Ada", "role": "member" }));
    assert_eq!(
        who(&app, &cookie).await,
        (StatusCode::OK, Some("Ada".into()))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_site_is_served_over_https() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://chat.example.org".into());
    })
    .await;
    let response = app
        .client
        .post(app.url("/api/accounts"))
        .header(header::HOST, "chat.example.org")
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(set_cookie(&response).contains("Secure"));
    app.shutdown().await;
}

#[tokio::test]
async fn nobody_signed_in_is_401() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/session"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(response).await["error"]["code"], "unauthorized");
    // A cookie that is no session's is nobody too.
    let forged = format!("chat_session={}", "ab".repeat(32));
    assert_eq!(who(&app, &forged).await.0, StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

/// Signs up as `name`, which must be refused as invalid (422): the
/// error body.
async fn refused_sign_up(app: &TestApp, name: &str) -> Value {
    let response = sign_up(app, name).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{name}"
    );
    error_body(response).await
}

#[tokio::test]
async fn a_name_is_taken_whatever_its_case_or_look_alike_letters() {
    let app = spawn_app().await;
    assert_eq!(sign_up(&app, "ada").await.status(), StatusCode::CREATED);
    assert_eq!(sign_up(&app, "paypal").await.status(), StatusCode::CREATED);
    // Upper case, a Cyrillic а (U+0430) in place of the Latin a, a capital
    // I for a small l (folded before case, or it became an i), circled and
    // full-width letters.
    for name in [
        "ada",
        "ADA",
        "\u{0430}da",
        "paypaI",
        "PAYPAI",
        "ⓟⓐⓨⓟⓐⓛ",
        "ｐａｙｐａｌ",
    ] {
        let body = refused_sign_up(&app, name).await;
        assert_eq!(body["error"]["field"], "username");
        assert_eq!(body["error"]["rule"], "taken", "{name}");
    }
    assert_eq!(sign_up(&app, "bob").await.status(), StatusCode::CREATED);
    app.shutdown().await;
}

#[tokio::test]
async fn letters_that_pass_for_common_ones_are_refused_in_new_names() {
    let app = spawn_app().await;
    // Small capitals and IPA letters: no confusables entry, and Unicode
    // restricts them from identifiers.
    for name in ["ᴘᴀʏᴘᴀʟ", "ᴀᴅᴀ", "bɪll"] {
        let body = refused_sign_up(&app, name).await;
        assert_eq!(body["error"]["rule"], "restricted_letter", "{name}");
        // Nor may a guest use it.
        let response = send(&app, name, "hi", None).await;
        assert_eq!(
            error_body(response).await["error"]["rule"],
            "restricted_letter"
        );
    }
    app.assert_nothing_stored().await;
    assert_eq!(sign_up(&app, "Алёна").await.status(), StatusCode::CREATED);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_names_and_passwords_say_which_rule() {
    let app = spawn_app().await;
    for (username, password, field, rule) in [
        ("ada", "short", "password", "too_short"),
        ("ada", "", "password", "required"),
        ("", PASSWORD, "username", "required"),
        ("a\u{200b}da", PASSWORD, "username", "invisible_character"),
    ] {
        let body = json!({ "username": username, "password": password });
        let response = post(&app, "/api/accounts", &body, None).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = error_body(response).await;
        assert_eq!(
            (
                body["error"]["field"].as_str(),
                body["error"]["rule"].as_str()
            ),
            (Some(field), Some(rule))
        );
    }
    // Nothing was created: the name is still free.
    assert_eq!(sign_up(&app, "ada").await.status(), StatusCode::CREATED);
    app.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_name_get_the_same_answer() {
    let app = spawn_app().await;
    sign_up(&app, "ada").await;
    let wrong_password = sign_in(&app, "ada", "not her password").await;
    let unknown_name = sign_in(&app, "nobody", "not her password").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_name.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_password.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(
        error_body(wrong_password).await,
        error_body(unknown_name).await
    );
    app.shutdown().await;
}

#[tokio::test]
async fn every_sign_in_makes_a_new_session_and_signing_out_ends_it() {
    let app = spawn_app().await;
    sign_up(&app, "ada").await;
    // The name is matched as people see it: case and look-alikes too.
    let first = sign_in(&app, "ADA", PASSWORD).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = session_cookie(&first);
    let second = session_cookie(&sign_in(&app, "ada", PASSWORD).await);
    assert_ne!(first, second, "a new token on every sign-in");
    assert_eq!(
        who(&app, &first).await,
        (StatusCode::OK, Some("ada".into()))
    );

    let response = app
        .client
        .delete(app.url("/api/session"))
        .header(header::COOKIE, &first)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        set_cookie(&response).contains("Max-Age=0"),
        "removes the cookie"
    );
    assert_eq!(who(&app, &first).await.0, StatusCode::UNAUTHORIZED);
    // The other browser's session goes on.
    assert_eq!(who(&app, &second).await.0, StatusCode::OK);
    app.shutdown().await;
}

#[tokio::test]
async fn repeated_failed_sign_ins_for_a_name_are_refused_for_a_while() {
    let app = spawn_app().await;
    sign_up(&app, "ada").await;
    for _ in 0..10 {
        let response = sign_in(&app, "ada", "guess guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password now: the name waits.
    let response = sign_in(&app, "ada", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(error_body(response).await["error"]["code"], "rate_limited");
    app.shutdown().await;
}

#[tokio::test]
async fn a_strangers_failures_do_not_lock_the_owner_out() {
    let app = spawn_app().await;
    sign_up(&app, "ada").await;
    // The stranger, from an address of their own.
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let guess = json!({ "username": "ada", "password": "guess guess" });
    for _ in 0..10 {
        let response = stranger
            .post(app.url("/api/session"))
            .json(&guess)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = stranger
        .post(app.url("/api/session"))
        .json(&guess)
        .send()
        .await
        .expect("request");
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    // Ada, from home, signs in.
    let response = sign_in(&app, "ada", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    app.shutdown().await;
}

#[tokio::test]
async fn sign_ins_sent_all_at_once_are_counted_before_any_is_hashed() {
    let app = spawn_app().await;
    // One address, 40 names at once: all would pass a count taken after
    // each hash. (Different names: the per-name count stops none of them.)
    let names: Vec<String> = (0..40).map(|i| format!("nobody{i}")).collect();
    let answers =
        futures::future::join_all(names.iter().map(|name| sign_in(&app, name, "guess guess")))
            .await;
    let refused = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let wrong = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!((wrong, refused), (30, 10));
    app.shutdown().await;
}

#[tokio::test]
async fn another_sites_page_cannot_sign_in_or_out() {
    let app = spawn_app().await;
    sign_up(&app, "ada").await;
    for (method, path) in [
        (reqwest::Method::POST, "/api/session"),
        (reqwest::Method::POST, "/api/accounts"),
        (reqwest::Method::DELETE, "/api/session"),
    ] {
        let response = app
            .client
            .request(method, app.url(path))
            .header(header::ORIGIN, "https://evil.example")
            .json(&json!({ "username": "mallory", "password": PASSWORD }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    app.shutdown().await;
}

/// `POST /api/messages` as `cookie` (or a guest).
async fn send(
    app: &TestApp,
    username: &str,
    text: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let body = json!({ "username": username, "text": text });
    post(app, "/api/messages", &body, cookie).await
}

#[tokio::test]
async fn a_signed_in_persons_message_carries_the_accounts_name_whatever_the_body_says() {
    let app = spawn_app().await;
    let cookie = app.signed_up("Ada").await;
    let response = send(&app, "mallory", "hello", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let message: Value = response.json().await.expect("json");
    assert_eq!(message["username"], "Ada");
    assert_eq!(message["guest"], false);
    // As stored and as everyone reads it.
    assert_eq!(app.history("").await, [message]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_guest_cannot_send_under_an_accounts_name_or_a_look_alike() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    app.signed_up("bill").await;
    for name in ["ada", "Ada", "\u{0430}da", "biII", "ⓑⓘⓛⓛ"] {
        let response = send(&app, name, "it is me", None).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let body = error_body(response).await;
        assert_eq!(body["error"]["rule"], "taken", "{name}");
    }
    app.assert_nothing_stored().await;
    let response = send(&app, "bob", "hi", None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let message: Value = response.json().await.expect("json");
    assert_eq!(
        (&message["username"], &message["guest"]),
        (&json!("bob"), &json!(true))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn with_guests_off_only_accounts_may_send_and_everyone_may_read() {
    let app = spawn_app_with(|config| {
        config.guests = server::config::Guests::Off;
    })
    .await;
    let response = send(&app, "bob", "hi", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(response).await["error"]["code"], "unauthorized");
    app.assert_nothing_stored().await;
    let cookie = app.signed_up("ada").await;
    assert_eq!(
        send(&app, "", "hi", Some(&cookie)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.history("").await.len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_signed_in_sender_is_limited_per_account_not_per_address() {
    let app = spawn_app_with(|config| {
        config.send_limit = "1,2".parse().expect("limit");
    })
    .await;
    let ada = app.signed_up("ada").await;
    for i in 0..2 {
        let response = send(&app, "", &format!("ada {i}"), Some(&ada)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let response = send(&app, "", "ada again", Some(&ada)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    // A guest at the same address has a bucket of its own, and so does a
    // made-up cookie, which counts as that address.
    assert_eq!(
        send(&app, "bob", "hi", None).await.status(),
        StatusCode::CREATED
    );
    let forged = format!("chat_session={}", "ab".repeat(32));
    assert_eq!(
        send(&app, "bob", "hi again", Some(&forged)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        send(&app, "bob", "and again", Some(&forged)).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_failed_sign_in_leaves_the_browsers_session_alone() {
    let app = spawn_app().await;
    let ada = set_cookie(&sign_up(&app, "ada").await);
    let ada = ada.split(';').next().expect("name=value").to_owned();
    sign_up(&app, "bob").await;
    let body = json!({ "username": "bob", "password": "not bob's" });
    let failed = post(&app, "/api/session", &body, Some(&ada)).await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        who(&app, &ada).await,
        (StatusCode::OK, Some("ada".to_owned()))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn one_address_makes_a_few_accounts_an_hour() {
    let app = spawn_app().await;
    for i in 0..server::accounts::ACCOUNTS_PER_HOUR {
        let response = sign_up(&app, &format!("user{i}")).await;
        assert_eq!(response.status(), StatusCode::CREATED, "user{i}");
    }
    let refused = sign_up(&app, "one more").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body = error_body(refused).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        body["error"]["message"],
        "too many accounts made from this address; try again later"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_sign_in_page_signs_up_and_in_and_goes_back_to_the_room() {
    let app = spawn_app().await;
    let client = support::no_redirects();
    let submit = |form: &[(&str, &str)], cookie: Option<&str>| {
        let mut request = client.post(app.url("/sign-in")).form(form);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send()
    };

    // The form, script-free, carrying the room to come back to.
    let page = client
        .get(app.url("/sign-in?room=caf%C3%A9%20talk"))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .is_ok_and(|csp| csp.contains("script-src 'none'"))
    );
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"name="room" value="café talk""#), "{html}");

    // Signing up: the session cookie, and back to the room's page.
    let up = submit(
        &[
            ("username", "ada"),
            ("password", PASSWORD),
            ("action", "sign-up"),
            ("room", "café talk"),
        ],
        None,
    )
    .await
    .expect("request");
    assert_eq!(up.status(), StatusCode::SEE_OTHER);
    assert_eq!(up.headers()[header::LOCATION], "/r/caf%C3%A9%20talk");
    let first = session_cookie(&up);
    assert_eq!(
        who(&app, &first).await,
        (StatusCode::OK, Some("ada".to_owned()))
    );

    // A wrong password: the form again with why and the name, nobody
    // signed out, no cookie set.
    let wrong = submit(
        &[
            ("username", "ada"),
            ("password", "not the password"),
            ("action", "sign-in"),
        ],
        Some(&first),
    )
    .await
    .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let html = wrong.text().await.expect("html");
    assert!(
        html.contains("account-error") && html.contains("wrong username or password"),
        "{html}"
    );
    assert!(html.contains(r#"value="ada""#) && !html.contains("not the password"));
    assert_eq!(who(&app, &first).await.1.as_deref(), Some("ada"));

    // Signing in replaces the browser's session, as the JSON API does;
    // with no room named, back to general.
    let again = submit(
        &[
            ("username", "ADA"),
            ("password", PASSWORD),
            ("action", "sign-in"),
        ],
        Some(&first),
    )
    .await
    .expect("request");
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.headers()[header::LOCATION], "/");
    let second = session_cookie(&again);
    assert_eq!(who(&app, &second).await.1.as_deref(), Some("ada"));
    assert_eq!(who(&app, &first).await.0, StatusCode::UNAUTHORIZED);

    // From an invitation, back to the invitation.
    let html = app.page_html("/sign-in?invite=0123abcd", None).await;
    assert!(html.contains(r#"name="invite" value="0123abcd""#), "{html}");
    let invited = submit(
        &[
            ("username", "ada"),
            ("password", PASSWORD),
            ("action", "sign-in"),
            ("invite", "0123abcd"),
        ],
        None,
    )
    .await
    .expect("request");
    assert_eq!(invited.headers()[header::LOCATION], "/invite/0123abcd");

    // The room named only ever makes a path of this site.
    let elsewhere = submit(
        &[
            ("username", "ada"),
            ("password", PASSWORD),
            ("action", "sign-in"),
            ("room", "//evil.example/x"),
        ],
        None,
    )
    .await
    .expect("request");
    assert_eq!(
        elsewhere.headers()[header::LOCATION],
        "/r/%2F%2Fevil.example%2Fx"
    );

    // A taken name is refused with the rule; another site's post is
    // refused before anything happens.
    let taken = submit(
        &[
            ("username", "Ada"),
            ("password", PASSWORD),
            ("action", "sign-up"),
        ],
        None,
    )
    .await
    .expect("request");
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .text()
            .await
            .expect("html")
            .contains("belongs to an account")
    );
    let forged = app
        .post_form_from_another_site(
            "/sign-in",
            None,
            &[
                ("username", "ada"),
                ("password", PASSWORD),
                ("action", "sign-in"),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get(header::SET_COOKIE).is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn the_sign_out_form_ends_the_session_and_goes_back_to_the_room() {
    let app = spawn_app().await;
    let cookie = session_cookie(&sign_up(&app, "ada").await);
    let other = session_cookie(&sign_in(&app, "ada", PASSWORD).await);

    // Another site's post is refused before anything happens.
    let forged = app
        .post_form_from_another_site("/sign-out", Some(&cookie), &[("room", "general")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(who(&app, &cookie).await.0, StatusCode::OK);

    // The header's form: the cookie removed, the session ended, and back
    // to the room named (only ever a path of this site).
    let out = support::no_redirects()
        .post(app.url("/sign-out"))
        .header(header::COOKIE, &cookie)
        .form(&[("room", "café talk")])
        .send()
        .await
        .expect("request");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()[header::LOCATION], "/r/caf%C3%A9%20talk");
    assert!(set_cookie(&out).contains("Max-Age=0"), "removes the cookie");
    assert_eq!(who(&app, &cookie).await.0, StatusCode::UNAUTHORIZED);
    // The account's other browser stays signed in.
    assert_eq!(who(&app, &other).await.0, StatusCode::OK);

    // Never signed in: back to the room all the same.
    let again = support::no_redirects()
        .post(app.url("/sign-out"))
        .form(&[("room", "//evil.example/x")])
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        again.headers()[header::LOCATION],
        "/r/%2F%2Fevil.example%2Fx"
    );
    app.shutdown().await;
}
