//! The server side: one accepted mesh connection served by hyper, the client's identity in each
//! request.

use std::error::Error as StdError;

use super::alpn;
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::identity::ClientId;
use crate::io::Negotiated;
use crate::server::ServerIo;

/// A hyper service that puts what the connection's handshake proved into each request's
/// extensions before `inner` sees it: the client's [`ClientId`] (absent when the client sent no
/// certificate) and the [`Negotiated`] parameters.
///
/// The extensions are set by the server, never read from the request: a client cannot forge
/// them. [`serve_connection`] wraps the service in it; wrap it yourself to drive hyper with
/// settings of your own.
#[derive(Clone, Debug)]
pub struct WithPeer<S> {
    inner: S,
    client_id: Option<ClientId>,
    negotiated: Negotiated,
}

impl<S> WithPeer<S> {
    /// `inner`, told what the handshake of `io` proved.
    pub fn new<I>(inner: S, io: &ServerIo<I>) -> Self {
        Self {
            inner,
            client_id: io.client_id().cloned(),
            negotiated: io.negotiated().clone(),
        }
    }
}

impl<S, B> Service<Request<B>> for WithPeer<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut request: Request<B>) -> S::Future {
        let extensions = request.extensions_mut();
        match &self.client_id {
            Some(id) => extensions.insert(id.clone()),
            None => extensions.remove::<ClientId>(),
        };
        extensions.insert(self.negotiated.clone());
        self.inner.call(request)
    }
}

/// Serves HTTP on one connection [`Server::accept`](crate::Server::accept) returned, until the
/// client closes it: HTTP/2 when ALPN agreed to `h2`, HTTP/1.1 when it agreed to `http/1.1`, and
/// either (told apart by the client's first bytes) when no protocol was agreed. `service` sees
/// each request with the client's identity in its extensions ([`WithPeer`]).
///
/// Offer the protocols with [`Server::with_alpn`](crate::Server::with_alpn)`(`[`alpn_protocols`]`())`.
/// HTTP/2 streams run on tokio tasks: call it within a tokio runtime.
///
/// [`alpn_protocols`]: alpn::alpn_protocols
///
/// # Errors
///
/// hyper's error when the connection fails (I/O, a protocol error from the client, the service's
/// error).
pub async fn serve_connection<I, S, B>(
    io: ServerIo<I>,
    service: S,
) -> Result<(), Box<dyn StdError + Send + Sync>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let builder = auto::Builder::new(TokioExecutor::new());
    let builder = match io.negotiated_protocol().map(|p| p.0.as_slice()) {
        Some(alpn::H2) => builder.http2_only(),
        Some(alpn::HTTP_1_1) => builder.http1_only(),
        _ => builder,
    };
    let service = WithPeer::new(service, &io);
    builder.serve_connection(TokioIo::new(io), service).await
}
