//! The client side: [`Connector`], TCP then the mesh handshake, for hyper-util's legacy client.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::alpn;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::{ClientIo, ClientTls, Connect, NewClient};
use crate::identity::AlpnProtocols;

/// Connects hyper-util's legacy `Client` to one mesh target: TCP to the request URI's host and
/// port, then mutual TLS that requires the target's identity.
///
/// One connector serves one identity (the [`ClientTls`] it was made with): make one per upstream
/// service. The URI gives the address only; the SNI and the identity required come from the
/// target, never from the URI. A URI without a port uses 443 for `https` and 80 for `http`.
///
/// The target's ALPN protocols are offered if it names any, else `h2` and `http/1.1`. When the
/// server agrees to `h2` the client speaks HTTP/2 on the connection.
#[derive(Clone, Debug)]
pub struct Connector {
    connect: Connect,
}

impl Connector {
    /// A connector to `target`, on `client`'s credentials (the latest at each connection) and
    /// settings (handshake deadline, confirmation, metrics).
    pub fn new(client: &NewClient, mut target: ClientTls) -> Self {
        if target.alpn.is_none() {
            target.alpn = Some(AlpnProtocols(alpn::alpn_protocols()));
        }
        Self {
            connect: client.new_client(target),
        }
    }

    async fn connect(self, uri: Uri) -> io::Result<TokioIo<ClientIo<TcpStream>>> {
        let (host, port) = authority(&uri)?;
        let tcp = TcpStream::connect((host, port)).await?;
        tcp.set_nodelay(true)?;
        let (io, _) = self.connect.connect(tcp).await?;
        Ok(TokioIo::new(io))
    }
}

/// The host (without IPv6 brackets) and port to dial for `uri`.
fn authority(uri: &Uri) -> io::Result<(&str, u16)> {
    let invalid =
        |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {uri}"));
    let host = uri.host().ok_or_else(|| invalid("no host in the URI"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("https")) => 443,
        (None, Some("http")) => 80,
        (None, _) => {
            return Err(invalid(
                "no port in the URI, and no scheme that implies one",
            ))
        }
    };
    Ok((host, port))
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<ClientIo<TcpStream>>;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        Connecting(Box::pin(self.clone().connect(uri)))
    }
}

/// What [`Connector`] returns: the TCP connection and the handshake, boxed so the type can be
/// named.
#[must_use = "futures do nothing unless polled"]
pub struct Connecting(Pin<Box<dyn Future<Output = Dialed> + Send + 'static>>);

/// What a [`Connecting`] ends with.
type Dialed = io::Result<TokioIo<ClientIo<TcpStream>>>;

impl Future for Connecting {
    type Output = Dialed;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Connecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connecting")
    }
}

/// What the connection tells hyper-util: `h2` when ALPN agreed to it; and, set on every response
/// it carries, the server's [`ServerId`](crate::ServerId) and the [`Negotiated`](crate::Negotiated)
/// parameters.
impl Connection for ClientIo<TcpStream> {
    fn connected(&self) -> Connected {
        let mut connected = Connected::new().extra(self.negotiated().clone());
        if let Some(id) = self.server_id() {
            connected = connected.extra(id.clone());
        }
        if self.negotiated_protocol().map(|p| p.0.as_slice()) == Some(alpn::H2) {
            connected = connected.negotiated_h2();
        }
        connected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_to_dial() {
        let at = |s: &str| {
            let uri: Uri = s.parse().unwrap();
            authority(&uri).map(|(h, p)| (h.to_string(), p))
        };
        assert_eq!(at("http://foo:8080/x").unwrap(), ("foo".into(), 8080));
        assert_eq!(at("https://foo/").unwrap(), ("foo".into(), 443));
        assert_eq!(at("http://foo").unwrap(), ("foo".into(), 80));
        assert_eq!(at("http://[::1]:1/").unwrap(), ("::1".into(), 1));
        assert_eq!(
            at("/only/a/path").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(at("ftp://foo/").is_err());
    }
}
