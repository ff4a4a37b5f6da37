//! Is this connection TLS for us? Reading the ClientHello's SNI before deciding.
//!
//! A mesh proxy's inbound port sees meshed TLS for this workload (terminate it), TLS that an
//! application speaks end to end to some other name (pass it through untouched), and plaintext.
//! [`detect`] peeks at the first bytes, within a timeout, and says which; the bytes it read stay
//! readable in the [`PrefixedIo`] it hands back.
//!
//! [`parse_sni`] is the parser: bounds-checked on every length, it never panics, copes with a
//! ClientHello split across records, and says [`Incomplete`] only while the bytes so far could
//! still be the start of a ClientHello.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::identity::ServerName;
use crate::io::PeerAddr;

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXTENSION_SERVER_NAME: u16 = 0;
const NAME_TYPE_HOST_NAME: u8 = 0;
const RECORD_HEADER_LEN: usize = 5;
/// Largest TLSPlaintext fragment (RFC 8446 §5.1).
const MAX_FRAGMENT_LEN: usize = 1 << 14;
/// Largest ClientHello we inspect (rustls's own handshake-message limit).
const MAX_HELLO_LEN: usize = 0xffff;
/// Most bytes [`detect`] reads: the largest ClientHello in the smallest records that can carry it.
const MAX_PEEK: usize = MAX_HELLO_LEN + 4 + 16 * RECORD_HEADER_LEN;

/// More bytes are needed to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("incomplete ClientHello: more bytes needed")]
pub struct Incomplete;

/// What the first bytes of a connection are.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Hello {
    /// Not a TLS ClientHello.
    NotTls,
    /// A ClientHello, with its SNI host name if it has a valid one.
    ClientHello(Option<ServerName>),
}

/// The SNI host name of the ClientHello at the start of `bytes`.
///
/// `Ok(None)` when the bytes are not a ClientHello, or are one without a valid DNS host name.
///
/// # Errors
///
/// [`Incomplete`] when they are a prefix of a ClientHello that may still have one.
pub fn parse_sni(bytes: &[u8]) -> Result<Option<ServerName>, Incomplete> {
    match parse_hello(bytes)? {
        Hello::ClientHello(sni) => Ok(sni),
        Hello::NotTls => Ok(None),
    }
}

fn parse_hello(bytes: &[u8]) -> Result<Hello, Incomplete> {
    // Reassemble the handshake layer from as many whole records as it takes.
    let mut handshake = Vec::new();
    let mut rest = bytes;
    loop {
        let Some(header) = rest.get(..RECORD_HEADER_LEN) else {
            return first_bytes_could_be_tls(rest);
        };
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if header[0] != CONTENT_HANDSHAKE || header[1] != 3 || len == 0 || len > MAX_FRAGMENT_LEN {
            return Ok(Hello::NotTls);
        }
        let Some(fragment) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
            return Err(Incomplete);
        };
        handshake.extend_from_slice(fragment);
        rest = &rest[RECORD_HEADER_LEN + len..];

        if handshake[0] != HANDSHAKE_CLIENT_HELLO {
            return Ok(Hello::NotTls);
        }
        let Some(&[_, a, b, c]) = handshake.get(..4) else {
            continue;
        };
        let body_len = (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c);
        if body_len > MAX_HELLO_LEN {
            return Ok(Hello::NotTls);
        }
        if let Some(body) = handshake.get(4..4 + body_len) {
            return Ok(client_hello_sni(body).map_or(Hello::NotTls, Hello::ClientHello));
        }
    }
}

/// Fewer than five bytes: a ClientHello prefix only if what is there fits a record header.
fn first_bytes_could_be_tls(bytes: &[u8]) -> Result<Hello, Incomplete> {
    let fits = match bytes {
        [] => true,
        [t] => *t == CONTENT_HANDSHAKE,
        [t, major, ..] => *t == CONTENT_HANDSHAKE && *major == 3,
    };
    if fits {
        Err(Incomplete)
    } else {
        Ok(Hello::NotTls)
    }
}

/// Parses a complete ClientHello body. `None` if it is malformed; `Some(None)` if it has no usable SNI.
fn client_hello_sni(body: &[u8]) -> Option<Option<ServerName>> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    r.vec8()?; // legacy_session_id
    let suites = r.vec16()?;
    if suites.is_empty() || suites.len() % 2 != 0 {
        return None;
    }
    if r.vec8()?.is_empty() {
        return None; // legacy_compression_methods must hold at least `null`
    }
    if r.0.is_empty() {
        return Some(None); // no extensions at all
    }
    let mut exts = Reader(r.vec16()?);
    if !r.0.is_empty() {
        return None;
    }
    while !exts.0.is_empty() {
        let ty = exts.u16()?;
        let data = exts.vec16()?;
        if ty == EXTENSION_SERVER_NAME {
            return Some(host_name(data));
        }
    }
    Some(None)
}

/// The host name in a server_name extension, if it is a valid DNS name.
fn host_name(data: &[u8]) -> Option<ServerName> {
    let mut r = Reader(data);
    let mut list = Reader(r.vec16()?);
    while !list.0.is_empty() {
        let ty = list.u8()?;
        let name = list.vec16()?;
        if ty == NAME_TYPE_HOST_NAME {
            return std::str::from_utf8(name).ok()?.parse().ok();
        }
    }
    None
}

/// A bounds-checked cursor: every read returns `None` past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

// === detect ===

/// What [`detect`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    /// A ClientHello for this workload's name: terminate TLS here.
    Terminate,
    /// A ClientHello for another name: pass the connection through.
    Passthru {
        /// The SNI the client sent.
        sni: ServerName,
    },
    /// A ClientHello without a usable SNI host name.
    NoSni,
    /// Not TLS (or a ClientHello too malformed to read).
    NotTls,
    /// The client sent too little before the timeout.
    TimedOut,
}

/// Reads the start of `io` for up to `timeout` and says whether it is a ClientHello for
/// `local_name`. Every byte read stays readable from the returned [`PrefixedIo`].
///
/// # Errors
///
/// Only the I/O error of a failed read; a timeout or bytes that are not TLS are a [`Detected`].
pub async fn detect<I>(
    io: I,
    local_name: &ServerName,
    timeout: Duration,
) -> io::Result<(Detected, PrefixedIo<I>)>
where
    I: AsyncRead + Unpin,
{
    let mut io = io;
    let mut buf = Vec::with_capacity(512);
    let read = async {
        loop {
            match parse_hello(&buf) {
                Ok(hello) => return Ok(hello),
                Err(Incomplete) if buf.len() >= MAX_PEEK => return Ok(Hello::NotTls),
                Err(Incomplete) => {}
            }
            buf.reserve(1024);
            if io.read_buf(&mut buf).await? == 0 {
                return Ok(Hello::NotTls); // closed before a whole ClientHello
            }
        }
    };
    let detected = match tokio::time::timeout(timeout, read).await {
        Err(_elapsed) => Detected::TimedOut,
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Hello::NotTls)) => Detected::NotTls,
        Ok(Ok(Hello::ClientHello(None))) => Detected::NoSni,
        Ok(Ok(Hello::ClientHello(Some(sni)))) if sni == *local_name => Detected::Terminate,
        Ok(Ok(Hello::ClientHello(Some(sni)))) => Detected::Passthru { sni },
    };
    tracing::trace!(?detected, peeked = buf.len(), "detected");
    Ok((detected, PrefixedIo::new(buf, io)))
}

// === impl PrefixedIo ===

/// I/O whose first reads return bytes already read from it.
#[derive(Debug)]
pub struct PrefixedIo<I> {
    prefix: Vec<u8>,
    pos: usize,
    io: I,
}

impl<I> PrefixedIo<I> {
    /// `io`, with `prefix` to be read first.
    pub fn new(prefix: Vec<u8>, io: I) -> Self {
        Self { prefix, pos: 0, io }
    }

    /// The bytes read ahead that have not been read back yet.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix[self.pos..]
    }

    /// The underlying I/O.
    pub fn get_ref(&self) -> &I {
        &self.io
    }

    /// The underlying I/O, mutably. Bytes read from it directly skip the unread prefix.
    pub fn get_mut(&mut self) -> &mut I {
        &mut self.io
    }

    /// The bytes read ahead that have not been read back yet, and the underlying I/O.
    pub fn into_inner(self) -> (Vec<u8>, I) {
        let mut prefix = self.prefix;
        prefix.drain(..self.pos);
        (prefix, self.io)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for PrefixedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let left = &this.prefix[this.pos..];
        if left.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = left.len().min(buf.remaining());
        buf.put_slice(&left[..n]);
        this.pos += n;
        if this.pos == this.prefix.len() {
            this.prefix = Vec::new();
            this.pos = 0;
        }
        Poll::Ready(Ok(()))
    }
}

/// Writes go straight to the underlying I/O.
impl<I: AsyncWrite + Unpin> AsyncWrite for PrefixedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<I: PeerAddr> PeerAddr for PrefixedIo<I> {
    /// The remote address of the underlying I/O.
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.io.peer_addr()
    }
}
