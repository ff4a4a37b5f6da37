//! The crate's one error type.
//!
//! Every fallible public function returns [`Error`]; each variant names what went wrong so a caller (or
//! an auditor reading a log line) can tell a bad key from a bad certificate from a module that is not in
//! FIPS mode without parsing strings.

use std::time::SystemTime;

/// Everything that can go wrong in meshtls.
#[derive(Debug, thiserror::Error)]
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

    /// A private key could not be parsed in any supported encoding.
    #[error("private key is not a supported PKCS#8, SEC1 or PKCS#1 key: {0}")]
    KeyParse(String),

    /// A private key parsed but is not allowed (type or size) by this build's policy.
    #[error("private key rejected by policy: {0}")]
    KeyPolicy(String),

    /// PEM input held no item of the expected kind, or was malformed.
    #[error("invalid PEM ({what}): {reason}")]
    Pem {
        /// What was being read ("trust roots", "certificate chain", ...).
        what: &'static str,
        /// Why it failed.
        reason: String,
    },

    /// A certificate could not be parsed.
    #[error("certificate could not be parsed: {0}")]
    CertParse(String),

    /// The trust-root bundle held no usable anchor.
    #[error("no usable trust anchor in the roots bundle: {0}")]
    NoTrustAnchors(String),

    /// A certificate chain did not verify against the trust roots.
    #[error("certificate chain does not verify: {0}")]
    Untrusted(rustls::Error),

    /// The leaf certificate's public key does not match the private key.
    #[error("private key does not match the certificate's public key")]
    KeyMismatch,

    /// The leaf certificate does not carry the expected identity.
    #[error("certificate does not carry identity {expected}")]
    IdentityMismatch {
        /// The identity that was required.
        expected: String,
    },

    /// The certificate is outside its validity window at `now`.
    #[error("certificate not valid at {now:?}: {reason}")]
    Validity {
        /// The time of the check.
        now: SystemTime,
        /// "expired" or "not yet valid".
        reason: &'static str,
    },

    /// The runtime self-test failed.
    #[error("self-test failed: {0}")]
    SelfTest(String),

    /// A rustls configuration could not be built.
    #[error("TLS configuration error: {0}")]
    Tls(#[from] rustls::Error),
}
