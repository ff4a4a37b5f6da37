//! The crate's one error type.
//!
//! Every fallible public function returns [`Error`]; each variant names what went wrong so a caller (or
//! an auditor reading a log line) can tell a bad key from a bad certificate from a module that is not in
//! FIPS mode without parsing strings.

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
}
