//! The page's security headers: only the site's own scripts run, and the
//! page cannot be framed.

mod support;

use support::{spawn_app, temp_database};

#[tokio::test]
async fn the_page_allows_only_its_own_nonce_script_and_no_framing() {
    let (_dir, db) = temp_database();
    let app = spawn_app(db).await;
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
    let (_dir, db) = temp_database();
    let app = spawn_app(db).await;
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
