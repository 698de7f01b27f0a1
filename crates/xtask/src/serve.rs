//! A built server run for a check (the release build's page weight): on a
//! fresh database in a temporary folder, on loopback, with the per-address
//! limits off (every request of the check comes from one address), and
//! stopped (by its own pid, its folder removed) when dropped.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

/// A running server; stopped when dropped.
pub struct Release {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Release {
    /// Starts `server` on `127.0.0.1:<port>` from the current folder (the
    /// workspace root, where it finds `target/site`) and waits until its
    /// `/healthz` answers `200`.
    pub fn start(server: &Path, port: u16) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("chat-release-check-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let child = Command::new(server)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .arg("--database-url")
            .arg(format!("sqlite://{}", dir.join("chat.db").display()))
            .args([
                "--send-limit",
                "off",
                "--read-limit",
                "off",
                "--account-limit",
                "off",
            ])
            .env("RUST_LOG", "warn")
            .spawn()
            .with_context(|| format!("could not start {}", server.display()))?;
        let mut running = Self { child, port, dir };
        running.wait_until_healthy()?;
        Ok(running)
    }

    /// The server's address, as `loadgen --url` takes it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_until_healthy(&mut self) -> Result<()> {
        // A guard against a server that never comes up, not a deadline.
        let guard = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited before it was healthy: {status}");
            }
            if self.healthy() {
                return Ok(());
            }
            if Instant::now() > guard {
                bail!("the server on port {} never became healthy", self.port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether `GET /healthz` answers `200`.
    fn healthy(&self) -> bool {
        let check = || -> std::io::Result<bool> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let head = format!(
                "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            stream.write_all(head.as_bytes())?;
            let mut answer = [0; 12];
            stream.read_exact(&mut answer)?;
            Ok(&answer == b"HTTP/1.1 200")
        };
        check().unwrap_or(false)
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
