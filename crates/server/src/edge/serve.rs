//! Accepting connections, within bounds an operator can count on.
//!
//! - **The open-file limit** is raised to its hard maximum at start (both
//!   are logged): every connection is a file descriptor.
//! - **Connections are capped** below that limit (`--max-connections`, by
//!   default the limit less [`RESERVED_FILES`] for the database and logs).
//!   A connection over the cap is answered `503` and closed at once, so the
//!   server never runs out of descriptors and can always accept.
//! - **A request head must be complete within `Timing::head_timeout`** (10 s) of the
//!   connection's start (and each later one within the same time of the
//!   previous response; an idle keep-alive connection closes after it too:
//!   hyper's `header_read_timeout`),
//!   and may be at most [`MAX_HEAD_BYTES`] long (`431` otherwise).
//! - **Writes that make no progress for 30 s end the connection** (see
//!   [`crate::edge::deadline`]).
//!
//! Hyper serves each connection with the axum router; when a response is
//! an event stream, the connection leaves hyper after its head and writes
//! the stream itself ([`crate::edge::handoff`]).

use std::{io, net::SocketAddr, pin::Pin, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request},
    response::IntoResponse,
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

use crate::{
    SHUTDOWN_GRACE,
    config::Timing,
    edge::deadline::WriteDeadline,
    edge::error::ApiError,
    edge::handoff::{self, Handoff},
    log::feed::Feed,
};

/// The longest request head read (hyper's read buffer; at least 8 KiB).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// File descriptors kept free of connections: database, logs, the listener.
pub const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard one and returns how many
/// connections fit below it.
pub fn raise_open_file_limit() -> io::Result<usize> {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let raised = rlimit::increase_nofile_limit(hard)?;
    tracing::info!(
        soft_before = soft,
        hard,
        soft_now = raised,
        "open-file limit"
    );
    let connections = raised.saturating_sub(RESERVED_FILES).max(16);
    Ok(usize::try_from(connections).unwrap_or(usize::MAX))
}

/// Serves `listener` until `shutdown` is cancelled, then waits (at most
/// [`SHUTDOWN_GRACE`]) for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    timing: Timing,
    shutdown: CancellationToken,
) {
    let connections = Arc::new(Semaphore::new(max_connections));
    let tracker = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Only if descriptors ran out outside the cap's reach.
                    tracing::error!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracker.spawn(refuse_busy(stream));
            continue;
        };
        let (router, shutdown) = (router.clone(), shutdown.clone());
        tracker.spawn(async move {
            serve_connection(stream, peer, router, timing, shutdown).await;
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish in time; closing them");
    }
}

/// Over the connection cap: a `503` and the door closes.
async fn refuse_busy(mut stream: TcpStream) {
    tracing::warn!("connection cap reached; refusing a connection");
    // The API's answer, written out by hand: hyper is for connections
    // within the cap.
    let (parts, body) = ApiError::Busy.into_response().into_parts();
    let body = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or_default()
    );
    for (name, value) in &parts.headers {
        head.push_str(&format!(
            "{name}: {}\r\n",
            value.to_str().unwrap_or_default()
        ));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timing: Timing,
    shutdown: CancellationToken,
) {
    if let Some((stream, feed)) = serve_requests(stream, peer, router, timing, &shutdown).await {
        handoff::serve(stream, feed, timing.write_timeout, &shutdown).await;
    }
}

/// Serves requests with hyper until the client leaves, or until a
/// response hands the connection over to an event stream: then returns
/// the socket and the stream's feed, and nothing of hyper's stays.
async fn serve_requests(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timing: Timing,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, Feed)> {
    let handoff = Handoff::default();
    let service = {
        let handoff = handoff.clone();
        router.map_request(move |mut request: Request<Incoming>| {
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo(peer));
            extensions.insert(handoff.clone());
            request
        })
    };
    let io = TokioIo::new(WriteDeadline::new(stream, timing.write_timeout));
    // Boxed, so that a stream's task does not keep room for hyper's.
    let mut connection = Box::new(
        hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timing.head_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            .serve_connection(io, TowerToHyperService::new(service)),
    );
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    let mut shutting_down = false;
    // Without hyper's shutdown of the socket, which a stream keeps.
    let served = std::future::poll_fn(|cx| {
        if !shutting_down && cancelled.as_mut().poll(cx).is_ready() {
            // Finish the request in flight, take no other.
            Pin::new(&mut *connection).graceful_shutdown();
            shutting_down = true;
        }
        connection.poll_without_shutdown(cx)
    })
    .await;
    if let Err(err) = served {
        tracing::debug!(%peer, error = %err, "connection ended");
        return None;
    }
    let hyper::server::conn::http1::Parts { io, read_buf, .. } = connection.into_parts();
    let mut stream = io.into_inner().into_inner();
    match handoff.take() {
        // Nothing may follow a stream's request on its connection.
        Some(feed) if read_buf.is_empty() => Some((stream, feed)),
        _ => {
            let _ = stream.shutdown().await;
            None
        }
    }
}
