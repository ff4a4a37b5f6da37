//! HTTP over the mesh on hyper 1 and hyper-util (feature `hyper`): a client connector and a
//! server-side connection driver, both on the mesh API, so every connection runs on this crate's
//! provider and nothing reaches for rustls's process default.
//!
//! - [`Connector`]: a `tower::Service<Uri>` for hyper-util's legacy `Client`. It dials TCP to the
//!   URI's authority and runs a mesh client handshake ([`Connect`](crate::Connect)) that requires
//!   the target's identity, offering ALPN `h2` and `http/1.1`. The connection tells the client
//!   when `h2` was agreed, and every response carries the server's [`ServerId`](crate::ServerId)
//!   and the [`Negotiated`](crate::Negotiated) parameters as extensions.
//! - [`serve_connection`]: serves one connection [`Server::accept`](crate::Server::accept)
//!   returned, with HTTP/2 or HTTP/1.1 as ALPN chose; the handler finds the client's
//!   [`ClientId`](crate::ClientId) (when it sent a certificate) and the
//!   [`Negotiated`](crate::Negotiated) parameters in each request's extensions ([`WithPeer`]).
//!
//! ```no_run
//! # async fn run(rx: meshtls::creds::Receiver, target: meshtls::ClientTls) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use http_body_util::Full;
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//!
//! let connector = meshtls::http::Connector::new(&rx.new_client(), target);
//! let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
//! let response = client.get("http://foo.ns1.svc:8443/".parse()?).await?;
//! let server = response.extensions().get::<meshtls::ServerId>();
//! # Ok(()) }
//! ```

mod alpn;
mod client;
mod server;

pub use alpn::{alpn_protocols, H2, HTTP_1_1};
pub use client::{Connecting, Connector};
pub use server::{serve_connection, WithPeer};
