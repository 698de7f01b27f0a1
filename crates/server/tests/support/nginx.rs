//! nginx in front of a test server, configured as the README tells
//! operators to: `X-Forwarded-For` from `$proxy_add_x_forwarded_for`,
//! streams unbuffered. One process (`master_process off`), so that killing
//! it when dropped stops everything it started.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Where the tests look for nginx unless this variable names it.
pub const BINARY_VARIABLE: &str = "CHAT_TEST_NGINX";
/// Where Debian puts it (`cargo xtask setup` installs it).
const DEBIAN_BINARY: &str = "/usr/sbin/nginx";

/// A running nginx; killed (and its folder removed) when dropped.
pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx on a free loopback port, proxying to `upstream`. Without
    /// nginx: `None` and a notice, except in CI, where that is a failure.
    pub async fn start(upstream: SocketAddr) -> Option<Self> {
        let binary = std::env::var_os(BINARY_VARIABLE)
            .map(PathBuf::from)
            .unwrap_or_else(|| DEBIAN_BINARY.into());
        if !binary.is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "nginx must be installed in CI (`cargo xtask setup` installs it)"
            );
            eprintln!("skipped: install nginx (or set {BINARY_VARIABLE}) to run the proxy tests");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let root = dir.path().display();
        let config = format!(
            "daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen {addr};
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
        }}
    }}
}}
"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("writes nginx.conf");
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .spawn()
            .expect("starts nginx");
        let mut nginx = Self {
            addr,
            child,
            _dir: dir,
        };
        nginx.wait_until_listening().await;
        Some(nginx)
    }

    async fn wait_until_listening(&mut self) {
        for _ in 0..1_000 {
            if let Some(status) = self.child.try_wait().expect("nginx's status") {
                let log =
                    std::fs::read_to_string(self._dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx stopped ({status}): {log}");
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("nginx did not listen on {}", self.addr);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
