//! TLS 1.3 cipher suites and the HKDF (RFC 5869, SP 800-56C) that drives the TLS 1.3 key schedule.
//!
//! The key schedule runs entirely on aws-lc-rs `hkdf`: rustls asks for extract/expand steps and never
//! sees a PRK except as an opaque expander. Record protection is in [`super::aead`].

use aws_lc_rs::hkdf;
use rustls::crypto::tls13::{Hkdf as RustlsHkdf, HkdfExpander, OkmBlock, OutputLengthError};
use rustls::crypto::{hmac, CipherSuiteCommon};
use rustls::{CipherSuite, SupportedCipherSuite, Tls13CipherSuite};

use super::mode::approved;
use super::{aead, hash};

/// AES-GCM suites: 2^24 full-size records per key (rustls' guidance for GCM).
const GCM_CONFIDENTIALITY_LIMIT: u64 = 1 << 24;

/// TLS13_AES_256_GCM_SHA384.
pub(crate) static TLS13_AES_256_GCM_SHA384: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            hash_provider: &hash::SHA384,
            confidentiality_limit: GCM_CONFIDENTIALITY_LIMIT,
        },
        hkdf_provider: &HKDF_SHA384,
        aead_alg: &aead::AES_256_GCM,
        quic: None,
    });

/// TLS13_AES_128_GCM_SHA256.
pub(crate) static TLS13_AES_128_GCM_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: GCM_CONFIDENTIALITY_LIMIT,
        },
        hkdf_provider: &HKDF_SHA256,
        aead_alg: &aead::AES_128_GCM,
        quic: None,
    });

/// TLS13_CHACHA20_POLY1305_SHA256 (not FIPS-approved: compiled only without `fips`).
#[cfg(not(feature = "fips"))]
pub(crate) static TLS13_CHACHA20_POLY1305_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: u64::MAX,
        },
        hkdf_provider: &HKDF_SHA256,
        aead_alg: &aead::chacha::CHACHA20_POLY1305,
        quic: None,
    });

/// HKDF over one SHA-2 hash, with the matching HMAC for Finished.
pub(crate) struct Hkdf {
    alg: hkdf::Algorithm,
    hmac: &'static hash::Hmac,
}

/// HKDF-SHA256.
pub(crate) static HKDF_SHA256: Hkdf = Hkdf {
    alg: hkdf::HKDF_SHA256,
    hmac: &hash::HMAC_SHA256,
};

/// HKDF-SHA384.
pub(crate) static HKDF_SHA384: Hkdf = Hkdf {
    alg: hkdf::HKDF_SHA384,
    hmac: &hash::HMAC_SHA384,
};

// === impl Hkdf ===

impl Hkdf {
    fn hash_len(&self) -> usize {
        self.alg.hmac_algorithm().digest_algorithm().output_len()
    }

    fn salt(&self, salt: Option<&[u8]>) -> hkdf::Salt {
        let zeros = [0u8; 64];
        hkdf::Salt::new(self.alg, salt.unwrap_or(&zeros[..self.hash_len()]))
    }
}

impl RustlsHkdf for Hkdf {
    fn extract_from_zero_ikm(&self, salt: Option<&[u8]>) -> Box<dyn HkdfExpander> {
        let zeros = [0u8; 64];
        self.extract_from_secret(salt, &zeros[..self.hash_len()])
    }

    fn extract_from_secret(&self, salt: Option<&[u8]>, secret: &[u8]) -> Box<dyn HkdfExpander> {
        Box::new(Expander {
            prk: self.salt(salt).extract(secret),
            hash_len: self.hash_len(),
        })
    }

    fn expander_for_okm(&self, okm: &OkmBlock) -> Box<dyn HkdfExpander> {
        Box::new(Expander {
            prk: hkdf::Prk::new_less_safe(self.alg, okm.as_ref()),
            hash_len: self.hash_len(),
        })
    }

    fn hmac_sign(&self, key: &OkmBlock, message: &[u8]) -> hmac::Tag {
        self.hmac.sign_once(key.as_ref(), message)
    }

    fn fips(&self) -> bool {
        approved()
    }
}

/// An HKDF PRK, ready to expand. The PRK stays inside aws-lc-rs.
struct Expander {
    prk: hkdf::Prk,
    hash_len: usize,
}

/// Output length for aws-lc-rs `Prk::expand`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl HkdfExpander for Expander {
    fn expand_slice(&self, info: &[&[u8]], output: &mut [u8]) -> Result<(), OutputLengthError> {
        self.prk
            .expand(info, Len(output.len()))
            .and_then(|okm| okm.fill(output))
            .map_err(|_| OutputLengthError)
    }

    fn expand_block(&self, info: &[&[u8]]) -> OkmBlock {
        let mut buf = [0u8; 64];
        let out = &mut buf[..self.hash_len];
        // A hash-length output is always within HKDF's 255 * HashLen bound, so this cannot fail.
        if self.expand_slice(info, out).is_err() {
            unreachable!("HKDF-Expand of HashLen bytes failed");
        }
        OkmBlock::new(out)
    }

    fn hash_len(&self) -> usize {
        self.hash_len
    }
}
