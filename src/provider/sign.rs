//! Private keys: loading (PKCS#8, SEC1, PKCS#1) and TLS signing.
//!
//! Supported: ECDSA P-256/P-384 (FIPS 186-5), RSA 2048–8192 bits with PSS or PKCS#1 v1.5, Ed25519.
//! Anything else, or an RSA key under 2048 bits, is refused with a typed [`crate::Error`] carried in
//! `rustls::Error::Other`, so callers can downcast it.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as lc, KeyPair as _};
use rustls::crypto::KeyProvider;
use rustls::pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{Signer, SigningKey};
use rustls::{Error, OtherError, SignatureAlgorithm, SignatureScheme};

use super::mode::approved;

/// Smallest RSA modulus we accept, in bits: the policy table's RSA row.
const MIN_RSA_BITS: usize = super::policy::RSA_BITS.0;

/// The provider's key loader.
pub(crate) struct Keys {
    /// A byte, so that [`KEYS`] has an address of its own (a zero-sized static has none), by which
    /// [`crate::default_provider`] recognises it.
    _addressed: u8,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("meshtls::Keys(aws-lc-rs)")
    }
}

/// The one instance.
pub(crate) static KEYS: Keys = Keys { _addressed: 0 };

fn typed(err: crate::Error) -> Error {
    Error::Other(OtherError(Arc::new(err)))
}

// === impl Keys ===

impl KeyProvider for Keys {
    fn load_private_key(&self, der: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        load(&der).map_err(typed)
    }

    fn fips(&self) -> bool {
        approved()
    }
}

/// Parses `der` into a signing key, trying each encoding the key type allows.
pub(crate) fn load(der: &PrivateKeyDer<'_>) -> Result<Arc<dyn SigningKey>, crate::Error> {
    let key: Arc<dyn SigningKey> = match der {
        PrivateKeyDer::Pkcs8(k) => {
            let k = k.secret_pkcs8_der();
            if let Some(ec) = Ecdsa::from_pkcs8(k) {
                Arc::new(ec)
            } else if let Ok(ed) = lc::Ed25519KeyPair::from_pkcs8_maybe_unchecked(k) {
                Arc::new(Ed25519(Arc::new(ed)))
            } else {
                Arc::new(Rsa::new(
                    lc::RsaKeyPair::from_pkcs8(k).map_err(rsa_rejected)?,
                )?)
            }
        }
        PrivateKeyDer::Sec1(k) => {
            Arc::new(Ecdsa::from_sec1(k.secret_sec1_der()).ok_or_else(|| {
                crate::Error::KeyParse("SEC1 key is not a P-256 or P-384 key".into())
            })?)
        }
        PrivateKeyDer::Pkcs1(k) => Arc::new(Rsa::new(
            lc::RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(rsa_rejected)?,
        )?),
        _ => {
            return Err(crate::Error::KeyParse(
                "unknown private key encoding".into(),
            ))
        }
    };
    Ok(key)
}

fn rsa_rejected(e: aws_lc_rs::error::KeyRejected) -> crate::Error {
    match e.description_() {
        "TooSmall" => crate::Error::KeyPolicy(format!("RSA key below {MIN_RSA_BITS} bits")),
        "TooLarge" => {
            crate::Error::KeyPolicy(format!("RSA key above {} bits", super::policy::RSA_BITS.1))
        }
        "WrongAlgorithm" => crate::Error::KeyParse(
            "not a P-256, P-384, Ed25519 or RSA key: the key's algorithm or curve is not supported"
                .into(),
        ),
        "InvalidEncoding" => crate::Error::KeyParse(
            "not a P-256, P-384, Ed25519 or RSA key: its encoding is not one of those keys'".into(),
        ),
        other => crate::Error::KeyParse(format!(
            "not a P-256, P-384, Ed25519 or RSA key (the module says: {other})"
        )),
    }
}

fn spki(der: aws_lc_rs::encoding::PublicKeyX509Der<'_>) -> SubjectPublicKeyInfoDer<'static> {
    SubjectPublicKeyInfoDer::from(der.as_ref().to_vec())
}

/// An ECDSA key on P-256 (signs with SHA-256) or P-384 (signs with SHA-384).
#[derive(Debug)]
struct Ecdsa {
    key: Arc<lc::EcdsaKeyPair>,
    scheme: SignatureScheme,
}

const ECDSA_CURVES: [(&lc::EcdsaSigningAlgorithm, SignatureScheme); 2] = [
    (
        &lc::ECDSA_P256_SHA256_ASN1_SIGNING,
        SignatureScheme::ECDSA_NISTP256_SHA256,
    ),
    (
        &lc::ECDSA_P384_SHA384_ASN1_SIGNING,
        SignatureScheme::ECDSA_NISTP384_SHA384,
    ),
];

// === impl Ecdsa ===

impl Ecdsa {
    fn from_pkcs8(der: &[u8]) -> Option<Self> {
        ECDSA_CURVES.iter().find_map(|(alg, scheme)| {
            let key = lc::EcdsaKeyPair::from_pkcs8(alg, der).ok()?;
            Some(Self {
                key: Arc::new(key),
                scheme: *scheme,
            })
        })
    }

    fn from_sec1(der: &[u8]) -> Option<Self> {
        ECDSA_CURVES.iter().find_map(|(alg, scheme)| {
            let key = lc::EcdsaKeyPair::from_private_key_der(alg, der).ok()?;
            Some(Self {
                key: Arc::new(key),
                scheme: *scheme,
            })
        })
    }
}

impl SigningKey for Ecdsa {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered.contains(&self.scheme).then(|| {
            Box::new(EcdsaSigner {
                key: self.key.clone(),
                scheme: self.scheme,
            }) as Box<dyn Signer>
        })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.key.public_key().as_der().ok().map(spki)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

#[derive(Debug)]
struct EcdsaSigner {
    key: Arc<lc::EcdsaKeyPair>,
    scheme: SignatureScheme,
}

impl Signer for EcdsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.key
            .sign(&SystemRandom::new(), message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| Error::General("ECDSA signing failed".into()))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

/// An RSA key of at least 2048 bits.
#[derive(Debug)]
struct Rsa(Arc<lc::RsaKeyPair>);

/// Our preference among RSA schemes: PSS first (the only RSA choice in TLS 1.3), then PKCS#1 v1.5.
const RSA_SCHEMES: [(SignatureScheme, &dyn lc::RsaEncoding); 6] = [
    (SignatureScheme::RSA_PSS_SHA256, &lc::RSA_PSS_SHA256),
    (SignatureScheme::RSA_PSS_SHA384, &lc::RSA_PSS_SHA384),
    (SignatureScheme::RSA_PSS_SHA512, &lc::RSA_PSS_SHA512),
    (SignatureScheme::RSA_PKCS1_SHA256, &lc::RSA_PKCS1_SHA256),
    (SignatureScheme::RSA_PKCS1_SHA384, &lc::RSA_PKCS1_SHA384),
    (SignatureScheme::RSA_PKCS1_SHA512, &lc::RSA_PKCS1_SHA512),
];

// === impl Rsa ===

impl Rsa {
    fn new(key: lc::RsaKeyPair) -> Result<Self, crate::Error> {
        let bits = key.public_modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(crate::Error::KeyPolicy(format!(
                "RSA key of {bits} bits; at least {MIN_RSA_BITS} required"
            )));
        }
        Ok(Self(Arc::new(key)))
    }
}

impl SigningKey for Rsa {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        RSA_SCHEMES
            .iter()
            .find(|(scheme, _)| offered.contains(scheme))
            .map(|(scheme, encoding)| {
                Box::new(RsaSigner {
                    key: self.0.clone(),
                    scheme: *scheme,
                    encoding: *encoding,
                }) as Box<dyn Signer>
            })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.0.public_key().as_der().ok().map(spki)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

struct RsaSigner {
    key: Arc<lc::RsaKeyPair>,
    scheme: SignatureScheme,
    encoding: &'static dyn lc::RsaEncoding,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner")
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl Signer for RsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(self.encoding, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| Error::General("RSA signing failed".into()))?;
        Ok(sig)
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

/// An Ed25519 key (FIPS 186-5 EdDSA).
#[derive(Debug)]
struct Ed25519(Arc<lc::Ed25519KeyPair>);

impl SigningKey for Ed25519 {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ED25519)
            .then(|| Box::new(Ed25519Signer(self.0.clone())) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.0.public_key().as_der().ok().map(spki)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }
}

#[derive(Debug)]
struct Ed25519Signer(Arc<lc::Ed25519KeyPair>);

impl Signer for Ed25519Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.0
            .try_sign(message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| Error::General("Ed25519 signing failed".into()))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}
