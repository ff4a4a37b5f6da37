//! Who a workload is: mesh identities, the names TLS uses for them, and reading them from certificates.
//!
//! A mesh identity ([`Id`]) is either a DNS-like name
//! (`foo.ns1.serviceaccount.identity.linkerd.cluster.local`) or a SPIFFE URI
//! (`spiffe://cluster.local/ns/ns1/sa/foo`). It lives in a leaf certificate's subjectAltName
//! extension as a DNS or URI entry. The subject's common name is never consulted: a certificate
//! without SANs has no identity.
//!
//! DNS names are compared ASCII-case-insensitively, so they are stored lower-cased; SPIFFE IDs are
//! compared exactly after the scheme and trust domain (which SPIFFE requires to be lower case) are
//! checked. Those string forms are parsed in `identity/name.rs`; this file has the TLS names and
//! reads identities from certificates.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

mod name;
pub mod rules;

pub use crate::error::InvalidId;
use crate::Error;
pub use name::{Id, Name, SpiffeId, TrustDomain};

// === TLS names ===

/// The name a client sends as SNI, and a server answers to: a DNS name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerName(pub Name);

/// The identity a client requires of the server it connects to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerId(pub Id);

/// The identity a client proved with its certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(pub Id);

/// A DER-encoded X.509 certificate.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DerX509(pub Vec<u8>);

/// The application protocol agreed by ALPN.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NegotiatedProtocol(pub Vec<u8>);

/// ALPN protocols a client offers (or a server accepts), in preference order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AlpnProtocols(pub Vec<Vec<u8>>);

impl FromStr for ServerName {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, InvalidId> {
        s.parse().map(ServerName)
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for DerX509 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerX509({} bytes)", self.0.len())
    }
}

impl AsRef<[u8]> for DerX509 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

// === Certificates ===

/// Something that can take a new certificate and key: the identity controller's side of
/// [`creds::Store`](crate::creds::Store).
pub trait Credentials {
    /// Installs `leaf` (with its `chain` of intermediates, leaf excluded) and its private `key` (DER:
    /// PKCS#8, SEC1 or PKCS#1). `expiry` is when the caller plans to replace it, for logs.
    ///
    /// On error nothing changes: the previous credentials keep serving.
    ///
    /// # Errors
    ///
    /// For [`creds::Store`](crate::creds::Store): the key's errors of
    /// [`creds::check_key`](crate::creds::check_key); [`Error::Untrusted`] about
    /// [`Whose::Workload`](crate::Whose::Workload) when the chain does not verify to the roots;
    /// [`Error::IdMismatch`] when the leaf is not for the store's identity; [`Error::Config`] or
    /// [`Error::FipsModeOff`] if rustls refuses the configs built from it.
    fn set_certificate(
        &mut self,
        leaf: DerX509,
        chain: Vec<DerX509>,
        key: Vec<u8>,
        expiry: SystemTime,
    ) -> Result<(), Error>;
}

/// Every identity a certificate carries, in SAN order: each DNS and URI entry that parses as an [`Id`].
/// Entries that do not parse are skipped.
///
/// # Errors
///
/// [`Error::CertParse`] when `cert` is not DER X.509 or its subjectAltName does not parse.
pub fn identities(cert: &[u8]) -> Result<Vec<Id>, Error> {
    let (_, cert) = parse(cert)?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| Error::CertParse(format!("subjectAltName: {e}")))?;
    let Some(san) = san else {
        return Ok(Vec::new());
    };
    Ok(san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => dns.parse::<Name>().ok().map(Id::Dns),
            GeneralName::URI(uri) => uri.parse::<SpiffeId>().ok().map(Id::Uri),
            _ => None,
        })
        .collect())
}

/// Checks that `cert` (DER) carries `id` as a DNS or URI SAN.
///
/// # Errors
///
/// [`Error::IdMismatch`] (with the identities it does carry) when it does not;
/// [`Error::CertParse`] when it does not parse.
pub fn verify_id(cert: &[u8], id: &Id) -> Result<(), Error> {
    let found = identities(cert)?;
    if found.contains(id) {
        Ok(())
    } else {
        Err(Error::IdMismatch {
            expected: id.to_string(),
            found: found.iter().map(Id::to_string).collect(),
        })
    }
}

pub(crate) fn parse(der: &[u8]) -> Result<(&[u8], X509Certificate<'_>), Error> {
    X509Certificate::from_der(der).map_err(|e| Error::CertParse(der_error(&e)))
}

/// An X.509 parse error in words (x509-parser's `Display` shows nom's and BER's `Debug`).
fn der_error(e: &x509_parser::nom::Err<X509Error>) -> String {
    match e {
        x509_parser::nom::Err::Error(X509Error::NomError(_) | X509Error::Der(_))
        | x509_parser::nom::Err::Failure(X509Error::NomError(_) | X509Error::Der(_))
        | x509_parser::nom::Err::Incomplete(_) => "not well-formed DER X.509".to_string(),
        x509_parser::nom::Err::Error(other) | x509_parser::nom::Err::Failure(other) => {
            format!("not well-formed DER X.509 ({other})")
        }
    }
}
