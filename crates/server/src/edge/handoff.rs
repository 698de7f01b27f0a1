//! Event streams leave hyper once their response head is out.
//!
//! An open event stream is most of what a chat server holds: one per open
//! tab, idle nearly all the time. Left to hyper for its whole life, each
//! would keep its connection's read buffer (8 KiB at the least), write
//! buffer, dispatcher and body adapters: 19.8 KiB per stream measured
//! (39.2 KiB with glibc's malloc), for a connection that never reads again
//! and only writes ready-made frames. Handed over, a stream costs 2.5 KiB.
//!
//! So a stream is requested like any other request: hyper reads the head,
//! the middleware applies the site's rules, and axum's handler
//! ([`crate::edge::sse`]) checks the resume point and takes the client's stream
//! slot, with the same tracing as every request. The handler then answers
//! with a close-delimited response (`HTTP/1.0 200`, `connection: close`,
//! no length) whose body is a [`Handover`]: when hyper, having written the
//! head, asks it for the body, it moves the stream's [`Feed`] into the
//! connection's [`Handoff`] slot and ends. A close-delimited body ends
//! without a terminator, so hyper finishes the response, flushes, and
//! gives the connection back ([`hyper`]'s `without_shutdown`) instead of
//! closing it. [`serve`] then writes the feed's frames straight to the
//! socket until the client leaves or the server shuts down: the stream
//! keeps its feed and the socket, and nothing of hyper's.
//!
//! This works the same whether the stream is the connection's first
//! request or comes after others on a keep-alive connection, as a
//! browser's `EventSource` does.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

use crate::{edge::deadline::WriteDeadline, log::feed::Feed};

/// One connection's slot for a stream it hands over: put in every request's
/// extensions by the accept loop, filled by a [`Handover`] body.
#[derive(Clone, Default)]
pub(crate) struct Handoff(Arc<Mutex<Option<Feed>>>);

impl Handoff {
    /// The response body that hands `feed` over to this connection.
    pub(crate) fn body(&self, feed: Feed) -> Handover {
        Handover {
            feed: Some(feed),
            to: self.clone(),
        }
    }

    /// The stream handed over, if the connection's last response was one.
    pub(crate) fn take(&self) -> Option<Feed> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// An event stream's response body while hyper writes the head: polled
/// (which hyper does only once the head is written), it hands its feed to
/// the connection and ends. Its length is unknown, so that hyper delimits
/// the response by closing, which needs no terminator.
pub(crate) struct Handover {
    feed: Option<Feed>,
    to: Handoff,
}

impl Body for Handover {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(feed) = self.feed.take() {
            *self.to.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(feed);
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Writes the stream until the client closes it, the feed ends, or the
/// server shuts down. `stream` is the connection hyper gave back, its
/// response head already sent.
pub(crate) async fn serve(
    stream: TcpStream,
    mut feed: Feed,
    write_timeout: Duration,
    shutdown: &CancellationToken,
) {
    // Every frame is written whole; do not let Nagle hold small ones back.
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    // The same deadline as while hyper had it: a client that reads
    // nothing for this long is gone or hostile.
    let mut writer = WriteDeadline::new(writer, write_timeout);
    let mut probe = [0; 1];
    // Made once: thousands of idle streams wake for every message, and
    // each wake-up polls these again, which costs nothing when they stay
    // registered (made anew, each would lock the shutdown token's list).
    // An event stream's client sends nothing more: any read, end of file
    // included, means it is gone or not speaking our protocol.
    let client_gone = reader.read(&mut probe);
    let shutting_down = shutdown.cancelled();
    tokio::pin!(client_gone, shutting_down);
    loop {
        tokio::select! {
            biased;
            frames = feed.next_frames() => match frames {
                Some(frames) if writer.write_all(&frames).await.is_ok() => {}
                _ => break,
            },
            _ = &mut client_gone => break,
            () = &mut shutting_down => break,
        }
    }
    let _ = writer.shutdown().await;
}
