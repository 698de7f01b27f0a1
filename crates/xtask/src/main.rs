//! `cargo xtask`: the project's own commands, so a fresh machine needs only
//! Rust, Node.js and (for the browser) Debian's packages.
//!
//! - `cargo xtask setup`: install whatever is missing, at pinned versions;
//! - `cargo xtask dev`: set up, then `cargo leptos watch` (http://127.0.0.1:3000);
//! - `cargo xtask test`: set up, then every test: `cargo test` (with a
//!   throwaway PostgreSQL cluster for the PostgreSQL backend's tests, see
//!   [`postgres`]), a `cargo leptos build`, and the Playwright suite in
//!   `end2end/` against the built server.
//!
//! `cargo leptos` builds into `target/leptos` (see [`LEPTOS_TARGET_DIR`]), so
//! that its extra `RUSTFLAGS` do not force plain `cargo` commands to rebuild
//! everything in `target/`.

mod postgres;
mod setup;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

/// Where `cargo leptos` builds (relative to the workspace root).
pub const LEPTOS_TARGET_DIR: &str = "target/leptos";

fn main() -> Result<()> {
    let task = std::env::args().nth(1);
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match task.as_deref() {
        Some("setup") => setup::all(&root),
        Some("dev") => {
            setup::toolchain(&root)?;
            run(&mut cargo_leptos(&root, "watch"))
        }
        Some("test") => test(&root),
        _ => {
            eprintln!("usage: cargo xtask <setup|dev|test>");
            eprintln!(
                "  setup  install the wasm target, cargo-leptos, wasm-bindgen, Chromium, npm packages"
            );
            eprintln!(
                "  dev    setup, then serve the app with live reload at http://127.0.0.1:3000"
            );
            eprintln!("  test   setup, then run every test (cargo and Playwright)");
            std::process::exit(2);
        }
    }
}

/// Names a PostgreSQL database the tests may create databases beside; set
/// it to use a cluster of your own instead of a throwaway one.
const TEST_POSTGRES_URL: &str = "CHAT_TEST_POSTGRES_URL";

fn test(root: &Path) -> Result<()> {
    setup::all(root)?;
    let cluster = match std::env::var(TEST_POSTGRES_URL) {
        Ok(_) => None,
        Err(_) => Some(postgres::Cluster::start()?),
    };
    let mut cargo_test = Command::new("cargo");
    cargo_test.args(["test", "--workspace", "--exclude", "frontend"]);
    if let Some(cluster) = &cluster {
        cargo_test.env(TEST_POSTGRES_URL, &cluster.url);
    }
    run(&mut cargo_test)?;
    run(&mut cargo_leptos(root, "build"))?;
    let server = root.join(LEPTOS_TARGET_DIR).join("debug").join("server");
    let mut playwright = Command::new("npx");
    playwright
        .args(["playwright", "test"])
        .current_dir(root.join("end2end"))
        .env("CHAT_E2E_PORT", free_ports(E2E_PORTS)?.to_string())
        .env("CHAT_SERVER_BIN", &server)
        .env("CHROMIUM_PATH", setup::chromium_path()?);
    if let Some(cluster) = &cluster {
        playwright.env(TEST_POSTGRES_URL, &cluster.url);
    }
    run(&mut playwright)
}

/// How many ports the Playwright suite uses, from `CHAT_E2E_PORT` up: its
/// server, then the servers and the balancer that some specs start.
const E2E_PORTS: u16 = 4;

/// The first of `count` consecutive ports free on 127.0.0.1, from 3100 up
/// (a suite that finds its port taken fails at once).
fn free_ports(count: u16) -> Result<u16> {
    (3100..=u16::MAX - count)
        .step_by(10)
        .find(|&base| {
            (base..base + count).all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        })
        .context("no free ports for the Playwright suite")
}

fn cargo_leptos(root: &Path, subcommand: &str) -> Command {
    let mut command = Command::new("cargo");
    command
        .args(["leptos", subcommand])
        .env("CARGO_TARGET_DIR", root.join(LEPTOS_TARGET_DIR));
    command
}

/// Runs `command`, failing unless it exits successfully.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("could not start {}", describe(command)))?;
    if !status.success() {
        bail!("{} failed: {status}", describe(command));
    }
    Ok(())
}

/// The trimmed standard output of `command`, or `None` if it cannot run or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .context("xtask lives in crates/xtask")
}
