//! Our rustls [`CryptoProvider`], written on aws-lc-rs' public API.
//!
//! Why our own: rustls's built-in `aws_lc_rs`/`fips` features also compile the non-validated
//! `aws-lc-sys` into a FIPS build, so a regulated binary would link two crypto libraries. This provider
//! uses whichever module the cargo features select (AWS-LC, or the AWS-LC-FIPS 3.x module with
//! `fips`), and nothing else: every hash, HMAC, KDF, AEAD, key exchange, signature and random byte
//! comes from that one module.
//!
//! What the FIPS build leaves out is not just disabled but absent (ChaCha20-Poly1305, X25519,
//! X25519MLKEM768): it cannot be negotiated by accident.
//!
//! Layout: [`hash`] (SHA-2, HMAC), [`tls13`] (suites, HKDF), [`tls12`] (suites, PRF), [`aead`]
//! (record protection), [`kx`] (key exchange), [`sign`] (private keys), [`verify`] (signatures).

use std::sync::{Arc, OnceLock};

use rustls::crypto::{CryptoProvider, GetRandomFailed, SecureRandom, SupportedKxGroup};
use rustls::SupportedCipherSuite;

pub(crate) mod aead;
pub(crate) mod hash;
pub mod kat;
pub(crate) mod kx;
pub(crate) mod sign;
#[cfg(feature = "tls12")]
pub(crate) mod tls12;
pub(crate) mod tls13;
pub(crate) mod verify;

/// True when the running module is in FIPS mode.
///
/// Each component's `fips()` is `approved() && <the algorithm is approved>`. Algorithms that are never
/// approved (ChaCha20-Poly1305, X25519 and X25519MLKEM768) return `false` directly; they are not even
/// compiled into the FIPS build.
pub(crate) fn approved() -> bool {
    aws_lc_rs::try_fips_mode().is_ok()
}

/// Cipher suites in preference order.
pub(crate) static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    tls13::TLS13_AES_256_GCM_SHA384,
    tls13::TLS13_AES_128_GCM_SHA256,
    #[cfg(not(feature = "fips"))]
    tls13::TLS13_CHACHA20_POLY1305_SHA256,
    #[cfg(feature = "tls12")]
    tls12::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    #[cfg(feature = "tls12")]
    tls12::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    #[cfg(all(feature = "tls12", not(feature = "fips")))]
    tls12::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    #[cfg(feature = "tls12")]
    tls12::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    #[cfg(feature = "tls12")]
    tls12::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    #[cfg(all(feature = "tls12", not(feature = "fips")))]
    tls12::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// Key-exchange groups in preference order. A client sends a key share for the first one (for a
/// hybrid, also its bare ECDH part); the others cost a HelloRetryRequest.
pub(crate) static KX_GROUPS: &[&dyn SupportedKxGroup] = &[
    #[cfg(not(feature = "fips"))]
    &kx::X25519MLKEM768,
    &kx::SECP256R1MLKEM768,
    #[cfg(not(feature = "fips"))]
    &kx::X25519,
    &kx::SECP256R1,
    &kx::SECP384R1,
];

/// The module's DRBG (CTR_DRBG, SP 800-90A, in the FIPS module).
struct Rng;

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
                cipher_suites: CIPHER_SUITES.to_vec(),
                kx_groups: KX_GROUPS.to_vec(),
                signature_verification_algorithms: verify::ALGORITHMS,
                secure_random: &Rng,
                key_provider: &sign::KEYS,
            })
        })
        .clone()
}
