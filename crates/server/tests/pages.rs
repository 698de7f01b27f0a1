//! The page's security headers (only the site's own scripts run, the page
//! cannot be framed, no shared cache keeps it), and what it shows before
//! any script runs.

mod support;

use support::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_page_allows_only_its_own_nonce_script_and_no_framing() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/")).send().await.expect("page");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let policy = headers["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");

    // The hydration script carries the nonce the policy names.
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    let html = response.text().await.expect("html");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts carry the nonce {nonce}"
    );

    // A new response, a new nonce.
    let again = app.client.get(app.url("/")).send().await.expect("page");
    assert_ne!(
        again.headers()["content-security-policy"],
        headers["content-security-policy"]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_not_found_page_has_its_policy_too() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), 404);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    app.shutdown().await;
}

#[tokio::test]
async fn the_page_shows_the_signed_in_account_and_no_shared_cache_keeps_it() {
    let app = spawn_app().await;
    let cookie = app.signed_up("Grace").await;
    let response = app
        .client
        .get(app.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(response.headers()["cache-control"], "private, no-cache");
    let html = response.text().await.expect("html");
    assert_eq!(
        text_of(&html, "account-name"),
        Some("Grace"),
        "the header names the account"
    );
    assert_eq!(
        text_of(&html, "sender-name"),
        Some("Grace"),
        "the composer sends as the account"
    );
    assert!(!html.contains("username-input"), "no free Username field");

    let guest = app.client.get(app.url("/")).send().await.expect("page");
    let html = guest.text().await.expect("html");
    assert!(
        html.contains(r#"data-test="open-sign-in""#),
        "a guest may sign in"
    );
    assert!(html.contains("username-input"), "a guest types a name");
    app.shutdown().await;
}

#[tokio::test]
async fn with_guests_off_a_guest_sees_they_must_sign_in_to_send() {
    let app = spawn_app_with(|config| config.guests = server::config::Guests::Off).await;
    let html = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let prompt = tag_of(&html, "sign-in-to-send").expect("the prompt is on the page");
    assert!(!prompt.contains("hidden"), "the prompt shows: {prompt}");
    app.shutdown().await;
}

/// The opening tag of the element marked `data-test="{test}"`.
fn tag_of<'a>(html: &'a str, test: &str) -> Option<&'a str> {
    let marker = format!(r#"data-test="{test}""#);
    let at = html.find(&marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    Some(&html[start..=end])
}

/// The text right inside the element marked `data-test="{test}"`.
fn text_of<'a>(html: &'a str, test: &str) -> Option<&'a str> {
    let tag = tag_of(html, test)?;
    let after = &html[html.find(tag)? + tag.len()..];
    Some(&after[..after.find('<')?])
}
