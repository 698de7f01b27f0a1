//! `GET /api/events`: the Server-Sent Events stream of messages.
//!
//! Each message is one event, `id: <message id>` and `data: <ChatMessage
//! JSON>`. A stream opened with `Last-Event-ID` (sent by a reconnecting
//! `EventSource`) or `?after=<id>` first replays every stored message after
//! that id, then continues live ([`crate::log::feed`]). Every stream also
//! carries a `ping` event every 15 s, which a page can watch (comments are
//! invisible to `EventSource`).
//!
//! This module reads the request (the resume point, the client's stream
//! slot) and answers; the stream's connection then leaves hyper and writes
//! the feed's frames itself ([`crate::edge::handoff`]).

use std::convert::Infallible;

use axum::{
    Extension, Router,
    body::Body,
    extract::{RawQuery, State},
    http::{HeaderMap, Version, header},
    response::Response,
    routing::get,
};
use futures::StreamExt;
use serde::Deserialize;
use shared::MessageId;

use crate::{
    AppState, door::caller::Caller, edge::client::ClientIp, edge::error::ApiError,
    edge::handoff::Handoff, log::feed::Feed,
};

/// Where the stream is served.
const EVENTS_PATH: &str = "/api/events";

/// The headers of every event stream: never cached, and not buffered by
/// reverse proxies.
/// Never compressed either: the compression layer skips `text/event-stream`.
const STREAM_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];

pub fn router() -> Router<AppState> {
    Router::new().route(EVENTS_PATH, get(stream_events))
}

async fn stream_events(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(client): ClientIp,
    handoff: Option<Extension<Handoff>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let last_event_ids = headers
        .get_all("last-event-id")
        .iter()
        .map(|value| value.as_bytes());
    let resume_after = resume_after(query.as_deref(), last_event_ids)?;
    let account = caller.stream_account().await?;
    let slot = state
        .stream_slots
        .take(client)
        .ok_or(ApiError::TooManyStreams)?;
    let feed = Feed::open(
        &state.chat,
        resume_after,
        slot,
        state.timing.keep_alive,
        account,
    );
    let response = STREAM_HEADERS
        .into_iter()
        .fold(Response::builder(), |response, (name, value)| {
            response.header(name, value)
        });
    let response = match handoff {
        // Served by our accept loop: the connection takes the stream over
        // once the head is out (see `crate::edge::handoff`); the response is
        // delimited by the connection's end, which HTTP/1.0 says.
        Some(Extension(handoff)) => response
            .version(Version::HTTP_10)
            .header(header::CONNECTION, "close")
            .body(Body::new(handoff.body(feed))),
        // Served some other way (the router on its own): a streaming body.
        None => {
            let frames = feed
                .into_stream()
                .map(Ok::<_, Infallible>)
                .take_until(state.shutdown.clone().cancelled_owned());
            response.body(Body::from_stream(frames))
        }
    };
    response.map_err(|err| ApiError::Internal(err.into()))
}

/// The query an event stream may carry: `?after=<id>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<MessageId>,
}

/// Where a stream starts, from its query string and its `Last-Event-ID`
/// headers: after the id in `Last-Event-ID` (a reconnecting browser knows
/// better than the URL it first opened), else after `?after=`, else live
/// only.
fn resume_after<'a>(
    query: Option<&str>,
    mut last_event_ids: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<MessageId>, ApiError> {
    let after = match query {
        Some(query) => {
            serde_urlencoded::from_str::<EventsQuery>(query)
                .map_err(|_| ApiError::BadQuery("the only parameter is after, a message id"))?
                .after
        }
        None => None,
    };
    let Some(value) = last_event_ids.next() else {
        return Ok(after);
    };
    if last_event_ids.next().is_some() {
        return Err(ApiError::BadQuery("send at most one Last-Event-ID"));
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|value| value.trim().parse::<MessageId>().ok())
        .map(Some)
        .ok_or(ApiError::BadQuery("Last-Event-ID must be a message id"))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    use super::*;
    use crate::{
        log::hub::Hub,
        testing::{frame_ids as ids, published, start_chat, temp_store},
    };

    fn resume(query: Option<&str>, ids: &[&str]) -> Result<Option<MessageId>, String> {
        resume_after(query, ids.iter().map(|id| id.as_bytes())).map_err(|err| err.to_string())
    }

    #[test]
    fn last_event_id_wins_over_the_after_query() {
        assert_eq!(resume(Some("after=3"), &["7"]), Ok(Some(7)));
        assert_eq!(resume(Some("after=3"), &[]), Ok(Some(3)));
        assert_eq!(resume(None, &[" 9 "]), Ok(Some(9)));
        assert_eq!(resume(None, &[]), Ok(None));
    }

    #[test]
    fn an_unreadable_resume_point_is_refused() {
        for (query, ids) in [
            (Some("after=abc"), &[][..]),
            (Some("after=1&evil=2"), &[]),
            (None, &["x"]),
            (None, &["1", "2"]),
            (Some("after=1"), &["3", "3"]),
        ] {
            assert!(resume(query, ids).is_err(), "{query:?} {ids:?}");
        }
    }

    #[tokio::test]
    async fn a_router_served_without_the_accept_loop_streams_through_its_body() {
        use axum::http::{Request, StatusCode};
        use tower::ServiceExt;

        let (_dir, store) = temp_store().await;
        let hub = Hub::default();
        let chat = start_chat(store.clone(), hub.clone()).await;
        let visibility = chat.visibility().clone();
        let addr: SocketAddr = "127.0.0.1:80".parse().expect("addr");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let state = AppState {
            chat,
            accounts: crate::door::accounts::Accounts::start(
                store.clone(),
                false,
                shutdown.clone(),
            ),
            rooms: crate::door::rooms::Rooms::load(store.clone(), visibility.clone())
                .await
                .expect("rooms"),
            presence: crate::door::presence::Presence::start(
                &store,
                hub.clone(),
                visibility,
                shutdown.clone(),
            ),
            guests_may_send: true,
            blocks: crate::door::blocks::Blocks::start(
                store.clone(),
                tokio::sync::watch::channel(0).1,
                shutdown.clone(),
            )
            .await
            .expect("blocks"),
            audit_keeps_text: false,
            leptos_options: leptos::config::LeptosOptions::builder()
                .output_name("chat")
                .build(),
            site: crate::edge::site::Site::new(Some("http://x"), addr).expect("site"),
            send_limiter: crate::edge::rate::SendLimiter::start(
                crate::edge::rate::RateLimit::Off,
                shutdown.clone(),
            ),
            read_limiter: crate::edge::rate::ReadLimiter::start(
                crate::edge::rate::RateLimit::Off,
                shutdown.clone(),
            ),
            stream_slots: crate::edge::slots::StreamSlots::new(Default::default()),
            proxies: Default::default(),
            responses: Default::default(),
            timing: crate::config::Timing::default(),
            shutdown,
        };
        // No `Handoff` extension: nothing would take the connection over.
        let request = Request::get(EVENTS_PATH)
            .extension(ConnectInfo(addr))
            .body(Body::empty())
            .expect("request");
        let response = router()
            .with_state(state)
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), Version::HTTP_11);
        assert!(!response.headers().contains_key(header::CONNECTION));

        hub.publish(published(1));
        let mut body = response.into_body().into_data_stream();
        let frames = body.next().await.expect("a frame").expect("data");
        assert_eq!(ids(&frames), [1]);
    }
}
