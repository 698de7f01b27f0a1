//! `cargo xtask`: the project's own commands, so a fresh machine needs only
//! Rust, Node.js and (for the browser) Debian's packages.
//!
//! - `cargo xtask setup`: install whatever is missing, at pinned versions;
//! - `cargo xtask dev`: set up, then `cargo leptos watch` (http://127.0.0.1:3000);
//! - `cargo xtask release`: build what people run (see [`release`]);
//! - `cargo xtask test`: set up, then every test: `cargo test` (with a
//!   throwaway PostgreSQL cluster for the PostgreSQL backend's tests, see
//!   [`postgres`]), a `cargo leptos build` and the Playwright suite in
//!   `end2end/` against the built server, then the release build, the
//!   journeys tagged `@release` against it, and its first load's weight
//!   against [`FIRST_LOAD_BUDGET`].
//!
//! `cargo leptos` builds into `target/leptos` (see [`LEPTOS_TARGET_DIR`]), so
//! that its extra `RUSTFLAGS` do not force plain `cargo` commands to rebuild
//! everything in `target/`.

mod postgres;
mod serve;
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
        Some("release") => release(&root),
        Some("test") => test(&root),
        _ => {
            eprintln!("usage: cargo xtask <setup|dev|release|test>");
            eprintln!(
                "  setup  install the wasm target, cargo-leptos, wasm-bindgen, Chromium, npm packages"
            );
            eprintln!(
                "  dev    setup, then serve the app with live reload at http://127.0.0.1:3000"
            );
            eprintln!(
                "  release  build the release server and site (target/leptos/release/, target/site/)"
            );
            eprintln!(
                "  test   setup, then run every test (cargo, Playwright, the release build's journeys)"
            );
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
    // The suite's databases and the browsers' profiles go in a folder of
    // this run's, removed when it ends, pass or fail.
    let scratch = Scratch::new("chat-e2e")?;
    let mut playwright = Command::new("npx");
    playwright
        .args(["playwright", "test"])
        .current_dir(root.join("end2end"))
        .env("TMPDIR", &scratch.0)
        .env("CHAT_E2E_PORT", free_ports(E2E_PORTS)?.to_string())
        .env("CHAT_SERVER_BIN", &server)
        .env("CHROMIUM_PATH", setup::chromium_path()?);
    if let Some(cluster) = &cluster {
        playwright.env(TEST_POSTGRES_URL, &cluster.url);
    }
    run(&mut playwright)?;
    drop(scratch);

    // What people run: its most important journeys, and what a first
    // visit downloads.
    release(root)?;
    let server = root.join(LEPTOS_TARGET_DIR).join("release").join("server");
    let scratch = Scratch::new("chat-e2e-release")?;
    run(Command::new("npx")
        .args(["playwright", "test", "--grep", "@release"])
        .current_dir(root.join("end2end"))
        .env("TMPDIR", &scratch.0)
        .env("CHAT_E2E_PORT", free_ports(E2E_PORTS)?.to_string())
        .env("CHAT_SERVER_BIN", &server)
        .env("CHROMIUM_PATH", setup::chromium_path()?))?;
    first_load_within_budget(root, &server)
}

/// The most a first visit to `/` may transfer (HTML, CSS, JS, WASM, icon;
/// compressed as served), holding a page of 50 messages, checked by
/// `loadgen page-weight`: what the release build weighs today (209.8 KB,
/// down from 335.2 KB; BENCHMARKS.md, "First load", thirteenth to
/// sixteenth sessions) with a little room, so that nothing makes it
/// heavier unnoticed. The target is 150 KB (scenario 5; the floor, the
/// smallest Leptos page doing the demo's part built the same way, is
/// 78.1 KB of WASM); lower this as it comes down.
pub const FIRST_LOAD_BUDGET: usize = 210_500;

/// Serves the release build on a fresh database holding a page of
/// messages and weighs its first load.
fn first_load_within_budget(root: &Path, server: &Path) -> Result<()> {
    run(Command::new("cargo").args(["build", "--quiet", "-p", "loadgen"]))?;
    let loadgen = root.join("target").join("debug").join("loadgen");
    let running = serve::Release::start(server, free_ports(1)?)?;
    let url = running.url();
    run(Command::new(&loadgen).args([
        "--url",
        &url,
        "send",
        "--senders",
        "1",
        "--messages",
        "50",
    ]))?;
    run(Command::new(&loadgen).args([
        "--url",
        &url,
        "page-weight",
        "--budget-bytes",
        &FIRST_LOAD_BUDGET.to_string(),
    ]))
}

/// Builds what people run: `cargo leptos build --release --precompress`
/// with the pinned tools. The server is `target/leptos/release/server`
/// (with `hash.txt`, the site files' hashes, beside it); the site it
/// serves is `target/site/` (the WASM, JS and CSS under `pkg/`, each with
/// its `.br` and `.gz`).
///
/// The WASM is built with the standard library compiled for it
/// ([`WASM_SIZE_CARGO_ARGS`], [`WASM_SIZE_RUSTFLAGS`]): a panic stops the
/// page without formatting a message, and `{:?}` writes nothing, so the
/// machinery behind both stays out of what every visitor downloads
/// (21.7 KB of 239.8 KB with brotli; BENCHMARKS.md, "First load,
/// fifteenth session"). Debug builds keep both.
fn release(root: &Path) -> Result<()> {
    setup::toolchain(root)?;
    setup::wasm_opt()?;
    let mut build = cargo_leptos(root, "build");
    build
        .args(["--release", "--precompress"])
        .arg(format!("--lib-cargo-args={WASM_SIZE_CARGO_ARGS}"))
        // These flags are unstable: the pinned compiler (`rust-version`)
        // accepts them with this switch, and `cargo xtask test` builds the
        // release, so a compiler that changes them fails there first.
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            WASM_SIZE_RUSTFLAGS,
        );
    run(&mut build)?;
    eprintln!(
        "built {}/release/server (and hash.txt beside it) and target/site/; run it from {}",
        LEPTOS_TARGET_DIR,
        root.display()
    );
    Ok(())
}

/// Cargo's part of the release WASM's size flags: the standard library
/// built with the page (the `rust-src` component), so that the flags
/// below reach it too.
const WASM_SIZE_CARGO_ARGS: &str = "-Zbuild-std=std,panic_abort";

/// The compiler's part: panics abort at once (no message, no hook), carry
/// no file and line, and `Debug` formatting is empty.
const WASM_SIZE_RUSTFLAGS: &str =
    "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none";

/// How many ports the Playwright suite uses, from `CHAT_E2E_PORT` up: its
/// server, then the servers and the balancer that some specs start.
const E2E_PORTS: u16 = 4;

/// A folder in the system's temporary folder, named for this process,
/// removed with all it holds when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not make {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
