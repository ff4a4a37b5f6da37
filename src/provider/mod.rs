//! Our rustls [`CryptoProvider`], written on aws-lc-rs' public API.
//!
//! Why our own: rustls's built-in `aws_lc_rs`/`fips` features also compile the non-validated
//! `aws-lc-sys` into a FIPS build, so a regulated binary would link two crypto libraries. This provider
//! uses whichever module the cargo features select (AWS-LC, or the AWS-LC-FIPS 3.x module with
//! `fips`), and nothing else: every hash, HMAC, KDF, AEAD, key exchange, signature and random byte
//! comes from that one module.
//!
//! Which algorithms it offers, in which order, and which are approved is decided in one place, the
//! policy table ([`policy`]); the lists below are its rows. What the FIPS build leaves out is not
//! just disabled but absent (ChaCha20-Poly1305, X25519, X25519MLKEM768): it cannot be negotiated by
//! accident.
//!
//! Layout: [`policy`] (the table), [`hash`] (SHA-2, HMAC), [`tls13`] (suites, HKDF), `tls12` (suites,
//! PRF), [`aead`] (record protection), [`kx`] (key exchange), [`sign`] (private keys), [`verify`]
//! (signatures), `mode` (whether the module is in FIPS mode), [`kat`] (fixed-key entry points for
//! the self-test and, with the `kat` feature, the known-answer tests).

use std::sync::{Arc, OnceLock};

use rustls::crypto::{CryptoProvider, GetRandomFailed, SecureRandom};

pub(crate) mod aead;
pub(crate) mod hash;
pub mod kat;
pub(crate) mod kx;
mod mode;
pub mod policy;
pub(crate) mod sign;
#[cfg(feature = "tls12")]
pub(crate) mod tls12;
pub(crate) mod tls13;
pub(crate) mod verify;

use mode::approved;

/// The module's DRBG (CTR_DRBG, SP 800-90A, in the FIPS module).
pub(crate) struct Rng {
    /// A byte, so that [`RNG`] has an address of its own (a zero-sized static has none), by which
    /// [`crate::default_provider`] recognises it.
    _addressed: u8,
}

/// The one instance.
pub(crate) static RNG: Rng = Rng { _addressed: 0 };

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("meshtls::Rng(aws-lc-rs rand)")
    }
}

impl SecureRandom for Rng {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        aws_lc_rs::rand::fill(buf).map_err(|_| GetRandomFailed)
    }

    fn fips(&self) -> bool {
        approved()
    }
}

/// The feature-selected provider: AWS-LC in the default build, the AWS-LC-FIPS 3.x module with
/// the `fips` feature.
///
/// Use it wherever rustls takes a provider. Never rely on rustls's process-default provider: in a
/// FIPS deployment that could silently be another library.
///
/// ```
/// let roots = rustls::RootCertStore::empty();
/// let config = rustls::ClientConfig::builder_with_provider(meshtls::provider())
///     .with_safe_default_protocol_versions()
///     .unwrap()
///     .with_root_certificates(roots)
///     .with_no_client_auth();
/// // In the FIPS build every component is approved and the module is in FIPS mode.
/// assert_eq!(config.fips(), cfg!(feature = "fips"));
/// ```
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            Arc::new(CryptoProvider {
                cipher_suites: policy::cipher_suites(),
                kx_groups: policy::kx_groups(),
                signature_verification_algorithms: policy::signature_algorithms(),
                secure_random: &RNG,
                key_provider: &sign::KEYS,
            })
        })
        .clone()
}
