//! The mesh client: TLS to a server that must prove a given identity.
//!
//! [`NewClient`] makes a [`Connect`] per target; [`Connect`] is a `tower::Service` over any
//! `AsyncRead + AsyncWrite` I/O. Each connection sends the target's [`ServerName`] as SNI, verifies
//! the server's chain against the mesh roots (not its DNS name: the identity may be a SPIFFE URI),
//! and once the handshake is done requires the leaf to carry the target's [`ServerId`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rustls::pki_types;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;

use crate::creds::Configs;
use crate::identity::{self, AlpnProtocols, NegotiatedProtocol, ServerId, ServerName};
use crate::io::{tls_io, Negotiated};

/// Where a client connects: the SNI to send, the identity to require, the ALPN protocols to offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTls {
    /// Sent as SNI.
    pub server_name: ServerName,
    /// Required of the server's leaf certificate (DNS or URI SAN).
    pub server_id: ServerId,
    /// Offered by ALPN, in preference order.
    pub alpn: Option<AlpnProtocols>,
}

impl ClientTls {
    /// A target whose SNI and identity are the same DNS name, without ALPN.
    pub fn new(server_id: ServerId, server_name: ServerName) -> Self {
        Self {
            server_name,
            server_id,
            alpn: None,
        }
    }
}

// === impl NewClient ===

/// Makes [`Connect`] services on the latest credentials.
#[derive(Clone, Debug)]
pub struct NewClient {
    rx: watch::Receiver<Arc<Configs>>,
}

impl NewClient {
    pub(crate) fn new(rx: watch::Receiver<Arc<Configs>>) -> Self {
        Self { rx }
    }

    /// A connector for one target.
    pub fn new_client(&self, target: ClientTls) -> Connect {
        // A validated `Name` is always a valid SNI; should rustls ever disagree, every connect says so.
        let sni = pki_types::DnsName::try_from(target.server_name.0.as_str().to_string())
            .map(pki_types::ServerName::DnsName)
            .map_err(|_| Arc::new(target.server_name.to_string()));
        Connect {
            rx: self.rx.clone(),
            sni,
            server_id: target.server_id,
            alpn: target.alpn.map(|AlpnProtocols(p)| {
                Arc::new(Alpn {
                    protocols: p,
                    cache: Mutex::default(),
                })
            }),
        }
    }
}

// === impl Connect ===

/// Connects to one target. Each connection uses the credentials current when it starts.
#[derive(Clone, Debug)]
pub struct Connect {
    rx: watch::Receiver<Arc<Configs>>,
    /// The SNI, or the name rustls refused as one.
    sni: Result<pki_types::ServerName<'static>, Arc<String>>,
    server_id: ServerId,
    alpn: Option<Arc<Alpn>>,
}

/// The target's ALPN protocols, and the client config with them for the current credentials (made
/// once per credential update, not per connection).
#[derive(Debug)]
struct Alpn {
    protocols: Vec<Vec<u8>>,
    /// (the credentials' config, that config with `protocols` set).
    cache: Mutex<Option<(Arc<ClientConfig>, Arc<ClientConfig>)>>,
}

impl Alpn {
    fn config(&self, base: Arc<ClientConfig>) -> Arc<ClientConfig> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match &*cache {
            Some((cached_base, with_alpn)) if Arc::ptr_eq(cached_base, &base) => with_alpn.clone(),
            _ => {
                let mut config = (*base).clone();
                config.alpn_protocols = self.protocols.clone();
                let config = Arc::new(config);
                *cache = Some((base, config.clone()));
                config
            }
        }
    }
}

impl Connect {
    /// Runs the TLS handshake on `io` and checks the server's identity.
    ///
    /// Fails with an `io::Error` carrying the handshake error, or [`crate::Error::IdMismatch`] (kind
    /// `InvalidData`) when the server's certificate chains to the roots but is not for `server_id`.
    pub async fn connect<I>(&self, io: I) -> io::Result<(ClientIo<I>, Option<NegotiatedProtocol>)>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let sni = self.sni.clone().map_err(|name| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name} is not a valid SNI"),
            )
        })?;
        let config = self.rx.borrow().client.clone();
        let config = match &self.alpn {
            None => config,
            Some(alpn) => alpn.config(config),
        };
        let io = TlsConnector::from(config).connect(sni, io).await?;
        let negotiated = Negotiated::from_state(io.get_ref().1);
        let leaf = negotiated.peer_certificate.as_deref().unwrap_or_default();
        if let Err(error) = identity::verify_id(leaf, &self.server_id.0) {
            tracing::debug!(server_id = %self.server_id, %error, "server identity refused");
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
        let protocol = negotiated.protocol.clone();
        Ok((ClientIo { io, negotiated }, protocol))
    }
}

impl<I> tower_service::Service<I> for Connect
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Response = (ClientIo<I>, Option<NegotiatedProtocol>);
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send + 'static>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, io: I) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(io).await })
    }
}

// === impl ClientIo ===

/// A client's TLS stream.
#[derive(Debug)]
pub struct ClientIo<I> {
    io: tokio_rustls::client::TlsStream<I>,
    negotiated: Negotiated,
}

tls_io!(ClientIo);
