//! Test helpers: a real server on `127.0.0.1:0` and a small SSE reader.

#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod nginx;
pub mod postgres;
pub mod proxy;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use server::{
    client::ProxyHeader,
    config::{Config, Guests, Timing},
    rate::RateLimit,
    slots::StreamsPerIp,
    store::Durability,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// Runs each named test (an `async fn(Store)` of the invoking module) on a
/// fresh SQLite file and on a fresh PostgreSQL database, as
/// `sqlite::<name>` and `postgres::<name>`.
#[allow(unused_macros)]
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, path) = crate::support::temp_database();
                    let url = format!("sqlite://{}", path.display());
                    let store = server::store::Store::open(&url, server::store::Durability::Full)
                        .await
                        .expect("opens");
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = crate::support::postgres::fresh_database().await else {
                        return;
                    };
                    let store = server::store::Store::open(&url, server::store::Durability::Full)
                        .await
                        .expect("opens");
                    super::$name(store).await;
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use contract;

/// A server running on its own port and database.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The database it serves (for the operator's tools beside it).
    pub database_url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    /// The folder of the server's own database, removed with the app
    /// (`None` when the test owns the database).
    _dir: Option<tempfile::TempDir>,
}

/// An HTTP client whose connections come from `ip` (any of 127.0.0.0/8 is
/// this machine), so that one test can be several clients.
pub fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("client")
}

/// A fresh database in a folder that lives as long as the returned guard,
/// for a test that starts more than one server on it.
pub fn temp_database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("chat.db");
    (dir, path)
}

/// Starts a server on a fresh database of its own, waiting until it
/// accepts requests.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the test's own settings (limits, say).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (dir, database) = temp_database();
    let mut app = try_spawn_app_on(sqlite_url(&database), configure)
        .await
        .expect("server starts");
    app._dir = Some(dir);
    app
}

/// Starts a server on the SQLite file at `database`, which the test keeps
/// (to restart a server on it, say).
pub async fn spawn_app_at(database: PathBuf) -> TestApp {
    try_spawn_app_at(database).await.expect("server starts")
}

/// Like [`spawn_app_at`], or why the server stopped before it accepted
/// requests.
pub async fn try_spawn_app_at(database: PathBuf) -> anyhow::Result<TestApp> {
    try_spawn_app_on(sqlite_url(&database), |_| {}).await
}

/// Starts a server on the database at `url` (e.g. `postgres://…`).
pub async fn spawn_app_on(url: &str) -> TestApp {
    try_spawn_app_on(url.to_owned(), |_| {})
        .await
        .expect("server starts")
}

/// A client that does not follow redirects, to see where a page's form
/// sends the browser.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Like [`spawn_app_on`], with the test's own settings.
pub async fn spawn_app_on_with(url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
    try_spawn_app_on(url.to_owned(), configure)
        .await
        .expect("server starts")
}

fn sqlite_url(database: &std::path::Path) -> String {
    format!("sqlite://{}", database.display())
}

async fn try_spawn_app_on(
    database_url: String,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<TestApp> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let mut config = Config {
        addr,
        database_url,
        site_root: "target/site".into(),
        public_url: None,
        send_limit: RateLimit::Off,
        read_limit: RateLimit::Off,
        streams_per_ip: StreamsPerIp::default(),
        max_connections: None,
        durability: Durability::Full,
        guests: Guests::On,
        trusted_proxy: Vec::new(),
        trusted_proxy_header: ProxyHeader::XForwardedFor,
        timing: Timing::default(),
        response_budget: Default::default(),
        audit_keeps_text: false,
        account_limit: server::config::AccountLimit::On,
        command: None,
    };
    configure(&mut config);
    let database_url = config.database_url.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::run(listener, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    let app = TestApp {
        addr,
        database_url,
        client: reqwest::Client::new(),
        stop: Some(stop),
        task,
        _dir: None,
    };
    // The listener is bound already; this waits for the store to open.
    for _ in 0..200 {
        if app.task.is_finished() {
            return Err(app
                .task
                .await
                .expect("server task")
                .expect_err("stopped early"));
        }
        if let Ok(response) = app.client.get(app.url("/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(app);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server did not become healthy");
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `POST /api/messages` with a JSON body.
    pub async fn post(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/messages"))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Sends a valid message and returns it as stored.
    pub async fn send(&self, username: &str, text: &str) -> Value {
        let response = self
            .post(&json!({ "username": username, "text": text }))
            .await;
        assert_eq!(response.status(), 201, "send should succeed");
        response.json().await.expect("json")
    }

    /// `POST`s `body` as JSON to `path`.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.call(path).json(body).send().await.expect("request")
    }

    /// Sends a valid message to `room` as the guest `username` and returns
    /// it as stored.
    pub async fn send_to(&self, room: &str, username: &str, text: &str) -> Value {
        let body = json!({ "username": username, "text": text });
        let response = self
            .post_json(&format!("/api/rooms/{room}/messages"), &body)
            .await;
        assert_eq!(response.status(), 201, "send should succeed");
        response.json().await.expect("json")
    }

    /// `GET`s `path`, expects `200 OK`, and reads the body as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    /// `GET`s `path` as the holder of `cookie` (a `name=value` pair),
    /// expects `200 OK`, and reads the body as JSON.
    pub async fn get_json_as<T: serde::de::DeserializeOwned>(&self, path: &str, cookie: &str) -> T {
        let response = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    /// `GET`s the page at `path` as the holder of `cookie` (if any),
    /// expects `200 OK`, and returns its HTML.
    pub async fn page_html(&self, path: &str, cookie: Option<&str>) -> String {
        let mut request = self.client.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.expect("html")
    }

    /// Posts `form` to `path` as another site's page would, through the
    /// browser of the holder of `cookie` (if any): its `Origin` names that
    /// site. Redirects are not followed.
    pub async fn post_form_from_another_site(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = no_redirects()
            .post(self.url(path))
            .header("origin", "https://evil.example")
            .form(form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("request")
    }

    /// `GET /api/messages` with the given query string.
    pub async fn history(&self, query: &str) -> Vec<Value> {
        let response = self
            .client
            .get(self.url(&format!("/api/messages{query}")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// Opens `GET /api/events` (with `query` and, if given, `Last-Event-ID`).
    /// On this app's client, whose pooled connection is reused if idle.
    pub async fn events(&self, query: &str, last_event_id: Option<i64>) -> EventReader {
        self.events_with(&self.client, query, last_event_id).await
    }

    /// Like [`Self::events`], on a connection of its own.
    pub async fn events_on_new_connection(
        &self,
        query: &str,
        last_event_id: Option<i64>,
    ) -> EventReader {
        self.events_with(&reqwest::Client::new(), query, last_event_id)
            .await
    }

    async fn events_with(
        &self,
        client: &reqwest::Client,
        query: &str,
        last_event_id: Option<i64>,
    ) -> EventReader {
        let mut request = client.get(self.url(&format!("/api/events{query}")));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 200);
        EventReader::from_response(response)
    }

    /// Asserts that the chat holds no message.
    pub async fn assert_nothing_stored(&self) {
        assert!(
            self.history("").await.is_empty(),
            "nothing should be stored"
        );
    }

    /// Signs up `username` (with [`PASSWORD`]) and returns the session
    /// cookie, `chat_session=<token>`.
    pub async fn signed_up(&self, username: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/accounts"))
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 201, "sign-up should succeed");
        session_cookie(&response)
    }

    /// Signs up `username` and gives it `role` as the operator's command
    /// line does (on the running server's database); the session cookie.
    pub async fn signed_up_as(&self, username: &str, role: shared::account::Role) -> String {
        let cookie = self.signed_up(username).await;
        server::accounts::grant(&self.database_url, username, role)
            .await
            .expect("grants");
        cookie
    }

    /// Calls a server function as the page does: `POST` of a JSON body to
    /// its path (`<app::api::SendMessage as ServerFn>::PATH`).
    pub fn call(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// Triggers shutdown and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task
            .await
            .expect("server task")
            .expect("server stopped cleanly");
    }
}

/// The password test accounts sign up with.
pub const PASSWORD: &str = "correct horse battery";

/// The `name=value` of the session cookie a response sets.
pub fn session_cookie(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

/// Sends `head` on a fresh connection and returns the response's status
/// line (at most 10 s later).
pub async fn status_line(addr: SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("request");
    let mut response = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut response))
        .await
        .expect("an answer within 10 s")
        .expect("response");
    let text = String::from_utf8_lossy(&response[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

/// The JSON error body of `response`, after checking that it is one.
pub async fn error_body(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("json error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

/// Asserts what every event stream's response carries, whoever served it:
/// its content type, no caching, no buffering by proxies, no compression.
pub fn assert_stream_headers(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("content-encoding").is_none(), "{headers:?}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

/// One parsed SSE event.
#[derive(Debug)]
pub struct SseEvent {
    /// The `event:` field; `None` for a plain message event.
    pub kind: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// Reads events from an SSE response, skipping keep-alive comments.
pub struct EventReader {
    pub response_headers: reqwest::header::HeaderMap,
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl EventReader {
    pub fn from_response(response: reqwest::Response) -> Self {
        Self {
            response_headers: response.headers().clone(),
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the stream ended. Panics after a
    /// minute: a guard against a test that hangs, not a deadline.
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(Duration::from_secs(60), self.next_event())
            .await
            .expect("an event within a minute")
    }

    async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_event(&block) {
                    return Some(event);
                }
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self
                    .buffer
                    .push_str(std::str::from_utf8(&chunk).expect("utf-8")),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The data of the next passing event of type `kind` (skipping every
    /// other event), as JSON. Panics after a minute of waiting in all (the
    /// stream's pings would keep [`Self::next`]'s own guard from firing).
    pub async fn next_passing(&mut self, kind: &str) -> Value {
        within_a_minute(async {
            loop {
                let event = self.next().await.expect("stream open");
                if event.kind.as_deref() == Some(kind) {
                    assert!(event.id.is_none(), "passing events carry no id");
                    return serde_json::from_str(&event.data).expect("json");
                }
            }
        })
        .await
    }

    /// The next `n` entries of the log (new messages and changes) as (id,
    /// `event:` type, message JSON), skipping pings and passing events.
    /// Panics after a minute of waiting in all.
    pub async fn take_entries(&mut self, n: usize) -> Vec<(i64, Option<String>, Value)> {
        within_a_minute(async {
            let mut entries = Vec::with_capacity(n);
            while entries.len() < n {
                let event = self.next().await.expect("stream ended early");
                let Some(id) = event.id else {
                    continue;
                };
                let id = id.parse().expect("numeric id");
                entries.push((
                    id,
                    event.kind,
                    serde_json::from_str(&event.data).expect("json"),
                ));
            }
            entries
        })
        .await
    }

    /// The next `n` message events as (id, message JSON), skipping pings.
    /// Panics after a minute of waiting in all.
    pub async fn take(&mut self, n: usize) -> Vec<(i64, Value)> {
        within_a_minute(async {
            let mut events = Vec::with_capacity(n);
            while events.len() < n {
                let event = self.next().await.expect("stream ended early");
                if event.kind.is_some() {
                    continue;
                }
                let id = event.id.expect("event id").parse().expect("numeric id");
                events.push((id, serde_json::from_str(&event.data).expect("json data")));
            }
            events
        })
        .await
    }
}

/// `wait`'s outcome; panics if it takes over a minute: a guard against a
/// test that hangs (an event that never comes), not a deadline.
async fn within_a_minute<T>(wait: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("what the test waits for within a minute")
}

fn parse_event(block: &str) -> Option<SseEvent> {
    let mut id = None;
    let mut kind = None;
    let mut data: Option<String> = None;
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            kind = Some(value.trim_start().to_owned());
        } else if let Some(value) = line.strip_prefix("id:") {
            id = Some(value.trim_start().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    data.map(|data| SseEvent { kind, id, data })
}
