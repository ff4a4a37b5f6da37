//! Forwarding one connection both ways, closed when it has been idle too long.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use super::log;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::TcpStream;

/// How a forwarded connection ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// Both sides closed; the bytes moved each way (TLS to plain, plain to TLS).
    Closed(u64, u64),
    /// No byte moved for the idle timeout.
    Idle,
    /// An I/O error on either side.
    Failed(io::Error),
}

/// What the plain side is read into: one full TLS record of plaintext (RFC 8446 §5.1), so each
/// write to the TLS side can become one whole record.
const PLAIN_BUFFER: usize = 16 * 1024;

/// Copies `tls` to `plain` and `plain` to `tls` until both are done, or until nothing has moved
/// for `idle`.
///
/// Each direction is a `copy_buf`: from the TLS side, plaintext is written to `plain` straight
/// from the buffer rustls decrypted it into ([`AsyncBufRead`] on `ClientIo`/`ServerIo`), without
/// the copy into a buffer of ours that `copy_bidirectional` makes; from the plain side, it is read
/// into one 16 KiB buffer, and rustls seals each write as one record.
pub(super) async fn forward<T, P>(tls: T, plain: P, idle: Duration) -> Ended
where
    T: AsyncBufRead + AsyncWrite + Unpin,
    P: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut tls = Active::new(tls, start, last.clone());
    let plain = BufReader::with_capacity(PLAIN_BUFFER, plain);
    let mut plain = Active::new(plain, start, last.clone());
    let (mut down, mut up) = (Copy::default(), Copy::default());
    let copy = std::future::poll_fn(|cx| {
        let down_done = down.poll(cx, &mut tls, &mut plain)?;
        let up_done = up.poll(cx, &mut plain, &mut tls)?;
        if down_done.is_ready() && up_done.is_ready() {
            Poll::Ready(Ok::<_, io::Error>((down.moved, up.moved)))
        } else {
            Poll::Pending
        }
    });
    tokio::pin!(copy);
    loop {
        let since = Duration::from_millis(last.load(Ordering::Relaxed));
        let deadline = start + since + idle;
        tokio::select! {
            done = &mut copy => {
                return match done {
                    Ok((down, up)) => Ended::Closed(down, up),
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

// === impl Copy ===

/// One direction of a forwarded connection: bytes from a buffered reader to a writer, then, at
/// the reader's end of stream, the writer shut down (a TLS writer sends its `close_notify`).
#[derive(Debug, Default)]
struct Copy {
    /// Bytes written since the start.
    moved: u64,
    /// Written but not yet flushed.
    unflushed: bool,
    /// The reader has ended; the writer is being shut down.
    ending: bool,
    /// The writer is shut down.
    done: bool,
}

impl Copy {
    fn poll<R, W>(&mut self, cx: &mut Context<'_>, r: &mut R, w: &mut W) -> Poll<io::Result<()>>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        while !self.ending {
            let data = match Pin::new(&mut *r).poll_fill_buf(cx) {
                Poll::Ready(read) => read?,
                Poll::Pending => {
                    // Nothing more to read for now: what was written must reach the peer.
                    if self.unflushed {
                        ready!(Pin::new(&mut *w).poll_flush(cx))?;
                        self.unflushed = false;
                    }
                    return Poll::Pending;
                }
            };
            if data.is_empty() {
                self.ending = true;
                break;
            }
            let n = ready!(Pin::new(&mut *w).poll_write(cx, data))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            Pin::new(&mut *r).consume(n);
            self.moved += n as u64;
            self.unflushed = true;
        }
        if !self.done {
            ready!(Pin::new(&mut *w).poll_shutdown(cx))?;
            self.done = true;
        }
        Poll::Ready(Ok(()))
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

impl<S: AsyncBufRead + Unpin> AsyncBufRead for Active<S> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        if amt > 0 {
            self.touch();
        }
        Pin::new(&mut self.inner).consume(amt)
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

/// Turns Nagle's algorithm off: a proxy writes what it has as soon as it has it (a TLS record, a
/// response), and with Nagle on, a short last segment waits for the peer's delayed ACK (about 40
/// ms per response on Linux loopback, seen in `benches/sidecar.py`).
pub(super) fn nodelay(tcp: TcpStream) -> TcpStream {
    if let Err(e) = tcp.set_nodelay(true) {
        log(&format!("TCP_NODELAY: {e}"));
    }
    tcp
}
