//! Is this connection TLS for us? Reading the ClientHello's SNI before deciding.
//!
//! A mesh proxy's inbound port sees meshed TLS for this workload (terminate it), TLS that an
//! application speaks end to end to some other name (pass it through untouched), and plaintext.
//! [`detect`] peeks at the first bytes, within a timeout, and says which; the bytes it read stay
//! readable in the [`PrefixedIo`] it hands back. [`parse_sni`] gives the same verdict on bytes
//! already in hand.
//!
//! # The verdict is rustls's
//!
//! What is terminated here is then handshaken by rustls 0.23, so detection reads a ClientHello by
//! the rules of rustls's server (`rustls::server::Acceptor`), rule by rule (listed in
//! `detect/hello.rs` for records and the handshake message, `detect/body.rs` for the hello's
//! body); `tests/detect_differential.rs` holds the two to the same verdict on real hellos from
//! rustls, OpenSSL and Go, every truncation, re-framing and byte change of them, and hand-made
//! ones for each rule.
//! Reading a hello differently from the server behind would let a client steer the routing
//! decision (say, pass through on the first of two server names when rustls refuses both).
//!
//! - Bytes rustls refuses as malformed or misbehaving (a duplicated extension, two host names, a
//!   name that is not a DNS name or IP literal, a bad record header, a hello interleaved with other
//!   records, ...) are [`Detected::NotTls`]: "not TLS, or too malformed to read".
//! - A hello rustls takes gives its SNI as rustls's `ClientHello::server_name()` does: lower-cased,
//!   without a trailing dot, and none for an IP literal. That name must then be a meshtls
//!   [`ServerName`]; a name rustls takes but meshtls does not (one with `_`, say) is
//!   [`Detected::NoSni`].
//! - A well-formed hello rustls refuses only because it cannot talk to that client (no `null`
//!   compression method, no signature_algorithms extension: `PeerIncompatible`) still gives its
//!   SNI. Such a client speaks TLS to the name it sent: passed through, the server for that name
//!   may well take it (a TLS 1.2 client may omit signature_algorithms); terminated, rustls answers
//!   it with the proper alert, where calling it plaintext would hand TLS bytes to the application.
//!
//! # Bounded, and linear
//!
//! Each read's new bytes are taken once: record headers as they arrive, fragments appended once to
//! the one reassembled handshake message, the ClientHello body parsed once when complete. So the
//! work is linear in the bytes read however the client splits them into records and segments,
//! and at most 0xffff bytes are read: the records rustls's server buffers while it joins a
//! handshake message, so a hello that has not ended by then, rustls would refuse too. The one
//! deadline covers all the reads.
//!
//! A verdict can come before rustls's: a first record that is not a handshake, a handshake message
//! that is not a ClientHello, or more handshake bytes in the record that ends the hello are
//! [`Detected::NotTls`] as soon as they are seen, where rustls would wait for the rest of the
//! record or message and then refuse it. [`Incomplete`] means the bytes so far may still be the
//! start of a ClientHello as far as their record and handshake headers show (the body is judged
//! once whole).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::identity::ServerName;
use crate::io::PeerAddr;

mod body;
mod hello;

use hello::{Hello, HelloReader, MAX_PEEK};

/// The first read's buffer; it grows by doubling, to [`MAX_PEEK`] at most.
const FIRST_READ: usize = 1024;

/// More bytes are needed to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("incomplete ClientHello: more bytes needed")]
pub struct Incomplete;

/// The SNI host name of the ClientHello at the start of `bytes`.
///
/// `Ok(None)` when the bytes are not a ClientHello rustls's server would read, or are one without
/// a valid DNS host name (see the [module docs](crate::detect) for which).
///
/// # Errors
///
/// [`Incomplete`] when they may still be the start of a ClientHello.
pub fn parse_sni(bytes: &[u8]) -> Result<Option<ServerName>, Incomplete> {
    match HelloReader::default().feed(bytes) {
        Some(Hello::ClientHello(sni)) => Ok(sni),
        Some(Hello::NotTls) => Ok(None),
        None => Err(Incomplete),
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
    /// Not TLS, or a ClientHello too malformed to read: one rustls's server refuses as malformed
    /// or misbehaving.
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
    let mut buf = Vec::with_capacity(FIRST_READ);
    let mut hello = HelloReader::default();
    let read = async {
        loop {
            // Never past MAX_PEEK: the reader has its verdict there.
            let room = MAX_PEEK.saturating_sub(buf.len());
            buf.reserve(buf.len().max(FIRST_READ).min(room));
            let start = buf.len();
            if (&mut io).take(room as u64).read_buf(&mut buf).await? == 0 {
                return Ok(Hello::NotTls); // closed before a whole ClientHello
            }
            if let Some(verdict) = hello.feed(buf.get(start..).unwrap_or_default()) {
                return Ok(verdict);
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

#[cfg(test)]
mod tests {
    use super::hello::{Hello, HelloReader, MAX_PEEK};

    /// A ClientHello for `foo.example` with an unknown extension of `pad` bytes, in records of
    /// at most `size` bytes.
    fn hello(pad: usize, size: usize) -> Vec<u8> {
        let mut exts = vec![0, 0, 0, 16, 0, 14, 0, 0, 11];
        exts.extend(b"foo.example");
        exts.extend([0, 13, 0, 4, 0, 2, 4, 3]); // signature_algorithms
        exts.extend([0x77, 0x77]);
        exts.extend((pad as u16).to_be_bytes());
        exts.resize(exts.len() + pad, 0);
        let mut body = vec![3, 3];
        body.extend([0; 32]); // random
        body.extend([0, 0, 2, 0x13, 0x01, 1, 0]); // no session id, one suite, null compression
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        let mut message = vec![1];
        message.extend(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend(body);
        let mut wire = Vec::new();
        for fragment in message.chunks(size) {
            wire.extend([22, 3, 1]);
            wire.extend((fragment.len() as u16).to_be_bytes());
            wire.extend(fragment);
        }
        wire
    }

    fn foo() -> Hello {
        Hello::ClientHello(Some("foo.example".parse().unwrap()))
    }

    #[test]
    fn any_split_into_reads_gives_the_same_verdict() {
        for wire in [hello(0, 16_384), hello(10, 7), hello(3, 1)] {
            assert_eq!(HelloReader::default().feed(&wire), Some(foo()));
            for at in 0..wire.len() {
                let mut reader = HelloReader::default();
                assert_eq!(reader.feed(&wire[..at]), None, "first {at} bytes");
                assert_eq!(reader.feed(&wire[at..]), Some(foo()), "split at {at}");
            }
            let mut reader = HelloReader::default();
            let (last, most) = wire.split_last().unwrap();
            for (i, b) in most.iter().enumerate() {
                assert_eq!(reader.feed(&[*b]), None, "byte {i}");
            }
            assert_eq!(reader.feed(&[*last]), Some(foo()));
        }
    }

    #[test]
    fn a_hello_must_end_within_max_peek_bytes() {
        let fits = hello(0, 16_384).len();
        // 4 records: the hello that ends exactly at MAX_PEEK, and one a byte longer.
        let wire = hello(MAX_PEEK - fits - 3 * 5, 16_384);
        assert_eq!(wire.len(), MAX_PEEK);
        assert_eq!(HelloReader::default().feed(&wire), Some(foo()));
        let over = hello(MAX_PEEK - fits - 3 * 5 + 1, 16_384);
        let mut reader = HelloReader::default();
        assert_eq!(reader.feed(&over[..MAX_PEEK - 1]), None);
        assert_eq!(reader.feed(&over[MAX_PEEK - 1..]), Some(Hello::NotTls));
        // In 1-byte records: 6 bytes each.
        let wire = hello(0, 1);
        let pad = (MAX_PEEK - wire.len()) / 6;
        assert_eq!(HelloReader::default().feed(&hello(pad, 1)), Some(foo()));
        assert_eq!(
            HelloReader::default().feed(&hello(pad + 1, 1)),
            Some(Hello::NotTls)
        );
    }
}
