//! The chat server.
//!
//! One message's way through this crate: a `POST /api/messages` ([`api`]) or
//! the `send_message` server function (in the `app` crate, reaching
//! [`chat::Chat`] through Leptos context) validates it with the shared
//! rules; [`chat`]'s single writer stores it in a batch ([`store`]), and after
//! the commit publishes it to the [`hub`]; every open stream ([`sse`]) sends
//! it on as one event.
//!
//! - [`config`]: flags and environment;
//! - [`error`]: the JSON API's error type;
//! - [`app()`] builds the router (tests call it); [`run`] serves it until a
//!   shutdown signal, then ends every stream so shutdown never hangs.

pub mod api;
pub mod chat;
pub mod config;
pub mod error;
mod extract;
pub mod hub;
pub mod recent;
pub mod sse;
pub mod store;

use std::{future::Future, time::Duration};

use app::{App, shell};
use axum::{Router, extract::FromRef, http::StatusCode, routing::get};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{compression::CompressionLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};

use crate::{chat::Chat, config::Config, hub::Hub, store::Store};

/// How long shutdown waits for open requests after streams were told to end.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub chat: Chat,
    pub leptos_options: LeptosOptions,
    /// Cancelled when the server shuts down; ends every event stream.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application: JSON API, event stream, health check, server
/// functions, pages and static files.
pub fn app(state: AppState) -> Router {
    let chat = state.chat.clone();
    let provide_chat =
        move || provide_context(app::service::Chat(std::sync::Arc::new(chat.clone())));
    let routes = generate_route_list(App);
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, provide_chat, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Server functions read their bodies themselves: limit them here.
        .layer(RequestBodyLimitLayer::new(api::MAX_BODY_BYTES));

    Router::new()
        .merge(api::router())
        .merge(sse::router())
        .route("/healthz", get(health))
        .merge(pages)
        // The default predicate never compresses `text/event-stream`, which
        // would hold events back in the compressor's buffer.
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `200 ok` while the database answers.
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (StatusCode, &'static str) {
    match state.chat.store().ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Serves the chat on `listener` until `shutdown` completes, then ends
/// every event stream and waits (at most [`SHUTDOWN_GRACE`]) for open
/// requests to finish.
pub async fn run(
    listener: TcpListener,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url, config.durability).await?;
    let state = AppState {
        chat: Chat::start(store.clone(), Hub::default()).await?,
        leptos_options: config.leptos_options(),
        shutdown: CancellationToken::new(),
    };
    let stop = state.shutdown.clone();
    let router = app(state);
    tracing::info!(addr = %listener.local_addr()?, "listening");

    let serve = axum::serve(listener, router)
        .with_graceful_shutdown({
            let stop = stop.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down");
                stop.cancel();
            }
        })
        .into_future();
    tokio::pin!(serve);
    tokio::select! {
        served = &mut serve => served?,
        () = async { stop.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("open requests did not finish in time; closing them");
        }
    }
    store.close().await;
    Ok(())
}
