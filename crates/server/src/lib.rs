//! The chat server.
//!
//! Its folders are the layers a request crosses, each calling only the one
//! below it:
//!
//! - [`edge`]: the HTTP edge: accepting connections within bounds, who the
//!   client is, cross-site refusal, rate and stream limits, deadlines, the
//!   JSON routes ([`api`]) and the event-stream route ([`sse`]);
//! - [`door`]: the caller door (`caller`): who calls and what they may do,
//!   with the use cases of messages, [`rooms`], [`accounts`] and
//!   [`presence`];
//! - [`log`]: the ordered log: the [`store`], the single writer ([`chat`]),
//!   the fan-out to the window ([`recent`]) and the [`hub`], and each
//!   stream's feed.
//!
//! One message's way through: a `POST /api/messages` ([`api`]) or the
//! `send_message` server function (in the `app` crate, reaching the server
//! through Leptos context) comes to the caller door, which decides who
//! sends and whether they may and validates it with the shared rules;
//! [`chat`]'s single writer stores it in a batch ([`store`]) and, after the
//! commit, publishes it to the [`hub`]; every open stream ([`sse`]) sends
//! it on as one event.
//!
//! [`config`] reads the flags and environment; [`app()`] builds the router
//! (tests call it); [`run`] serves it until a shutdown signal, then ends
//! every stream so shutdown never hangs.

pub mod config;
pub mod door;
pub mod edge;
pub mod log;

// The modules other crates (tests, benchmarks, tools) use, by their own
// names too.
pub use door::{accounts, presence, rooms};
pub use edge::{api, budget, client, error, rate, site, slots, sse};
pub use log::{chat, dbfile, fanout, hub, recent, store};
#[cfg(test)]
mod testing;

use std::{future::Future, time::Duration};

use app::shell;
use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    http::{HeaderValue, StatusCode, header},
    middleware,
    routing::get,
};
use leptos::{
    config::LeptosOptions,
    prelude::{provide_context, use_context},
};
use leptos_axum::LeptosRoutes;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer, limit::RequestBodyLimitLayer,
    set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

use crate::{
    config::Config,
    door::accounts::Accounts,
    door::presence::Presence,
    door::rooms::Rooms,
    edge::rate::{ReadLimiter, SendLimiter},
    edge::site::Site,
    edge::slots::StreamSlots,
    log::chat::{Chat, Unhealthy},
    log::hub::Hub,
    log::store::{Store, StoreError},
};

/// How long shutdown waits for open requests after streams were told to end.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub chat: Chat,
    /// Sign-up, sign-in and sessions (see [`accounts`]).
    pub accounts: Accounts,
    /// Which rooms exist (see [`rooms`]).
    pub rooms: Rooms,
    /// Who is in each room, who is typing (see [`presence`]).
    pub presence: Presence,
    /// Whether people without an account may send (`--guests`).
    pub guests_may_send: bool,
    /// Guests blocked by moderators (see [`door::blocks`]).
    pub blocks: door::blocks::Blocks,
    /// Whether the audit log keeps removed messages' text
    /// (`--audit-keeps-text`).
    pub audit_keeps_text: bool,
    pub leptos_options: LeptosOptions,
    /// The site's own origins (see [`site`]).
    pub site: Site,
    /// How fast each client may send (see [`rate`]).
    pub send_limiter: SendLimiter,
    /// How fast each client address may read (see [`rate`]).
    pub read_limiter: ReadLimiter,
    /// How many event streams each client holds (see [`slots`]).
    pub stream_slots: StreamSlots,
    /// Whose word on the client's address is believed (see [`client`]).
    pub proxies: client::TrustedProxies,
    /// The response bytes slow readers may hold (see [`budget`]).
    pub responses: budget::ResponseBudget,
    /// The server's own timers (a quiet stream's ping, a body's deadline).
    pub timing: config::Timing,
    /// Cancelled when the server shuts down; ends every event stream.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The chat's pages: `general`'s and every other room's, as
/// [`shared::room::room_in_path`] reads them (the page has no router of its
/// own; any other path is the not-found page).
const PAGE_PATHS: [&str; 2] = ["/", "/r/{name}"];

/// What every page and server function finds in Leptos context: the
/// caller (from the request's head, which leptos_axum provides) and the
/// page's headers.
pub(crate) fn provide_request_context(state: &AppState) {
    let parts = use_context::<axum::http::request::Parts>();
    let chat = door::caller::service(state.clone(), parts.as_ref());
    provide_context(app::service::Chat(chat));
    if let Some(parts) = &parts {
        provide_context(app::service::PagePath(parts.uri.path().to_owned()));
    }
    edge::headers::provide_page_headers();
}

/// The whole application: JSON API, event stream, health check, server
/// functions, pages and static files.
pub fn app(state: AppState) -> Router {
    let page_context = {
        let state = state.clone();
        move || provide_request_context(&state)
    };
    // The server functions (leptos_axum registers them; the pages are ours).
    let pages = Router::new()
        .leptos_routes_with_context(&state, Vec::new(), page_context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route(PAGE_PATHS[0], get(edge::pages::room_page))
        .route(PAGE_PATHS[1], get(edge::pages::room_page))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            edge::pages::page_status,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            edge::rate::limit_pages_and_server_fns,
        ))
        .merge(site_pkg(&state.leptos_options))
        // The not-found page gets the same context, and so its own policy.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell))
        // Server functions read their bodies themselves: limit them here.
        .layer(RequestBodyLimitLayer::new(api::MAX_BODY_BYTES))
        .layer(middleware::map_response(error::server_fn_status));

    let router = Router::new()
        .merge(api::router(&state))
        .merge(edge::admin::router(&state))
        .merge(edge::members::router(&state))
        .merge(edge::invites::router(&state))
        .merge(edge::direct::router(&state))
        .merge(edge::new_room::router(&state))
        .merge(edge::sign_in::router(&state))
        .merge(edge::accounts::router(&state))
        .merge(sse::router())
        .merge(pages)
        // One limit for every body axum's extractors read: the JSON API's
        // and every form's (the server functions', read by leptos_axum, is
        // limited above).
        .layer(DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        // Inside compression, which holds the body while it is read.
        .layer(middleware::from_fn_with_state(
            state.responses.clone(),
            budget::hold_within_budget,
        ))
        .layer(middleware::from_fn_with_state(
            state.site.clone(),
            site::guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.timing.body_timeout,
            edge::deadline::limit_body_time,
        ))
        // Before every limit: who the client is.
        .layer(middleware::from_fn_with_state(
            state.proxies.clone(),
            client::find_client,
        ))
        // The default predicate never compresses `text/event-stream`, which
        // would hold events back in the compressor's buffer.
        .layer(CompressionLayer::new())
        // Outside the site guard: load balancers check each server by its
        // own address, whatever the site's name; it changes nothing and
        // tells nothing.
        .route("/healthz", get(health));
    edge::headers::add_to_every_response(router)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The built JS, WASM and CSS under `/pkg/`, precompressed where the build
/// made `.br`/`.gz` files (release), else compressed on the fly. Names
/// that carry a content hash never change meaning, so browsers may keep
/// them for a year without asking again; unhashed names must be revalidated.
fn site_pkg<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let cache_control = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    Router::new().route_service(
        &leptos_axum::site_pkg_dir_service_route_path(options),
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                cache_control,
            ))
            .service(leptos_axum::site_pkg_dir_service(options)),
    )
}

/// `200 ok` while the database answers within a second (SQLite: from the
/// file the server opened) and this server's streams are in step with the message log.
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (StatusCode, &'static str) {
    match state.chat.health().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            let reason = match err {
                Unhealthy::Store(StoreError::FileLost(_)) => "database file removed or replaced",
                Unhealthy::Store(_) => "database unavailable",
                Unhealthy::NotAnswering => "database not answering",
                Unhealthy::NotFollowing => "not following the message log",
            };
            (StatusCode::SERVICE_UNAVAILABLE, reason)
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
    let site = config.site()?;
    let max_connections = match config.max_connections {
        Some(max) => max,
        None => edge::serve::raise_open_file_limit()?,
    };
    let stop = CancellationToken::new();
    let store = Store::open(&config.database_url, config.durability).await?;
    let accounts = Accounts::start_with(
        store.clone(),
        site.is_https(),
        config.account_limit == config::AccountLimit::On,
        stop.clone(),
    );
    let hub = Hub::default();
    let chat = Chat::start(store.clone(), hub.clone(), stop.clone()).await?;
    let presence = Presence::start(&store, hub, chat.visibility().clone(), stop.clone());
    let blocks =
        door::blocks::Blocks::start(store.clone(), presence.watch_blocks(), stop.clone()).await?;
    let rooms = Rooms::load(store.clone(), chat.visibility().clone()).await?;
    rooms.follow_settings(presence.watch_rooms(), stop.clone());
    let state = AppState {
        presence,
        blocks,
        chat,
        accounts,
        guests_may_send: config.guests == config::Guests::On,
        audit_keeps_text: config.audit_keeps_text,
        rooms,
        leptos_options: config.leptos_options(),
        site: site.clone(),
        send_limiter: SendLimiter::start(config.send_limit, stop.clone()),
        read_limiter: ReadLimiter::start(config.read_limit, stop.clone()),
        stream_slots: StreamSlots::new(config.streams_per_ip),
        proxies: config.trusted_proxies(),
        responses: budget::ResponseBudget::new(config.response_budget),
        timing: config.timing,
        shutdown: stop.clone(),
    };
    tracing::info!(
        addr = %listener.local_addr()?,
        origin = site.origin(),
        max_connections,
        send_limit = %config.send_limit,
        streams_per_ip = %config.streams_per_ip,
        trusted_proxies = ?config.trusted_proxy,
        "listening"
    );
    let serving = edge::serve::serve(
        listener,
        app(state),
        max_connections,
        config.timing,
        stop.clone(),
    );
    tokio::pin!(serving);
    tokio::select! {
        () = &mut serving => {}
        () = shutdown => {
            tracing::info!("shutting down");
            stop.cancel();
            serving.await;
        }
    }
    stop.cancel();
    store.close().await;
    // Every handle but this one goes as the writer thread and the tasks
    // end: only then is the file free for a server started next.
    store.released(SHUTDOWN_GRACE).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;

    /// A site root holding `pkg/chat.abc123.js` and its brotli version.
    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let pkg = dir.path().join("pkg");
        std::fs::create_dir(&pkg).expect("pkg dir");
        std::fs::write(pkg.join("chat.abc123.js"), "console.log(1)").expect("js");
        std::fs::write(pkg.join("chat.abc123.js.br"), "brotli bytes").expect("br");
        dir
    }

    async fn get_js(hash_files: bool, accept_encoding: &str) -> axum::response::Response {
        let dir = site();
        let options = LeptosOptions::builder()
            .output_name("chat")
            .site_root(dir.path().to_string_lossy().into_owned())
            .hash_files(hash_files)
            .build();
        let request = Request::get("/pkg/chat.abc123.js")
            .header(header::ACCEPT_ENCODING, accept_encoding)
            .body(Body::empty())
            .expect("request");
        site_pkg::<()>(&options)
            .oneshot(request)
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn hashed_site_files_are_cached_for_a_year() {
        let response = get_js(true, "identity").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
    }

    #[tokio::test]
    async fn unhashed_site_files_are_revalidated() {
        let response = get_js(false, "identity").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    }

    #[tokio::test]
    async fn precompressed_site_files_are_served_as_built() {
        let response = get_js(true, "br, gzip").await;
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], b"brotli bytes");
    }
}
