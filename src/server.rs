//! The mesh server: terminates TLS for this workload's name and reports who the client is.
//!
//! Client certificates are optional (mesh policy, not TLS, decides what an unauthenticated client
//! may do), but one that is sent must chain to the mesh roots. [`ServerTls::Established`] carries
//! the client's identity when it proved one.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::creds::Configs;
use crate::identity::{self, ClientId, NegotiatedProtocol, ServerName};
use crate::io::{tls_io, Negotiated};
use crate::Error;

/// What a server-side connection turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerTls {
    /// This workload terminated TLS.
    Established {
        /// The client's identity, if it sent a certificate with one.
        client_id: Option<ClientId>,
        /// The ALPN protocol agreed, if any.
        negotiated_protocol: Option<NegotiatedProtocol>,
    },
    /// A ClientHello for another name: the proxy forwards it untouched (see [`crate::detect`]).
    Passthru {
        /// The SNI the client sent.
        sni: ServerName,
    },
    /// Not TLS for this workload: no ClientHello, a ClientHello without SNI, or detection timed out
    /// (see [`crate::detect`]).
    NoTls,
}

// === impl Server ===

/// Accepts TLS connections on the latest credentials.
#[derive(Clone, Debug)]
pub struct Server {
    rx: watch::Receiver<Arc<Configs>>,
}

impl Server {
    pub(crate) fn new(rx: watch::Receiver<Arc<Configs>>) -> Self {
        Self { rx }
    }

    /// A server that offers `alpn` (in preference order), on every credential update to come.
    ///
    /// Spawns a task that follows the credentials, so it must be called within a tokio runtime;
    /// the task ends when the credential store is dropped or every clone of the returned server is.
    pub fn spawn_with_alpn(self, alpn: Vec<Vec<u8>>) -> Result<Server, Error> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let mut base = self.rx;
        let with_alpn = move |configs: &Configs| {
            Arc::new(Configs {
                client: configs.client.clone(),
                server: configs.server.as_ref().map(|server| {
                    let mut server = (**server).clone();
                    server.alpn_protocols = alpn.clone();
                    Arc::new(server)
                }),
            })
        };
        let (tx, rx) = watch::channel(with_alpn(&base.borrow_and_update()));
        handle.spawn(async move {
            loop {
                tokio::select! {
                    changed = base.changed() => if changed.is_err() { break },
                    _ = tx.closed() => break,
                }
                let next = with_alpn(&base.borrow_and_update());
                tx.send_replace(next);
            }
        });
        Ok(Server { rx })
    }

    /// Runs the TLS handshake on `io` as the server.
    ///
    /// Before the store has a certificate this fails at once with [`Error::NoCredentials`] (kind
    /// `NotConnected`) and the client sees the connection close.
    pub async fn accept<I>(&self, io: I) -> io::Result<(ServerTls, ServerIo<I>)>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let config = self.rx.borrow().server.clone();
        let Some(config) = config else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                Error::NoCredentials,
            ));
        };
        let io = TlsAcceptor::from(config).accept(io).await?;
        let negotiated = Negotiated::from_state(io.get_ref().1);
        let client_id = negotiated
            .peer_certificate
            .as_deref()
            .and_then(identity::client_identity)
            .map(ClientId);
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

impl<I> tower_service::Service<I> for Server
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Response = (ServerTls, ServerIo<I>);
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send + 'static>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, io: I) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.accept(io).await })
    }
}

// === impl ServerIo ===

/// A server's TLS stream.
#[derive(Debug)]
pub struct ServerIo<I> {
    io: tokio_rustls::server::TlsStream<I>,
    negotiated: Negotiated,
    client_id: Option<ClientId>,
}

tls_io!(ServerIo);

impl<I> ServerIo<I> {
    /// The client's identity, if it sent a certificate with one.
    pub fn client_id(&self) -> Option<&ClientId> {
        self.client_id.as_ref()
    }
}
