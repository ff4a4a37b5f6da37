//! The mesh client: TLS to a server that must prove a given identity.
//!
//! [`NewClient`] makes a [`Connect`] per target; [`Connect`] is a `tower::Service` over any
//! `AsyncRead + AsyncWrite` I/O. Each connection sends the target's [`ServerName`] as SNI and, inside
//! the handshake, checks the server's certificate against the mesh's certificate rules and the
//! anchors its identity selects (the mesh roots, or its trust domain's bundle) and requires it to
//! prove the target's [`ServerId`] (or one of [`ClientTls::also_accept`]). A wrong server gets the
//! `bad_certificate` alert before the client sends its own certificate. By default `connect` then
//! waits for the server's first message after the handshake ([`Confirmation::Await`]), so a server
//! that refuses our certificate fails `connect`, not the first read. The handshake, with that wait,
//! has a deadline ([`DEFAULT_HANDSHAKE_TIMEOUT`] unless set).
//!
//! This module reads the configs [`crate::creds`] publishes (through `crate::configs`) and never
//! imports `creds`: the receiver makes clients, not the other way round.

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types;
use rustls::ClientConfig;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;

use crate::configs::{self, Configs, Derived};
use crate::handshake::{self, Observer, Seen, DEFAULT_HANDSHAKE_TIMEOUT};

pub use crate::handshake::confirm::Confirmation;
use crate::identity::{AlpnProtocols, NegotiatedProtocol, ServerId, ServerName};
use crate::io::{Negotiated, PeerAddr};
#[cfg(feature = "metrics")]
use crate::metrics::Metrics;

/// Where a client connects: the SNI to send, the identity to require, the ALPN protocols to offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTls {
    /// Sent as SNI.
    pub server_name: ServerName,
    /// Required of the server's leaf certificate (DNS or URI SAN).
    pub server_id: ServerId,
    /// Offered by ALPN, in preference order.
    pub alpn: Option<AlpnProtocols>,
    /// Other identities the server may prove instead of `server_id` (e.g. while a service moves
    /// from one identity to another). Empty by default.
    pub also_accept: Vec<ServerId>,
}

// === impl ClientTls ===

impl ClientTls {
    /// A target that must prove `server_id`, reached with SNI `server_name`, without ALPN.
    pub fn new(server_id: ServerId, server_name: ServerName) -> Self {
        Self {
            server_name,
            server_id,
            alpn: None,
            also_accept: Vec::new(),
        }
    }

    /// This target, also accepting a server that proves any of `ids`.
    pub fn accepting(mut self, ids: impl IntoIterator<Item = ServerId>) -> Self {
        self.also_accept.extend(ids);
        self
    }
}

// === impl NewClient ===

/// Makes [`Connect`] services on the latest credentials.
#[derive(Clone, Debug)]
pub struct NewClient {
    rx: watch::Receiver<Arc<Configs>>,
    /// The groups and suites offered.
    provider: Arc<CryptoProvider>,
    deadline: Duration,
    confirmation: Confirmation,
    observer: Observer,
}

impl NewClient {
    pub(crate) fn new(rx: watch::Receiver<Arc<Configs>>, provider: Arc<CryptoProvider>) -> Self {
        Self {
            rx,
            provider,
            deadline: DEFAULT_HANDSHAKE_TIMEOUT,
            confirmation: Confirmation::Await,
            observer: Observer::client(),
        }
    }

    /// Clients whose handshakes are recorded in `metrics`: each one that finishes by what it
    /// negotiated, each one that fails by why, and how long each took (with its confirmation).
    #[cfg(feature = "metrics")]
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        Self {
            observer: self.observer.clone().with_metrics(metrics),
            ..self
        }
    }

    /// Clients whose handshakes end with [`Error::HandshakeTimeout`](crate::Error::HandshakeTimeout)
    /// after `deadline` (default [`DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub fn with_handshake_timeout(self, deadline: Duration) -> Self {
        Self { deadline, ..self }
    }

    /// Clients whose `connect` returns as `confirmation` says (default [`Confirmation::Await`]).
    pub fn with_confirmation(self, confirmation: Confirmation) -> Self {
        Self {
            confirmation,
            ..self
        }
    }

    /// A connector for one target.
    pub fn new_client(&self, target: ClientTls) -> Connect {
        // A validated `Name` is always a valid SNI; should rustls ever disagree, every connect says so.
        let sni = pki_types::DnsName::try_from(target.server_name.0.as_str().to_string())
            .map(pki_types::ServerName::DnsName)
            .map_err(|_| Arc::new(target.server_name.to_string()));
        let accept: Vec<ServerId> = std::iter::once(target.server_id)
            .chain(target.also_accept)
            .collect();
        Connect {
            rx: self.rx.clone(),
            provider: self.provider.clone(),
            sni,
            accept: accept.into(),
            alpn: target
                .alpn
                .map(|AlpnProtocols(p)| p)
                .unwrap_or_default()
                .into(),
            deadline: self.deadline,
            confirmation: self.confirmation,
            config: Arc::new(Derived::new()),
            observer: self.observer.clone(),
        }
    }
}

// === impl Connect ===

/// Connects to one target. Each connection uses the credentials current when it starts.
#[derive(Clone, Debug)]
pub struct Connect {
    rx: watch::Receiver<Arc<Configs>>,
    /// The groups and suites offered.
    provider: Arc<CryptoProvider>,
    /// The SNI, or the name rustls refused as one.
    sni: Result<pki_types::ServerName<'static>, Arc<String>>,
    /// The identities the server may prove, the target's first.
    accept: Arc<[ServerId]>,
    alpn: Arc<[Vec<u8>]>,
    deadline: Duration,
    confirmation: Confirmation,
    config: Arc<Derived<Arc<ClientConfig>>>,
    observer: Observer,
}

impl Connect {
    /// This connector with handshakes ending at `deadline`.
    pub fn with_handshake_timeout(self, deadline: Duration) -> Self {
        Self { deadline, ..self }
    }

    /// This connector with `connect` returning as `confirmation` says.
    pub fn with_confirmation(self, confirmation: Confirmation) -> Self {
        Self {
            confirmation,
            ..self
        }
    }

    /// Runs the TLS handshake on `io`; the server's identity is checked inside it. With
    /// [`Confirmation::Await`] (the default) it then waits, within the same deadline, until the
    /// server has accepted our certificate.
    ///
    /// # Errors
    ///
    /// An `io::Error` of kind `InvalidInput` when the target's name is not a valid SNI; the I/O
    /// error itself when the connection fails; kind `TimedOut` with
    /// [`HandshakeTimeout`](crate::Error::HandshakeTimeout) at the deadline; kind `InvalidData`
    /// carrying a [`crate::Error`]: [`Leaf`](crate::Error::Leaf) when the server's certificate
    /// breaks the mesh's rules, [`Untrusted`](crate::Error::Untrusted) (about the peer's
    /// certificate) when its chain does not verify, [`IdMismatch`](crate::Error::IdMismatch) when
    /// it verifies but proves none of the identities accepted. Other TLS failures carry the
    /// [`rustls::Error`]: a server that refused our certificate, for one, fails `connect` with the
    /// alert it sent (`AlertReceived(AccessDenied)` from a meshtls server's policy), or, with
    /// [`Confirmation::Skip`], the first read. `UnexpectedEof` when the server closed the
    /// connection before accepting.
    pub async fn connect<I>(&self, io: I) -> io::Result<(ClientIo<I>, Option<NegotiatedProtocol>)>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let started = self.observer.start();
        let connected = self.handshake(io).await;
        let dialed = match &self.sni {
            Ok(sni) => sni.to_str(),
            Err(name) => Cow::Borrowed(name.as_str()),
        };
        let seen = Seen {
            sni: Some(&dialed),
            hello: true,
            peer: connected
                .as_ref()
                .ok()
                .and_then(|(io, _)| io.server_id.as_ref())
                .map(|id| &id.0),
        };
        let ended = connected.as_ref().map(|(io, _)| &io.negotiated);
        self.observer.finish(started, seen, ended);
        connected
    }

    /// [`Connect::connect`], unobserved.
    async fn handshake<I>(&self, io: I) -> ConnectResult<I>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let sni = self.sni.clone().map_err(|name| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name} is not a valid SNI"),
            )
        })?;
        let configs = self.rx.borrow().clone();
        configs.warn_if_expired();
        let config = self
            .config
            .get(&configs, |c| {
                configs::client(c, &self.provider, self.accept.clone(), &self.alpn).map(Arc::new)
            })
            .map_err(io::Error::other)?;
        let confirmation = self.confirmation;
        let handshake = Box::pin(async move {
            let mut io = TlsConnector::from(config).connect(sni, io).await?;
            if confirmation == Confirmation::Await {
                handshake::confirm::accepted(&mut io).await?;
            }
            Ok(io)
        });
        let (io, proved) = handshake::drive(handshake, self.deadline, &mut None).await?;
        let server_id = proved.and_then(|ids| {
            self.accept
                .iter()
                .find(|want| ids.all().contains(&want.0))
                .cloned()
        });
        let conn = io.get_ref().1;
        let negotiated = Negotiated::from_state(conn, conn.fips());
        let protocol = negotiated.protocol.clone();
        Ok((
            ClientIo {
                io,
                negotiated,
                server_id,
            },
            protocol,
        ))
    }
}

impl<I> tower_service::Service<I> for Connect
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Response = (ClientIo<I>, Option<NegotiatedProtocol>);
    type Error = io::Error;
    type Future = ConnectFuture<I>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, io: I) -> ConnectFuture<I> {
        let this = self.clone();
        ConnectFuture(Box::pin(async move { this.connect(io).await }))
    }
}

// === impl ConnectFuture ===

/// What [`Connect`] as a `tower::Service` returns: [`Connect::connect`] on the I/O it was called
/// with, boxed so that the type can be named (e.g. in a proxy's service stack).
#[must_use = "futures do nothing unless polled"]
pub struct ConnectFuture<I>(Pin<Box<dyn Future<Output = ConnectResult<I>> + Send + 'static>>);

type ConnectResult<I> = io::Result<(ClientIo<I>, Option<NegotiatedProtocol>)>;

impl<I> Future for ConnectFuture<I> {
    type Output = io::Result<(ClientIo<I>, Option<NegotiatedProtocol>)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl<I> std::fmt::Debug for ConnectFuture<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectFuture")
    }
}

// === impl ClientIo ===

/// A client's TLS stream: reads and writes go through TLS to the underlying I/O.
#[derive(Debug)]
pub struct ClientIo<I> {
    io: tokio_rustls::client::TlsStream<I>,
    negotiated: Negotiated,
    server_id: Option<ServerId>,
}

impl<I> ClientIo<I> {
    /// The accepted identity the server proved: the target's `server_id`, or one of its
    /// `also_accept`.
    pub fn server_id(&self) -> Option<&ServerId> {
        self.server_id.as_ref()
    }

    /// The ALPN protocol agreed, if any.
    pub fn negotiated_protocol(&self) -> Option<&NegotiatedProtocol> {
        self.negotiated.protocol.as_ref()
    }

    /// Everything the handshake agreed: version, suite, group, ALPN, peer certificate.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The underlying I/O.
    pub fn get_ref(&self) -> &I {
        self.io.get_ref().0
    }

    /// The underlying I/O, mutably. Reading or writing it directly corrupts the TLS session.
    pub fn get_mut(&mut self) -> &mut I {
        self.io.get_mut().0
    }

    /// The underlying I/O, ending the TLS session without a `close_notify`: shut the stream down
    /// first (`AsyncWriteExt::shutdown`) if the peer should see a clean close.
    pub fn into_inner(self) -> I {
        self.io.into_inner().0
    }
}

impl<I: PeerAddr> PeerAddr for ClientIo<I> {
    /// The remote address of the underlying I/O.
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.get_ref().peer_addr()
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncRead for ClientIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

/// Reads decrypted data in place: [`poll_fill_buf`](AsyncBufRead::poll_fill_buf) lends the
/// plaintext rustls holds, so a caller that forwards it (e.g. with [`tokio::io::copy_buf`]) saves
/// the copy into its own buffer that [`AsyncRead`] makes.
impl<I: AsyncRead + AsyncWrite + Unpin> AsyncBufRead for ClientIo<I> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().io).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.io).consume(amt)
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ClientIo<I> {
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
