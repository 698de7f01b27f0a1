//! Behind a proxy every connection comes from the proxy: the server must
//! tell its clients apart by what a proxy it trusts (`--trusted-proxy`)
//! says, and believe nobody else. Through a real nginx, with clients on
//! different loopback addresses (127.0.0.2 is A, 127.0.0.3 is B).

mod support;

use std::num::NonZeroU32;

use serde_json::json;
use server::{config::Config, rate::RateLimit, slots::StreamsPerIp};
use support::{PASSWORD, TestApp, client_from, nginx::Nginx, spawn_app_with};

const A: [u8; 4] = [127, 0, 0, 2];
const B: [u8; 4] = [127, 0, 0, 3];

/// A server trusting the proxy on 127.0.0.1, with `configure`'s limits.
async fn behind_nginx(configure: impl FnOnce(&mut Config)) -> Option<(TestApp, Nginx)> {
    let app = spawn_app_with(|config| {
        config.trusted_proxy = vec!["127.0.0.1/32".parse().expect("network")];
        configure(config);
    })
    .await;
    let nginx = Nginx::start(app.addr).await?;
    Some((app, nginx))
}

/// A guest's send to `url`, with an `X-Forwarded-For` of the client's own
/// if given; the status.
async fn send(client: &reqwest::Client, url: &str, forged: Option<&str>) -> u16 {
    let mut request = client
        .post(format!("{url}/api/messages"))
        .json(&json!({ "username": "guest", "text": "hello" }));
    if let Some(forged) = forged {
        request = request.header("x-forwarded-for", forged);
    }
    request.send().await.expect("request").status().as_u16()
}

/// Sends until the send limit refuses one (a busy machine may refill the
/// bucket between two sends: the limit is what is tested, not its timing).
async fn exhaust_sends(client: &reqwest::Client, url: &str, forged: Option<&str>) {
    for _ in 0..50 {
        match send(client, url, forged).await {
            201 => {}
            429 => return,
            other => panic!("unexpected status {other}"),
        }
    }
    panic!("the send limit never answered 429");
}

fn limited_sends(config: &mut Config) {
    config.send_limit = RateLimit::per_second(1, 2);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_send_budget() {
    let Some((app, nginx)) = behind_nginx(limited_sends).await else {
        return;
    };
    let (a, b) = (client_from(A), client_from(B));
    let proxied = nginx.url("");
    exhaust_sends(&a, &proxied, None).await;
    assert_eq!(send(&b, &proxied, None).await, 201, "B is not A");
    // A naming B in its own header only adds to the left of what nginx
    // wrote: still A.
    assert_eq!(send(&a, &proxied, Some("127.0.0.3")).await, 429);
    drop(nginx);
    app.shutdown().await;
}

#[tokio::test]
async fn a_forwarded_for_header_from_an_untrusted_peer_is_not_believed() {
    let Some((app, nginx)) = behind_nginx(limited_sends).await else {
        return;
    };
    let (a, b) = (client_from(A), client_from(B));
    let direct = app.url("");
    // A, straight to the server, claims to be B: it spends its own budget.
    exhaust_sends(&a, &direct, Some("127.0.0.3")).await;
    assert_eq!(send(&b, &direct, None).await, 201, "B's budget is whole");
    assert_eq!(send(&a, &direct, Some("127.0.0.4")).await, 429);
    drop(nginx);
    app.shutdown().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_failed_sign_ins_lock_out_only_their_client() {
    let Some((app, nginx)) = behind_nginx(|_| {}).await else {
        return;
    };
    let (a, b) = (client_from(A), client_from(B));
    let sign_up = b
        .post(nginx.url("/api/accounts"))
        .json(&json!({ "username": "bob", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(sign_up.status(), 201);
    let sign_in = |client: &reqwest::Client, password: &str| {
        client
            .post(nginx.url("/api/session"))
            .json(&json!({ "username": "bob", "password": password }))
            .send()
    };
    let mut refused = false;
    for _ in 0..40 {
        let status = sign_in(&a, "a wrong guess")
            .await
            .expect("request")
            .status();
        if status == 429 {
            refused = true;
            break;
        }
        assert_eq!(status, 401);
    }
    assert!(refused, "A's guesses were never refused");
    let owner = sign_in(&b, PASSWORD).await.expect("request");
    assert_eq!(owner.status(), 200, "the owner, elsewhere, signs in");
    drop(nginx);
    app.shutdown().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_streams() {
    let Some((app, nginx)) = behind_nginx(|config| {
        config.streams_per_ip = StreamsPerIp::AtMost(NonZeroU32::new(1).expect("1"));
    })
    .await
    else {
        return;
    };
    let (a, b) = (client_from(A), client_from(B));
    let open = |client: &reqwest::Client| client.get(nginx.url("/api/events")).send();
    let held = open(&a).await.expect("request");
    assert_eq!(held.status(), 200);
    assert_eq!(
        open(&a).await.expect("request").status(),
        429,
        "A's one stream"
    );
    let other = open(&b).await.expect("request");
    assert_eq!(other.status(), 200, "B is not A");
    drop((held, other));
    drop(nginx);
    app.shutdown().await;
}
