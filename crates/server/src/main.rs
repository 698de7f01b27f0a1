//! `server`: serves the chat. Run it from the workspace root after
//! `cargo leptos build` (or let `cargo leptos watch` run it); see
//! `config.rs` for flags and environment variables.

use clap::Parser;
use server::config::{Admin, Command, Config};
use tracing_subscriber::EnvFilter;

/// jemalloc, purging in the background: memory that thousands of closed
/// connections freed goes back to the system within seconds, where glibc's
/// allocator kept it (see BENCHMARKS.md, scenarios 6 and 7).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = Config::parse();
    if let Some(Command::Admin(Admin::Grant { name, role })) = &config.command {
        let name = server::door::accounts::grant(&config.database_url, name, *role).await?;
        println!("{name} is now {role}");
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    server::run(listener, &config, shutdown_signal()).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
