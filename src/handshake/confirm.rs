//! Waiting, on the client, until the server has accepted us.
//!
//! In TLS 1.3 the client's handshake ends when it sends its Finished, before the server has read
//! the client's certificate (RFC 8446 §4.4.4 and §2). A server that refuses that certificate says so
//! with an alert one flight later, so without more, `connect` succeeds and the refusal arrives on
//! the first read, after the caller has written its request. A proxy then cannot tell "this
//! endpoint refused us" (try another) from "the request failed" (perhaps not retryable).
//!
//! A server that accepts the client sends something after the handshake: its session tickets
//! (rustls, OpenSSL and Go send them by default, and a meshtls server always sends one; see
//! `crate::configs`), or its first data. A server that refuses sends an alert. So
//! [`Confirmation::Await`] reads until the first of these, and `connect` returns only once the
//! server has accepted. The cost is one round trip before the first request.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio_rustls::client::TlsStream;

/// When a client's `connect` returns (TLS 1.3; in TLS 1.2 the server's Finished already says it
/// accepted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Confirmation {
    /// Once the server has accepted the client: its first message after the handshake (a session
    /// ticket, or data) has arrived. A server that refuses the client's certificate fails
    /// `connect` with its alert. Costs one round trip. Needs a server that sends something after
    /// the handshake: meshtls servers always do, as do rustls, OpenSSL and Go by default; with one
    /// that sends nothing (tickets off, client speaks first), `connect` ends at its deadline.
    #[default]
    Await,
    /// As soon as the client's Finished is sent: no extra round trip, but a server that refuses
    /// the client's certificate fails the first read or write instead of `connect`.
    Skip,
}

/// How much is read from the server per step while waiting; a ticket record is about 250 bytes.
const READ: usize = 2048;

/// Reads the server's records after the handshake until it has accepted: it sent a session ticket,
/// data, or `close_notify`. What was read stays in `stream`, unread by the caller.
///
/// # Errors
///
/// The server's alert (a [`rustls::Error`], kind `InvalidData`); `UnexpectedEof` if it closed the
/// connection first; the I/O error.
pub(crate) async fn accepted<I: AsyncRead + Unpin>(stream: &mut TlsStream<I>) -> io::Result<()> {
    let (io, conn) = stream.get_mut();
    if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return Ok(());
    }
    let mut buf = [0u8; READ];
    poll_fn(|cx| loop {
        if conn.tls13_tickets_received() > 0 {
            return Poll::Ready(Ok(()));
        }
        let mut read = ReadBuf::new(&mut buf);
        ready!(Pin::new(&mut *io).poll_read(cx, &mut read))?;
        let mut bytes = read.filled();
        if bytes.is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before accepting the handshake",
            )));
        }
        // Every byte read goes to rustls, so nothing the caller should read is lost.
        let mut confirmed = false;
        while !bytes.is_empty() {
            if conn.read_tls(&mut bytes)? == 0 {
                return Poll::Ready(Err(io::Error::other("rustls took none of the bytes read")));
            }
            let state = conn
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            confirmed |= state.plaintext_bytes_to_read() > 0 || state.peer_has_closed();
        }
        if confirmed {
            return Poll::Ready(Ok(()));
        }
    })
    .await
}
