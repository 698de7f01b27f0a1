//! A throwaway PostgreSQL cluster for the tests of the PostgreSQL backend:
//! started in a temporary folder on a free loopback port, with trust
//! authentication for the user `chat`, and stopped (its folder removed)
//! when dropped. `initdb` refuses to run as root, so as root the cluster
//! runs as the `postgres` user.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result};

use crate::{run, setup};

/// A running cluster; stopped when dropped.
pub struct Cluster {
    dir: PathBuf,
    as_postgres_user: bool,
    /// A URL of the cluster's `postgres` database, as user `chat`.
    pub url: String,
}

impl Cluster {
    pub fn start() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("chat-test-postgres-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let as_postgres_user = setup::is_root();
        if as_postgres_user {
            run(Command::new("chown").arg("postgres").arg(&dir))?;
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let cluster = Self {
            url: format!("postgres://chat@127.0.0.1:{port}/postgres"),
            dir,
            as_postgres_user,
        };
        let data = cluster.dir.join("data");
        run(cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "chat", "--no-sync", "-D"])
            .arg(&data))?;
        let options = format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1",
            cluster.dir.display()
        );
        run(cluster
            .command("pg_ctl")
            .args(["-w", "-o", &options, "-l"])
            .arg(cluster.dir.join("postgres.log"))
            .arg("-D")
            .arg(&data)
            .arg("start"))
        .with_context(|| format!("see {}", cluster.dir.join("postgres.log").display()))?;
        Ok(cluster)
    }

    /// One of PostgreSQL's server programs, run as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let program = setup::postgres_bin().join(program);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        if Path::new(&data).join("postmaster.pid").exists() {
            let _ = run(self
                .command("pg_ctl")
                .args(["-w", "-m", "fast", "-D"])
                .arg(&data)
                .arg("stop"));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
