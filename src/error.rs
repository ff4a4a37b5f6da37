//! The crate's one error type.
//!
//! Every fallible public function returns [`Error`]; each variant names what went wrong so a caller (or
//! an auditor reading a log line) can tell a bad key from a bad certificate from a module that is not in
//! FIPS mode without parsing strings.
//!
//! The texts are for people: PEM labels as text, times as RFC 3339 dates, no `Debug` output, and a
//! certificate error says whose certificate it is about ([`Whose`]). Where the cause is a rustls error
//! the variant carries our description of it *and* the rustls error itself, as its `source()`, for
//! callers that match on it. The wording lives in `error/text.rs`.

use std::fmt;
use std::time::Duration;

use rustls::pki_types::pem;

mod id;
mod leaf;
mod refused;
pub(crate) mod text;

pub use id::InvalidId;
pub use leaf::{LeafProblem, Position};
pub use refused::Refused;

/// Whose certificate an [`Error::Untrusted`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    /// This workload's own certificate: the one [`Credentials::set_certificate`] installs, or one
    /// [`TrustRoots::verify`] checks.
    ///
    /// [`Credentials::set_certificate`]: crate::Credentials::set_certificate
    /// [`TrustRoots::verify`]: crate::creds::TrustRoots::verify
    Workload,
    /// The certificate the other end of a handshake presented (or one
    /// [`TrustRoots::verify_server`](crate::creds::TrustRoots::verify_server) checks for a client).
    Peer,
}

impl fmt::Display for Whose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Whose::Workload => "the workload's certificate",
            Whose::Peer => "the peer's certificate",
        })
    }
}

/// Everything that can go wrong in meshtls.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The build asked for the FIPS module but the running library is not in FIPS mode.
    #[error(
        "FIPS build, but the crypto module is not in FIPS mode ({module}); refusing to continue"
    )]
    FipsModeOff {
        /// The module's version string, as it reports itself.
        module: String,
    },

    /// A known-answer test of [`crate::fips::self_test`] failed: the provider did not compute what
    /// the standard's test vector says. Do not use this process's TLS stack.
    #[error("self-test failed: known-answer test {kat} did not match ({detail})")]
    SelfTestFailed {
        /// The name of the failed known-answer test (as in [`crate::fips::SelfTestReport`]).
        kat: &'static str,
        /// What differed or failed.
        detail: &'static str,
    },

    /// A private key could not be parsed in any supported encoding.
    #[error("private key is not a supported PKCS#8, SEC1 or PKCS#1 key: {0}")]
    KeyParse(String),

    /// A private key parsed but is not allowed (type or size) by this build's policy.
    #[error("private key rejected by policy: {0}")]
    KeyPolicy(String),

    /// A string is not a valid identity or DNS name.
    #[error("invalid identity: {0}")]
    InvalidId(#[from] InvalidId),

    /// A certificate is not DER-encoded X.509, or one of its extensions does not parse.
    #[error("certificate does not parse: {0}")]
    CertParse(String),

    /// A certificate does not carry the identity it must.
    #[error("certificate is not for {expected} (its identities: {})", found_list(.found))]
    IdMismatch {
        /// The identity required.
        expected: String,
        /// The DNS and URI identities the certificate carries.
        found: Vec<String>,
    },

    /// The trust-roots bundle holds no certificate.
    #[error(
        "trust roots: the PEM bundle holds no CERTIFICATE block; pass the mesh's trust anchors"
    )]
    RootsEmpty,

    /// The trust-roots bundle is not valid PEM.
    #[error("trust roots: malformed PEM: {0}")]
    RootsPem(String),

    /// A certificate in the trust-roots bundle cannot be used as a trust anchor.
    #[error(
        "trust roots: certificate #{index} in the bundle is not a usable trust anchor: {reason}"
    )]
    RootsUnparsable {
        /// Position of the certificate in the bundle, from 1.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A certificate chain file is not PEM, or holds no certificate.
    #[error("certificate chain: {0}; expected PEM CERTIFICATE blocks, leaf first")]
    ChainPem(String),

    /// A private-key file is not PEM, or holds no private key.
    #[error(
        "private key: {0}; expected one PEM PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block"
    )]
    KeyPem(String),

    /// The private key does not belong to the leaf certificate.
    #[error("private key does not match the leaf certificate's public key")]
    KeyMismatch,

    /// A certificate chain does not verify to the trust roots (untrusted, expired, not yet valid,
    /// wrong usage, bad signature...).
    #[error("{whose} does not verify to the trust roots: {reason}")]
    Untrusted {
        /// Whether it is the workload's own certificate or the peer's.
        whose: Whose,
        /// What is wrong with it, in words.
        reason: String,
        /// The verifier's error.
        #[source]
        source: rustls::Error,
    },

    /// An empty list of groups or suites was chosen ([`crate::policy::Offer`]).
    #[error("no {kind} chosen: the list must name at least one")]
    NoAlgorithms {
        /// Which kind of algorithm.
        kind: crate::policy::Kind,
    },

    /// A group or suite was chosen that this build cannot offer ([`crate::policy::Offer`]).
    #[error("{kind} {name} cannot be chosen: {reason}")]
    AlgorithmUnavailable {
        /// Which kind of algorithm.
        kind: crate::policy::Kind,
        /// As the caller named it.
        name: String,
        /// Why not.
        reason: &'static str,
    },

    /// rustls refused a configuration.
    #[error("TLS configuration refused: {reason}")]
    Config {
        /// Why, in words.
        reason: String,
        /// rustls's error.
        #[source]
        source: rustls::Error,
    },

    /// A server was asked to accept before any certificate was set.
    #[error(
        "no certificate yet: the server refuses handshakes until the identity controller sets one"
    )]
    NoCredentials,

    /// A function that spawns a task was called outside a tokio runtime.
    #[error("must be called from within a tokio runtime")]
    NoRuntime,

    /// A certificate breaks the mesh's certificate rules ([`crate::identity::rules`]).
    #[error("certificate refused by the mesh's certificate rules: {0}")]
    Leaf(#[from] LeafProblem),

    /// A TLS handshake did not finish by its deadline; the connection was closed.
    #[error("TLS handshake did not finish within {} s; connection closed", .after.as_secs_f64())]
    HandshakeTimeout {
        /// The deadline it had.
        after: Duration,
    },

    /// The server's authorization policy refused the client ([`crate::authz`]).
    #[error("client refused by the server's authorization policy: {0}")]
    Unauthorized(#[from] Refused),

    /// A certificate was set with an `expiry` (planned replacement time) already past.
    #[error("the certificate's expiry {expiry} is in the past; refusing to serve it")]
    ExpiryInPast {
        /// The expiry given, as an RFC 3339 date.
        expiry: String,
    },

    /// The [`creds::Store`](crate::creds::Store) was dropped: the credentials will not change again.
    #[error("the credential store is gone; no update will come")]
    StoreClosed,

    /// rustls's process-default provider is not ours ([`crate::default_provider`]): a library that
    /// falls back to it would run other crypto.
    #[error(
        "rustls's process-default crypto provider is not meshtls's ({found}); a library that \
         falls back to it would run other crypto"
    )]
    ForeignDefaultProvider {
        /// The first component found that is not one of our provider's objects, in words.
        found: String,
    },

    /// The SPIFFE Workload API could not be reached, or sent something unusable (feature `spiffe`).
    #[error("SPIFFE Workload API: {reason}")]
    WorkloadApi {
        /// What went wrong, in words.
        reason: String,
    },
}

// === impl Error ===

impl Error {
    /// [`Error::Untrusted`] about `whose` certificate, described from the verifier's error.
    pub(crate) fn untrusted(whose: Whose, source: rustls::Error) -> Self {
        Error::Untrusted {
            whose,
            reason: text::certificate(&source),
            source,
        }
    }

    /// [`Error::Config`], described from rustls's error.
    pub(crate) fn config(source: rustls::Error) -> Self {
        Error::Config {
            reason: text::tls(&source),
            source,
        }
    }

    /// A rustls error in the words meshtls's own errors use: alerts by their RFC 8446 names,
    /// certificate problems as the rest of a sentence ("it expired at 2002-01-01T00:00:00Z ..."),
    /// webpki's reasons named, dates in RFC 3339, never `Debug` output. For reports about a
    /// handshake that failed with `error` (`meshtls probe` prints these).
    pub fn describe(error: &rustls::Error) -> String {
        text::tls(error)
    }

    /// A reason a certificate is unusable (e.g. as a trust anchor), in words.
    pub(crate) fn certificate_reason(error: &rustls::Error) -> String {
        text::certificate(error)
    }

    /// A PEM error's text, labels and lines as text.
    pub(crate) fn pem_reason(error: &pem::Error) -> String {
        text::pem(error)
    }
}

fn found_list(found: &[String]) -> String {
    if found.is_empty() {
        "none".to_string()
    } else {
        found.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn config_and_untrusted_keep_the_rustls_error_as_source() {
        let source = rustls::Error::General("no usable cipher suites".into());
        let err = Error::config(source.clone());
        assert_eq!(
            err.to_string(),
            "TLS configuration refused: no usable cipher suites"
        );
        let got = err.source().and_then(|s| s.downcast_ref::<rustls::Error>());
        assert_eq!(got, Some(&source));

        let source = rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        let err = Error::untrusted(Whose::Peer, source.clone());
        assert_eq!(
            err.to_string(),
            "the peer's certificate does not verify to the trust roots: a signature in its chain \
             does not verify"
        );
        let got = err.source().and_then(|s| s.downcast_ref::<rustls::Error>());
        assert_eq!(got, Some(&source));
    }
}
