//! The ALPN names HTTP is offered by.

/// The ALPN name of HTTP/2.
pub const H2: &[u8] = b"h2";

/// The ALPN name of HTTP/1.1.
pub const HTTP_1_1: &[u8] = b"http/1.1";

/// The ALPN protocols an HTTP server or client offers: `h2`, then `http/1.1`. Pass them to
/// [`Server::with_alpn`](crate::Server::with_alpn); [`Connector`](super::Connector) offers them
/// unless its target names others.
pub fn alpn_protocols() -> Vec<Vec<u8>> {
    vec![H2.to_vec(), HTTP_1_1.to_vec()]
}
