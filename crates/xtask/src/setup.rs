//! Installs what building and testing need, skipping what is already there
//! at the right version. Versions are pinned here and in `end2end/package.json`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result};

use crate::{output, run};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// 0.3.11 needs a newer rustc than this project's 1.95.
const CARGO_LEPTOS_VERSION: &str = "0.3.10";

/// Binaryen's `wasm-opt`, from npm: cargo-leptos runs it on release
/// builds (and would otherwise download it); Debian's is too old for
/// today's rustc output.
const BINARYEN_VERSION: &str = "132.0.0";

/// PostgreSQL's major version, from Debian's packages (`postgresql-15`).
pub const POSTGRES_MAJOR: &str = "15";

/// Everything: the Rust toolchain pieces, `wasm-opt`, Chromium, PostgreSQL
/// and the npm packages.
pub fn all(root: &Path) -> Result<()> {
    toolchain(root)?;
    wasm_opt()?;
    chromium()?;
    postgres()?;
    nginx()?;
    npm_packages(root)
}

/// What `cargo leptos` needs: the wasm target, the standard library's
/// source, cargo-leptos, and the wasm-bindgen CLI of exactly the version in
/// `Cargo.lock`.
pub fn toolchain(root: &Path) -> Result<()> {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed")?;
    if !targets.lines().any(|t| t.trim() == WASM_TARGET) {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }

    // The release WASM builds the standard library from source (see
    // `release` in main.rs).
    let components = output(Command::new("rustup").args(["component", "list", "--installed"]))
        .context("rustup is needed")?;
    if !components.lines().any(|c| c.trim() == "rust-src") {
        run(Command::new("rustup").args(["component", "add", "rust-src"]))?;
    }

    let leptos = output(Command::new("cargo").args(["leptos", "--version"])).unwrap_or_default();
    if !leptos
        .split_whitespace()
        .any(|word| word == CARGO_LEPTOS_VERSION)
    {
        run(Command::new("cargo").args([
            "install",
            "cargo-leptos",
            "--locked",
            "--version",
            CARGO_LEPTOS_VERSION,
        ]))?;
    }

    let wanted = locked_version(root, "wasm-bindgen")?;
    let installed = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if !installed.split_whitespace().any(|word| word == wanted) {
        // No `--locked`: the CLI's own lock file pins a yanked crate.
        run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    }
    Ok(())
}

/// The version of `package` that `Cargo.lock` resolved, from `cargo pkgid`
/// (`registry+https://...#wasm-bindgen@0.2.130`).
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let pkgid = output(
        Command::new("cargo")
            .args(["pkgid", "--quiet", "--package", package])
            .current_dir(root),
    )
    .with_context(|| format!("{package} is not in Cargo.lock"))?;
    let (_, version) = pkgid
        .rsplit_once('@')
        .with_context(|| format!("unexpected package id {pkgid}"))?;
    Ok(version.to_owned())
}

/// `wasm-opt` of [`BINARYEN_VERSION`] (it says `wasm-opt version 132`).
pub fn wasm_opt() -> Result<()> {
    let (major, _) = BINARYEN_VERSION
        .split_once('.')
        .context("a dotted version")?;
    let installed = output(Command::new("wasm-opt").arg("--version")).unwrap_or_default();
    if !installed.split_whitespace().any(|word| word == major) {
        run(Command::new("npm").args([
            "install",
            "--global",
            "--no-audit",
            "--no-fund",
            &format!("binaryen@{BINARYEN_VERSION}"),
        ]))?;
    }
    Ok(())
}

/// Debian's Chromium (Playwright's own browser download does not work here).
fn chromium() -> Result<()> {
    if chromium_path().is_ok() {
        return Ok(());
    }
    apt_install("chromium")
}

/// Debian's PostgreSQL server, for the tests of the PostgreSQL backend.
fn postgres() -> Result<()> {
    if postgres_bin().is_dir() {
        return Ok(());
    }
    apt_install(&format!("postgresql-{POSTGRES_MAJOR}"))
}

/// Debian's nginx, the proxy the trusted-proxy tests run the server behind.
fn nginx() -> Result<()> {
    if Path::new(NGINX).is_file() {
        return Ok(());
    }
    apt_install("nginx")
}

/// Where Debian puts nginx (the tests find it there, or at `CHAT_TEST_NGINX`).
pub const NGINX: &str = "/usr/sbin/nginx";

/// Where Debian puts PostgreSQL's server programs (`initdb`, `pg_ctl`).
pub fn postgres_bin() -> PathBuf {
    Path::new("/usr/lib/postgresql")
        .join(POSTGRES_MAJOR)
        .join("bin")
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// `apt-get install -y <package>` (through `sudo` unless root).
fn apt_install(package: &str) -> Result<()> {
    let is_root = is_root();
    let apt = |args: &[&str]| {
        let mut command = if is_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run(&mut apt(&["update"]))?;
    run(&mut apt(&["install", "-y", package]))
}

/// The path of the `chromium` command.
pub fn chromium_path() -> Result<String> {
    output(Command::new("sh").args(["-c", "command -v chromium"]))
        .filter(|path| !path.is_empty())
        .context("chromium is not installed")
}

/// `npm ci` in `end2end/` unless the pinned Playwright is installed.
fn npm_packages(root: &Path) -> Result<()> {
    let dir = root.join("end2end");
    let read = |path: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join(path)).ok()?).ok()
    };
    let manifest = read("package.json").context("reading end2end/package.json")?;
    let wanted = manifest["devDependencies"]["@playwright/test"].clone();
    let installed = read("node_modules/@playwright/test/package.json")
        .map(|package| package["version"].clone());
    if installed.as_ref() != Some(&wanted) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir))?;
    }
    Ok(())
}
