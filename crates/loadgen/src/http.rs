//! A minimal HTTP/1.1 client over one keep-alive connection: what the
//! scenarios need (a request, its response head, a body of known length)
//! and no more, so that the load generator spends little of the machine it
//! shares with the server.

use anyhow::Context;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::target::Target;

/// One connection to the server, from source address number `n`.
pub struct Connection {
    pub tcp: TcpStream,
    host: String,
    /// Bytes read past the last response head or body.
    pub unread: Vec<u8>,
}

/// What a response head says that matters here.
pub struct Head {
    pub status: u16,
    pub content_length: Option<usize>,
    pub chunked: bool,
    /// The `name=value` of the first cookie the response sets.
    pub set_cookie: Option<String>,
    /// A change's own entry in the log (`chat-entry-id`), if it made one.
    pub entry_id: Option<i64>,
}

impl Connection {
    pub async fn open(target: &Target, n: usize) -> anyhow::Result<Self> {
        Self::open_with(target, n, None).await
    }

    /// Like [`Self::open`], with a receive buffer of `receive_buffer` bytes
    /// (small, so that the server's writes block soon).
    pub async fn open_with(
        target: &Target,
        n: usize,
        receive_buffer: Option<u32>,
    ) -> anyhow::Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(target.source(n))?;
        if let Some(bytes) = receive_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        let tcp = socket.connect(target.addr(n)).await?;
        tcp.set_nodelay(true)?;
        Ok(Self {
            tcp,
            host: target.host(n),
            unread: Vec::new(),
        })
    }

    /// Sends a `GET` and reads the response head (not its body).
    pub async fn get(&mut self, path: &str, accept: &str) -> anyhow::Result<Head> {
        self.get_as(path, accept, None).await
    }

    /// Like [`Self::get`], with the session `cookie`, if any.
    pub async fn get_as(
        &mut self,
        path: &str,
        accept: &str,
        cookie: Option<&str>,
    ) -> anyhow::Result<Head> {
        let cookie = cookie.map_or_else(String::new, |cookie| format!("Cookie: {cookie}\r\n"));
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\n{cookie}\r\n",
            self.host
        );
        self.tcp.write_all(head.as_bytes()).await?;
        self.read_head().await
    }

    /// One ordinary request, read to its end, so that what follows goes
    /// on a connection that carried another request first, as a browser's
    /// `EventSource` request does.
    pub async fn health_check(&mut self) -> anyhow::Result<()> {
        let head = self.get("/healthz", "*/*").await?;
        anyhow::ensure!(head.status == 200, "health check {}", head.status);
        self.read_body(&head).await?;
        Ok(())
    }

    /// Sends a `GET`, reading nothing.
    pub async fn send_get(&mut self, path: &str, accept: &str) -> anyhow::Result<()> {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\n\r\n",
            self.host
        );
        Ok(self.tcp.write_all(head.as_bytes()).await?)
    }

    /// Sends a `method` request (`POST`, `PATCH`, `PUT`, `DELETE`) with a
    /// JSON body (and the `cookie`, if any) and reads the whole response.
    pub async fn send_json(
        &mut self,
        method: &str,
        path: &str,
        json: &[u8],
        cookie: Option<&str>,
    ) -> anyhow::Result<(Head, Vec<u8>)> {
        let cookie = cookie.map_or_else(String::new, |cookie| format!("Cookie: {cookie}\r\n"));
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{cookie}Content-Length: {}\r\n\r\n",
            self.host,
            json.len()
        )
        .into_bytes();
        request.extend_from_slice(json);
        self.tcp.write_all(&request).await?;
        let head = self.read_head().await?;
        let body = self.read_body(&head).await?;
        Ok((head, body))
    }

    /// Reads a body of the length `head` gives.
    pub async fn read_body(&mut self, head: &Head) -> anyhow::Result<Vec<u8>> {
        let length = head.content_length.context("a response without a length")?;
        while self.unread.len() < length {
            self.read_more().await?;
        }
        Ok(self.unread.drain(..length).collect())
    }

    /// Reads until a whole response head has arrived, and consumes it.
    async fn read_head(&mut self) -> anyhow::Result<Head> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(len) = response.parse(&self.unread)? {
                let value = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|header| header.name.eq_ignore_ascii_case(name))
                        .and_then(|header| std::str::from_utf8(header.value).ok())
                };
                let head = Head {
                    status: response.code.unwrap_or_default(),
                    content_length: value("content-length").and_then(|v| v.trim().parse().ok()),
                    chunked: value("transfer-encoding")
                        .is_some_and(|v| v.eq_ignore_ascii_case("chunked")),
                    set_cookie: value("set-cookie")
                        .and_then(|v| v.split(';').next())
                        .map(str::to_owned),
                    entry_id: value("chat-entry-id").and_then(|v| v.trim().parse().ok()),
                };
                self.unread.drain(..len);
                return Ok(head);
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0; 4096];
        let read = self.tcp.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "connection closed");
        self.unread.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}
