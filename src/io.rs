//! What [`ClientIo`](crate::client::ClientIo) and [`ServerIo`](crate::server::ServerIo) share:
//! byte-stream forwarding to the TLS stream, and what the handshake agreed.

use std::io;
use std::net::SocketAddr;

use rustls::{CipherSuite, CommonState, NamedGroup, ProtocolVersion};

use crate::identity::NegotiatedProtocol;

/// I/O that knows the address of the other end, like a TCP stream.
pub trait PeerAddr {
    /// The remote address.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
}

impl PeerAddr for tokio::net::TcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::TcpStream::peer_addr(self)
    }
}

/// The parameters a TLS session was established with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The TLS version.
    pub version: Option<ProtocolVersion>,
    /// The cipher suite.
    pub suite: Option<CipherSuite>,
    /// The key-exchange group.
    pub group: Option<NamedGroup>,
    /// The ALPN protocol, if one was agreed.
    pub protocol: Option<NegotiatedProtocol>,
    /// The peer's leaf certificate (DER), if it sent one.
    pub peer_certificate: Option<Vec<u8>>,
}

impl Negotiated {
    pub(crate) fn from_state(state: &CommonState) -> Self {
        Self {
            version: state.protocol_version(),
            suite: state.negotiated_cipher_suite().map(|s| s.suite()),
            group: state.negotiated_key_exchange_group().map(|g| g.name()),
            protocol: state
                .alpn_protocol()
                .map(|p| NegotiatedProtocol(p.to_vec())),
            peer_certificate: state
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec()),
        }
    }
}

/// Implements `AsyncWrite` for `$ty<I>` (with `I` bounded by the given bounds) by forwarding every
/// method, vectored writes included, to its `io` field.
macro_rules! forward_async_write {
    ($ty:ident, $($bound:tt)+) => {
        impl<I: $($bound)+> tokio::io::AsyncWrite for $ty<I> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.io.is_write_vectored()
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
            }
        }
    };
}

pub(crate) use forward_async_write;

/// Implements `AsyncRead`/`AsyncWrite` for `$ty<I>` by forwarding to its `io` field, and the
/// accessors both I/O types share.
macro_rules! tls_io {
    ($ty:ident) => {
        impl<I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> tokio::io::AsyncRead
            for $ty<I>
        {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
            }
        }

        crate::io::forward_async_write!($ty, tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin);

        impl<I> $ty<I> {
            /// The ALPN protocol agreed, if any.
            pub fn negotiated_protocol(&self) -> Option<&crate::identity::NegotiatedProtocol> {
                self.negotiated.protocol.as_ref()
            }

            /// Everything the handshake agreed: version, suite, group, ALPN, peer certificate.
            pub fn negotiated(&self) -> &crate::io::Negotiated {
                &self.negotiated
            }

            /// The underlying I/O.
            pub fn get_ref(&self) -> &I {
                self.io.get_ref().0
            }
        }

        impl<I: crate::io::PeerAddr> $ty<I> {
            /// The remote address of the underlying I/O.
            pub fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
                self.get_ref().peer_addr()
            }
        }
    };
}

pub(crate) use tls_io;
