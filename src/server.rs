//! The mesh server: terminates TLS for this workload's name, decides who may connect, and reports
//! who the client is.
//!
//! Inside the handshake, a client certificate is checked against the mesh's certificate rules and
//! the anchors its identity selects, and the client's identity against the server's authorization
//! [`Policy`] (by default [`Policy::open`]: any verified identity, and clients without a
//! certificate). A refused client gets `access_denied` (or `certificate_required`) and `accept`
//! returns the typed reason. [`ServerTls::Established`] carries the client's identity when it
//! proved one. The handshake has a deadline ([`DEFAULT_HANDSHAKE_TIMEOUT`] unless set). Connections
//! that are not to be terminated here (TLS for another name, plaintext) are told apart before the
//! handshake by [`crate::detect`].
//!
//! Like [`crate::client`], this module reads the configs [`crate::creds`] publishes and never
//! imports `creds`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::authz::{self, Policy, Refused};
use crate::configs::{self, Configs, Derived};
use crate::handshake::{self, Hello, Observer, Seen, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::identity::{ClientId, NegotiatedProtocol};
use crate::io::{Negotiated, PeerAddr};
#[cfg(feature = "metrics")]
use crate::metrics::Metrics;
use crate::Error;

/// What a server-side connection that this workload terminated proved.
///
/// Only [`ServerTls::Established`] exists: a connection [`Server::accept`] returns is always TLS
/// terminated here. What a connection is before that (TLS for this name, for another name, not TLS)
/// is [`crate::detect::Detected`]. Non-exhaustive, so that adding a kind of outcome is not a
/// breaking change: match it with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerTls {
    /// This workload terminated TLS.
    Established {
        /// The client's identity, if it sent a certificate with one.
        client_id: Option<ClientId>,
        /// The ALPN protocol agreed, if any.
        negotiated_protocol: Option<NegotiatedProtocol>,
    },
}

// === impl Server ===

/// Accepts TLS connections on the latest credentials.
#[derive(Clone, Debug)]
pub struct Server {
    rx: watch::Receiver<Arc<Configs>>,
    /// The groups and suites accepted.
    provider: Arc<CryptoProvider>,
    alpn: Arc<[Vec<u8>]>,
    /// Shared by this server's clones: [`Server::set_policy`] on one changes them all.
    policy: Arc<authz::Shared>,
    deadline: Duration,
    /// The server config for the credentials in force, with the ALPN and policy above.
    config: Arc<Derived<Option<Arc<ServerConfig>>>>,
    /// Where handshakes are reported: the log, and metrics if attached.
    observer: Observer,
}

impl Server {
    pub(crate) fn new(rx: watch::Receiver<Arc<Configs>>, provider: Arc<CryptoProvider>) -> Self {
        Self {
            rx,
            provider,
            alpn: Arc::new([]),
            policy: Arc::default(),
            deadline: DEFAULT_HANDSHAKE_TIMEOUT,
            config: Arc::new(Derived::new()),
            observer: Observer::server(),
        }
    }

    /// A server that offers `alpn` (in preference order), on every credential update to come.
    ///
    /// The config with ALPN set is derived once per credential update, on the first accept after
    /// it; nothing else is rebuilt or republished.
    pub fn with_alpn(self, alpn: Vec<Vec<u8>>) -> Server {
        Server {
            alpn: alpn.into(),
            config: Arc::new(Derived::new()),
            ..self
        }
    }

    /// [`Server::with_alpn`] under the name and contract of Linkerd's `Server::spawn_with_alpn`,
    /// so a proxy written against that API ports unchanged. Linkerd's spawns a task that follows
    /// the credentials; ours needs none, but keeps the contract of being called within a tokio
    /// runtime so that code behaves the same on both.
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] when called outside a tokio runtime.
    pub fn spawn_with_alpn(self, alpn: Vec<Vec<u8>>) -> Result<Server, Error> {
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        Ok(self.with_alpn(alpn))
    }

    /// A server that admits clients by `policy`, with a policy of its own (the server it was made
    /// from keeps its policy). Swap it later with [`Server::set_policy`].
    pub fn with_policy(self, policy: Policy) -> Server {
        Server {
            policy: Arc::new(authz::Shared::new(policy)),
            config: Arc::new(Derived::new()),
            ..self
        }
    }

    /// Replaces the policy of this server and of every clone of it, from the next handshake on.
    /// Established connections are not touched.
    pub fn set_policy(&self, policy: Policy) {
        self.policy.set(policy);
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.current()
    }

    /// A server whose handshakes end with [`Error::HandshakeTimeout`] after `deadline` (default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub fn with_handshake_timeout(self, deadline: Duration) -> Server {
        Server { deadline, ..self }
    }

    /// A server whose handshakes (and its clones') are recorded in `metrics`: each one that
    /// finishes by what it negotiated, each one that fails by why, and how long each took.
    #[cfg(feature = "metrics")]
    pub fn with_metrics(self, metrics: Metrics) -> Server {
        Server {
            observer: self.observer.clone().with_metrics(metrics),
            ..self
        }
    }

    /// Runs the TLS handshake on `io` as the server.
    ///
    /// # Errors
    ///
    /// Before the store has a certificate this fails at once with [`Error::NoCredentials`] (kind
    /// `NotConnected`) and the client sees the connection close. At the deadline,
    /// [`Error::HandshakeTimeout`] (kind `TimedOut`). A client refused by the policy is
    /// [`Error::Unauthorized`] (kind `PermissionDenied`); a client certificate that breaks the
    /// mesh's rules is [`Error::Leaf`], one that does not verify [`Error::Untrusted`] about the
    /// peer's certificate (kind `InvalidData`); an I/O failure is that error; other TLS failures
    /// carry the [`rustls::Error`].
    pub async fn accept<I>(&self, io: I) -> io::Result<(ServerTls, ServerIo<I>)>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let started = self.observer.start();
        let mut hello = None;
        let accepted = self.handshake(io, &mut hello).await;
        let seen = Seen {
            sni: hello.as_ref().and_then(|h| h.sni.as_deref()),
            hello: hello.is_some(),
            peer: accepted
                .as_ref()
                .ok()
                .and_then(|(_, io)| io.client_id.as_ref())
                .map(|id| &id.0),
        };
        let ended = accepted.as_ref().map(|(_, io)| &io.negotiated);
        self.observer.finish(started, seen, ended);
        accepted
    }

    /// [`Server::accept`], unobserved; `hello` is set once the ClientHello is read.
    async fn handshake<I>(
        &self,
        io: I,
        hello: &mut Option<Hello>,
    ) -> io::Result<(ServerTls, ServerIo<I>)>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let configs = self.rx.borrow().clone();
        configs.warn_if_expired();
        let config = self
            .config
            .get(&configs, |c| {
                Ok(
                    configs::server(c, &self.provider, self.policy.clone(), &self.alpn)?
                        .map(Arc::new),
                )
            })
            .map_err(io::Error::other)?;
        let Some(config) = config else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                Error::NoCredentials,
            ));
        };
        let handshake = TlsAcceptor::from(config).accept(io);
        let (io, proved) = handshake::drive(handshake, self.deadline, hello)
            .await
            .map_err(unauthenticated)?;
        let conn = io.get_ref().1;
        let negotiated = Negotiated::from_state(conn, conn.fips());
        let client_id = proved.and_then(|ids| ids.all().first().cloned().map(ClientId));
        let tls = ServerTls::Established {
            client_id: client_id.clone(),
            negotiated_protocol: negotiated.protocol.clone(),
        };
        Ok((
            tls,
            ServerIo {
                io,
                negotiated,
                client_id,
            },
        ))
    }
}

/// rustls's error for a client that sent no certificate where the policy requires one (rustls
/// sends `certificate_required`), as the policy's refusal.
fn unauthenticated(error: io::Error) -> io::Error {
    match handshake::tls_error(&error) {
        Some(rustls::Error::NoCertificatesPresented) => {
            handshake::refused(Error::Unauthorized(Refused::Unauthenticated))
        }
        _ => error,
    }
}

impl<I> tower_service::Service<I> for Server
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Response = (ServerTls, ServerIo<I>);
    type Error = io::Error;
    type Future = AcceptFuture<I>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, io: I) -> AcceptFuture<I> {
        let this = self.clone();
        AcceptFuture(Box::pin(async move { this.accept(io).await }))
    }
}

// === impl AcceptFuture ===

/// What [`Server`] as a `tower::Service` returns: [`Server::accept`] on the I/O it was called
/// with, boxed so that the type can be named (e.g. in a proxy's service stack).
#[must_use = "futures do nothing unless polled"]
pub struct AcceptFuture<I>(Pin<Box<dyn Future<Output = AcceptResult<I>> + Send + 'static>>);

type AcceptResult<I> = io::Result<(ServerTls, ServerIo<I>)>;

impl<I> Future for AcceptFuture<I> {
    type Output = io::Result<(ServerTls, ServerIo<I>)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl<I> std::fmt::Debug for AcceptFuture<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcceptFuture")
    }
}

// === impl ServerIo ===

/// A server's TLS stream: reads and writes go through TLS to the underlying I/O.
#[derive(Debug)]
pub struct ServerIo<I> {
    io: tokio_rustls::server::TlsStream<I>,
    negotiated: Negotiated,
    client_id: Option<ClientId>,
}

impl<I> ServerIo<I> {
    /// The client's identity, if it sent a certificate with one.
    pub fn client_id(&self) -> Option<&ClientId> {
        self.client_id.as_ref()
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

impl<I: PeerAddr> PeerAddr for ServerIo<I> {
    /// The remote address of the underlying I/O.
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.get_ref().peer_addr()
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncRead for ServerIo<I> {
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
impl<I: AsyncRead + AsyncWrite + Unpin> AsyncBufRead for ServerIo<I> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().io).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.io).consume(amt)
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ServerIo<I> {
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
