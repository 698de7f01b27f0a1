//! `floor-server ADDR SITE`: serves the floor's page for scenario 5b as the
//! chat's server serves the chat's: the page rendered on the server (brotli,
//! as the chat's HTML), its two server functions, `/api/events` (a stream
//! that stays open and says nothing), and the WASM and its glue from
//! `SITE/pkg`, precompressed with brotli as `--precompress` leaves the
//! chat's (`./build.sh --server` lays them out).
use std::{convert::Infallible, path::PathBuf};

use axum::{
    Router,
    extract::Request,
    response::sse::{Event, KeepAlive, Sse},
    routing::{get, post},
};
use futures_util::stream::{Stream, pending};
use leptos::prelude::*;
use tower_http::{compression::CompressionLayer, services::ServeDir};
use wasm_floor::App;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(site)) = (args.next(), args.next()) else {
        eprintln!("usage: floor-server ADDR SITE");
        std::process::exit(2);
    };
    let site = PathBuf::from(site);
    // The page's resource is spawned on tokio while the server renders it.
    any_spawner::Executor::init_tokio().expect("tokio is the only executor");
    let options = LeptosOptions::builder()
        .output_name("wasm_floor")
        .site_root(site.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .build();
    let render = leptos_axum::render_app_to_stream(move || shell(options.clone()));
    let page = get(move |req: Request| render(req)).layer(CompressionLayer::new());
    let app = Router::new()
        .route("/", page)
        .route("/api/events", get(events))
        .route("/api/{*name}", post(leptos_axum::handle_server_fns))
        .nest_service("/pkg", ServeDir::new(site.join("pkg")).precompressed_br());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|err| panic!("cannot listen on {addr}: {err}"));
    axum::serve(listener, app)
        .await
        .expect("the server stopped");
}

/// The document: the page's head with its scripts, and the floor's page
/// as the body `hydrate_body` takes over.
fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>"Floor"</title>
                <HydrationScripts options />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// A stream that stays open and says nothing (but keep-alives): the page
/// only needs it open.
async fn events() -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(pending()).keep_alive(KeepAlive::default())
}
