//! Forwarding one connection both ways, closed when it has been idle too long.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How a forwarded connection ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// Both sides closed; the bytes moved each way (a to b, b to a).
    Closed(u64, u64),
    /// No byte moved for the idle timeout.
    Idle,
    /// An I/O error on either side.
    Failed(io::Error),
}

/// Copies `a` to `b` and `b` to `a` until both are done, or until nothing has moved for `idle`.
pub(super) async fn forward<A, B>(a: A, b: B, idle: Duration) -> Ended
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut a = Active::new(a, start, last.clone());
    let mut b = Active::new(b, start, last.clone());
    let copy = tokio::io::copy_bidirectional(&mut a, &mut b);
    tokio::pin!(copy);
    loop {
        let since = Duration::from_millis(last.load(Ordering::Relaxed));
        let deadline = start + since + idle;
        tokio::select! {
            done = &mut copy => {
                return match done {
                    Ok((ab, ba)) => Ended::Closed(ab, ba),
                    Err(e) => Ended::Failed(e),
                };
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                let moved = Duration::from_millis(last.load(Ordering::Relaxed));
                if moved == since {
                    return Ended::Idle;
                }
            }
        }
    }
}

/// An I/O object that records, in milliseconds since `start`, when a byte last moved through it.
struct Active<S> {
    inner: S,
    start: Instant,
    last: Arc<AtomicU64>,
}

impl<S> Active<S> {
    fn new(inner: S, start: Instant, last: Arc<AtomicU64>) -> Self {
        Self { inner, start, last }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Active<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Active<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
