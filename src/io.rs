//! What [`ClientIo`](crate::client::ClientIo), [`ServerIo`](crate::server::ServerIo) and
//! [`PrefixedIo`](crate::detect::PrefixedIo) share: the [`PeerAddr`] trait they all implement, what
//! a handshake agreed ([`Negotiated`]).

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
    /// Whether the connection's config was FIPS-approved throughout (rustls's `fips()` of the
    /// connection): in the FIPS build, every component of the provider and the config options,
    /// with the module in FIPS mode. Always `false` in the default build.
    pub fips: bool,
}

impl Negotiated {
    /// What `state` agreed; `fips` is the connection's `fips()` (which `CommonState` lacks).
    pub(crate) fn from_state(state: &CommonState, fips: bool) -> Self {
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
            fips,
        }
    }
}
