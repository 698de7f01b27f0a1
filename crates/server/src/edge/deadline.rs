//! A connection whose writes may not stay blocked for long.
//!
//! A client that stops reading leaves the server's writes pending once the
//! socket's buffers are full; the stream behind them would hold its buffers
//! for as long as the client stays. [`WriteDeadline`] fails a write that
//! has made no progress for its timeout (`Timing::write_timeout`, 30 s), which ends the connection
//! (hyper closes it; the direct stream path stops). A browser that was only
//! asleep resumes by id when it wakes up.

//!
//! A request body must arrive whole within its own deadline
//! (`Timing::body_timeout`, 10 s, like a request head): [`limit_body_time`]
//! fails the body's read after it, so a client that sends half a body and
//! stops holds its connection no longer than one that sends half a head.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use hyper::body::{Body as _, Frame, SizeHint};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::Sleep,
};

/// `io`, with every write failing after [`WriteDeadline::new`]'s timeout
/// without progress.
#[derive(Debug)]
pub struct WriteDeadline<T> {
    io: T,
    timeout: Duration,
    /// Running while a write is pending; cleared by any progress.
    blocked: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    pub fn new(io: T, timeout: Duration) -> Self {
        Self {
            io,
            timeout,
            blocked: None,
        }
    }

    /// The connection inside.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Passes a finished write through; starts or checks the clock while
    /// it is pending.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.blocked = None;
            return poll;
        }
        let timeout = self.timeout;
        let blocked = self
            .blocked
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(blocked.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing for too long",
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Middleware: every request's body must be read whole within `timeout`
/// of the request reaching the router (its head read). A request without
/// a body (most of them: pages, files, reads) needs no timer.
pub async fn limit_body_time(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let request = request.map(|body| Body::new(BodyDeadline::new(body, timeout)));
    next.run(request).await
}

/// A request body whose reading fails once its deadline has passed.
struct BodyDeadline {
    body: Body,
    deadline: Pin<Box<Sleep>>,
}

impl BodyDeadline {
    fn new(body: Body, timeout: Duration) -> Self {
        Self {
            body,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

/// Why a request body could not be read: it did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl hyper::body::Body for BodyDeadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        // What has arrived is read first, so a body that is all there
        // never fails.
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        ready!(this.deadline.as_mut().poll(cx));
        Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
    const BODY_TIMEOUT: Duration = Duration::from_secs(10);

    /// A body of which `first` arrives, and then nothing, ever.
    fn half_a_body(first: &'static [u8]) -> Body {
        let first =
            futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) });
        Body::from_stream(futures::StreamExt::chain(first, futures::stream::pending()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_arriving_fails_at_its_deadline() {
        let started = tokio::time::Instant::now();
        let body = Body::new(BodyDeadline::new(half_a_body(b"{\"text\": "), BODY_TIMEOUT));
        let read = axum::body::to_bytes(body, 1024).await;
        assert!(read.is_err(), "{read:?}");
        assert_eq!(started.elapsed(), BODY_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_whole_body_is_read_whatever_the_clock_says() {
        let body = BodyDeadline::new(Body::from("{}"), BODY_TIMEOUT);
        tokio::time::advance(BODY_TIMEOUT * 2).await;
        let read = axum::body::to_bytes(Body::new(body), 1024).await;
        assert_eq!(read.expect("read").as_ref(), b"{}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_blocked_past_the_timeout_fails() {
        // A pipe of 64 bytes whose other end never reads.
        let (near, _far) = tokio::io::duplex(64);
        let mut io = WriteDeadline::new(near, WRITE_TIMEOUT);
        io.write_all(&[0; 64]).await.expect("fits the buffer");
        let started = tokio::time::Instant::now();
        let err = io.write_all(&[0; 1]).await.expect_err("blocked for good");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), WRITE_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_not_cut_off() {
        use tokio::io::AsyncReadExt;
        let (near, mut far) = tokio::io::duplex(64);
        let mut io = WriteDeadline::new(near, WRITE_TIMEOUT);
        let reader = tokio::spawn(async move {
            let mut chunk = [0; 64];
            let mut total = 0;
            while total < 640 {
                // Reads a buffer's worth every 20 s: slower than the writer,
                // never silent for the whole timeout.
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += far.read(&mut chunk).await.expect("reads");
            }
            total
        });
        io.write_all(&[0; 640])
            .await
            .expect("every write progresses in time");
        assert_eq!(reader.await.expect("reader"), 640);
    }
}
