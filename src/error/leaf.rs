//! [`LeafProblem`]: how a workload certificate breaks the mesh's certificate rules
//! ([`crate::identity::rules::check`]). Public as `meshtls::identity::rules::LeafProblem`; defined beside
//! [`crate::Error`], which wraps it, so that the error module imports nothing of `leaf`.

use std::fmt;

use super::id::InvalidId;

/// Which certificate of a chain a [`LeafProblem`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// The end-entity (workload) certificate.
    Leaf,
    /// The `n`th certificate after the leaf (from 1), as presented.
    Chain(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Leaf => f.write_str("leaf"),
            Position::Chain(n) => write!(f, "chain[{n}]"),
        }
    }
}

/// One way a workload certificate or its chain breaks the mesh's rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafProblem {
    /// The bytes are not an X.509 certificate.
    #[error("{at}: not an X.509 certificate: {reason}")]
    Unparsable {
        /// Which certificate.
        at: Position,
        /// What the parser said.
        reason: String,
    },
    /// Bytes follow the certificate's DER value (inside its PEM block).
    #[error("{at}: {extra} byte(s) after the certificate's DER encoding")]
    TrailingBytes {
        /// Which certificate.
        at: Position,
        /// How many.
        extra: usize,
    },
    /// An extension marked critical that the mesh's verifier does not process.
    #[error("{at}: critical extension {oid} is not one the mesh's verifier processes")]
    UnknownCriticalExtension {
        /// Which certificate.
        at: Position,
        /// The extension's OID, dotted.
        oid: String,
    },
    /// An extension that does not parse.
    #[error("{at}: extension {oid} does not parse: {reason}")]
    BadExtension {
        /// Which certificate.
        at: Position,
        /// The extension's OID, dotted.
        oid: String,
        /// What the parser said.
        reason: String,
    },
    /// The leaf says it is a CA.
    #[error("leaf: basicConstraints says CA:TRUE; a workload certificate must not be a CA")]
    LeafIsCa,
    /// The leaf's keyUsage asserts a CA-only bit.
    #[error("leaf: keyUsage asserts {usage}, which only a CA certificate may")]
    LeafCaUsage {
        /// `keyCertSign` or `cRLSign`.
        usage: &'static str,
    },
    /// The leaf has no keyUsage extension, so it does not assert digitalSignature (X509-SVID §4.3).
    #[error("leaf: no keyUsage extension; a workload certificate must assert digitalSignature")]
    NoKeyUsage,
    /// The leaf's keyUsage lacks digitalSignature, which its handshake signatures need.
    #[error("leaf: keyUsage lacks digitalSignature, which the TLS handshake signature needs")]
    NoDigitalSignature,
    /// The leaf's extendedKeyUsage lacks serverAuth or clientAuth.
    #[error(
        "leaf: extendedKeyUsage lacks {missing}, which its use needs (a server's certificate \
         serverAuth, a client's clientAuth, a workload's own certificate both)"
    )]
    MissingUsage {
        /// `serverAuth` or `clientAuth`.
        missing: &'static str,
    },
    /// The leaf has no DNS or URI SAN.
    #[error("leaf: no DNS or URI SAN, so no mesh identity")]
    NoIdentity,
    /// The leaf has more than one URI SAN.
    #[error("leaf: {count} URI SANs; a mesh certificate carries at most one SPIFFE ID")]
    ManyUris {
        /// How many.
        count: usize,
    },
    /// The leaf's SPIFFE ID has no path: it names a trust domain, not a workload (X509-SVID §2).
    #[error("leaf: SPIFFE ID {uri} has no path; it names a trust domain, not a workload")]
    NoPath {
        /// The SPIFFE ID.
        uri: String,
    },
    /// A URI SAN of the leaf is not a valid SPIFFE ID.
    #[error("leaf: URI SAN {uri:?} is not a valid SPIFFE ID: {reason}")]
    BadUri {
        /// The URI as written.
        uri: String,
        /// Why not.
        #[source]
        reason: InvalidId,
    },
    /// A certificate after the leaf is not a CA, so it cannot have issued the one before it.
    #[error("{at}: not a CA (no basicConstraints CA:TRUE), so it cannot issue certificates")]
    NotCa {
        /// Which certificate.
        at: Position,
    },
}
