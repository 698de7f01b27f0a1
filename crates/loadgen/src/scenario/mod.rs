//! The benchmark scenarios (see BENCHMARKS.md).

pub mod abuse;
pub mod accounts;
pub mod changes;
pub mod fanout;
pub mod history;
pub mod hostile;
pub mod page_weight;
pub mod private;
pub mod send;
pub mod spam;

use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::{http::Connection, sse::TEXT_PREFIX, target::Target};

/// One sender: a keep-alive connection of its own (opened again after an
/// error), as a page's `fetch` reuses its connection.
pub struct Sender<'a> {
    target: &'a Target,
    n: usize,
    connection: Option<Connection>,
    /// The session cookie of the account it sends as; a guest without.
    session: Option<String>,
    /// Appended to every stamped text (after a space), to size frames.
    padding: String,
}

/// The password of every account the load generator signs up.
pub const PASSWORD: &str = "loadgen password";

impl<'a> Sender<'a> {
    /// Sender number `n`, connecting from that source address.
    pub fn new(target: &'a Target, n: usize) -> Self {
        Self {
            target,
            n,
            connection: None,
            session: None,
            padding: String::new(),
        }
    }

    /// From now on, requests go as the holder of the session `cookie`.
    pub fn act_as(&mut self, cookie: &str) {
        self.session = Some(cookie.to_owned());
    }

    /// The session cookie it sends with, once signed in.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Makes every stamped text `bytes` longer (a space and `x`s), to
    /// measure the fan-out of larger frames.
    pub fn pad_texts(&mut self, bytes: usize) {
        self.padding = match bytes {
            0 => String::new(),
            n => format!(" {}", "x".repeat(n - 1)),
        };
    }

    /// The connection, opened again after an error.
    async fn connection(&mut self) -> anyhow::Result<&mut Connection> {
        if self.connection.is_none() {
            self.connection = Some(Connection::open(self.target, self.n).await?);
        }
        self.connection.as_mut().context("just opened")
    }

    /// `POST`s `body` to `path` (with the session cookie, if signed in).
    async fn post(
        &mut self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<(crate::http::Head, Vec<u8>)> {
        let body = serde_json::to_vec(body)?;
        self.post_bytes(path, &body).await
    }

    /// `POST`s `body` to `path`: the status it was answered with.
    pub async fn post_status(
        &mut self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<u16> {
        Ok(self.post(path, body).await?.0.status)
    }

    /// Like [`Self::post`], with the JSON already serialized (a body sent
    /// again and again is serialized once).
    pub async fn post_bytes(
        &mut self,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<(crate::http::Head, Vec<u8>)> {
        self.request("POST", path, body).await
    }

    /// A `method` request of `body` to `path` (with the session cookie, if
    /// signed in).
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<(crate::http::Head, Vec<u8>)> {
        let session = self.session.clone();
        let connection = self.connection().await?;
        match connection
            .send_json(method, path, body, session.as_deref())
            .await
        {
            Ok(answer) => Ok(answer),
            Err(err) => {
                self.connection = None;
                Err(err)
            }
        }
    }

    /// Signs up (`POST /api/accounts`, with [`PASSWORD`]) or signs in
    /// (`POST /api/session`) as `name`; later sends go as that account.
    pub async fn sign_in(&mut self, name: &str, sign_up: bool) -> anyhow::Result<()> {
        let (path, expected) = if sign_up {
            ("/api/accounts", 201)
        } else {
            ("/api/session", 200)
        };
        let (head, body) = self
            .post(path, &json!({ "username": name, "password": PASSWORD }))
            .await?;
        anyhow::ensure!(
            head.status == expected,
            "{path} answered {}: {}",
            head.status,
            String::from_utf8_lossy(&body)
        );
        self.session = Some(head.set_cookie.context("no session cookie")?);
        Ok(())
    }

    /// Creates the room `name` (signed in); `POST /api/rooms`.
    pub async fn create_room(&mut self, name: &str) -> anyhow::Result<()> {
        self.create_room_of(name, false).await
    }

    /// Creates the room `name`, `private` (the sender its owner) or not.
    pub async fn create_room_of(&mut self, name: &str, private: bool) -> anyhow::Result<()> {
        let body = json!({ "name": name, "private": private });
        let (head, body) = self.post("/api/rooms", &body).await?;
        anyhow::ensure!(
            head.status == 201,
            "/api/rooms answered {}: {}",
            head.status,
            String::from_utf8_lossy(&body)
        );
        Ok(())
    }

    /// `POST`s `body` to `path`, failing unless it is answered `expected`;
    /// the answer's JSON.
    pub async fn post_expecting(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        expected: u16,
    ) -> anyhow::Result<serde_json::Value> {
        let (head, answer) = self.post(path, body).await?;
        anyhow::ensure!(
            head.status == expected,
            "{path} answered {}: {}",
            head.status,
            String::from_utf8_lossy(&answer)
        );
        Ok(serde_json::from_slice(&answer)?)
    }

    /// Tries to create the room `name`: the status it was answered with.
    pub async fn create_room_status(&mut self, name: &str) -> anyhow::Result<u16> {
        self.post_status("/api/rooms", &json!({ "name": name }))
            .await
    }

    /// Sends `text` to `general` as `loadgen<n>` (or the account): the
    /// status it was answered with.
    pub async fn send_status(&mut self, text: &str) -> anyhow::Result<u16> {
        let body = json!({ "username": format!("loadgen{}", self.n % 100), "text": text });
        self.post_status("/api/messages", &body).await
    }

    /// Sends message number `n`, stamped with its send time, to `general`;
    /// returns the stored id.
    pub async fn send_stamped(&mut self, n: usize, origin: Instant) -> anyhow::Result<i64> {
        self.send_stamped_to("/api/messages", n, origin).await
    }

    /// Edits the account's own message `id`, its text stamped with the
    /// time: the change's entry id (`None` if it made none).
    pub async fn edit_stamped(&mut self, id: i64, origin: Instant) -> anyhow::Result<Option<i64>> {
        let body =
            json!({ "text": format!("{TEXT_PREFIX}{} edited", origin.elapsed().as_micros()) });
        self.change("PATCH", &format!("/api/messages/{id}"), &body)
            .await
    }

    /// Gives (`on`) or takes back the account's `reaction` (plain ASCII) to
    /// message `id`: the change's entry id (`None` if it made none).
    pub async fn react(
        &mut self,
        id: i64,
        reaction: &str,
        on: bool,
    ) -> anyhow::Result<Option<i64>> {
        let method = if on { "PUT" } else { "DELETE" };
        self.change(
            method,
            &format!("/api/messages/{id}/reactions/{reaction}"),
            &json!({}),
        )
        .await
    }

    async fn change(
        &mut self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<Option<i64>> {
        let (head, response) = self
            .request(method, path, &serde_json::to_vec(body)?)
            .await?;
        anyhow::ensure!(
            head.status == 200,
            "{method} {path} answered {}: {}",
            head.status,
            String::from_utf8_lossy(&response)
        );
        Ok(head.entry_id)
    }

    /// Like [`Self::send_stamped`], `POST`ing to `path` (a room's
    /// `/api/rooms/<name>/messages`).
    pub async fn send_stamped_to(
        &mut self,
        path: &str,
        n: usize,
        origin: Instant,
    ) -> anyhow::Result<i64> {
        let body = json!({
            "username": format!("loadgen{}", n % 100),
            "text": format!("{TEXT_PREFIX}{}{}", origin.elapsed().as_micros(), self.padding),
        });
        let (head, response) = self.post(path, &body).await?;
        anyhow::ensure!(head.status == 201, "send answered {}", head.status);
        let message: serde_json::Value = serde_json::from_slice(&response)?;
        message["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no id in {message}"))
    }
}
