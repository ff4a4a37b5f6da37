//! TLS 1.2 (feature `tls12`): ECDHE-ECDSA and ECDHE-RSA suites with AES-GCM, and the TLS 1.2 PRF.
//!
//! The PRF is the module's `CRYPTO_tls1_prf` through aws-lc-rs `tls_prf` (SP 800-135 §4.2). In the
//! FIPS build the TLS 1.2 KDF is approved only with the extended master secret (RFC 7627): the PRF
//! refuses to derive a plain "master secret", so a peer that does not negotiate EMS cannot complete a
//! handshake even if a configuration forgot `require_ems`.

use aws_lc_rs::tls_prf;
use rustls::crypto::tls12::Prf as RustlsPrf;
use rustls::crypto::{ActiveKeyExchange, CipherSuiteCommon, KeyExchangeAlgorithm};
use rustls::{CipherSuite, Error, SignatureScheme, SupportedCipherSuite, Tls12CipherSuite};

use super::mode::approved;
use super::{aead, hash};

/// Handshake signature schemes an ECDSA suite accepts, in preference order.
static ECDSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ED25519,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP256_SHA256,
];

/// Handshake signature schemes an RSA suite accepts, in preference order.
static RSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
];

const GCM_LIMIT: u64 = 1 << 24;

macro_rules! suite {
    ($id:ident, $hash:ident, $prf:ident, $sign:ident, $aead:expr, $limit:expr) => {
        #[doc = concat!("TLS 1.2 ", stringify!($id), ".")]
        pub(crate) static $id: SupportedCipherSuite =
            SupportedCipherSuite::Tls12(&Tls12CipherSuite {
                common: CipherSuiteCommon {
                    suite: CipherSuite::$id,
                    hash_provider: &hash::$hash,
                    confidentiality_limit: $limit,
                },
                prf_provider: &$prf,
                kx: KeyExchangeAlgorithm::ECDHE,
                sign: $sign,
                aead_alg: $aead,
            });
    };
}

suite!(
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    SHA384,
    PRF_SHA384,
    ECDSA_SCHEMES,
    &aead::tls12::TLS12_AES_256_GCM,
    GCM_LIMIT
);
suite!(
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    SHA256,
    PRF_SHA256,
    ECDSA_SCHEMES,
    &aead::tls12::TLS12_AES_128_GCM,
    GCM_LIMIT
);
suite!(
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    SHA384,
    PRF_SHA384,
    RSA_SCHEMES,
    &aead::tls12::TLS12_AES_256_GCM,
    GCM_LIMIT
);
suite!(
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    SHA256,
    PRF_SHA256,
    RSA_SCHEMES,
    &aead::tls12::TLS12_AES_128_GCM,
    GCM_LIMIT
);
#[cfg(not(feature = "fips"))]
suite!(
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    SHA256,
    PRF_SHA256,
    ECDSA_SCHEMES,
    &aead::chacha::TLS12_CHACHA20_POLY1305,
    u64::MAX
);
#[cfg(not(feature = "fips"))]
suite!(
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    SHA256,
    PRF_SHA256,
    RSA_SCHEMES,
    &aead::chacha::TLS12_CHACHA20_POLY1305,
    u64::MAX
);

/// The TLS 1.2 PRF over one hash.
pub(crate) struct Prf(&'static tls_prf::Algorithm);

/// P_SHA256.
pub(crate) static PRF_SHA256: Prf = Prf(&tls_prf::P_SHA256);
/// P_SHA384.
pub(crate) static PRF_SHA384: Prf = Prf(&tls_prf::P_SHA384);

/// The RFC 5246 master-secret label, which the FIPS build refuses (RFC 7627 EMS is required).
const PLAIN_MASTER_SECRET: &[u8] = b"master secret";

// === impl Prf ===

impl Prf {
    fn derive(
        &self,
        output: &mut [u8],
        secret: &[u8],
        label: &[u8],
        seed: &[u8],
    ) -> Result<(), Error> {
        let out = tls_prf::Secret::new(self.0, secret)
            .and_then(|s| s.derive(label, seed, output.len()))
            .map_err(|_| Error::General("TLS 1.2 PRF failed".into()))?;
        output.copy_from_slice(out.as_ref());
        Ok(())
    }
}

impl RustlsPrf for Prf {
    fn for_key_exchange(
        &self,
        output: &mut [u8; 48],
        kx: Box<dyn ActiveKeyExchange>,
        peer_pub_key: &[u8],
        label: &[u8],
        seed: &[u8],
    ) -> Result<(), Error> {
        if cfg!(feature = "fips") && label == PLAIN_MASTER_SECRET {
            return Err(Error::PeerIncompatible(
                rustls::PeerIncompatible::ExtendedMasterSecretExtensionRequired,
            ));
        }
        let secret = kx.complete_for_tls_version(peer_pub_key, &rustls::version::TLS12)?;
        self.derive(output, secret.secret_bytes(), label, seed)
    }

    fn for_secret(&self, output: &mut [u8], secret: &[u8], label: &[u8], seed: &[u8]) {
        // rustls only passes the 48-byte master secret here; the module's PRF fails only for an empty
        // secret, so failure would be a broken invariant, not bad input.
        if let Err(e) = self.derive(output, secret, label, seed) {
            panic!("TLS 1.2 PRF over the master secret failed: {e}");
        }
    }

    fn fips(&self) -> bool {
        approved()
    }
}
