//! Signature verification for certificate chains and handshake signatures (rustls-webpki calls these).
//!
//! Offered: ECDSA P-256/P-384 with SHA-256/384, RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512 for
//! 2048–8192-bit moduli, and Ed25519. There is deliberately no SHA-1, no P-521 and no RSA under 2048
//! bits: a certificate signed that way has no verifier here, so webpki rejects it. Which verifier
//! serves which key type and TLS signature scheme is the policy table's business
//! ([`super::policy`]); this file only defines the objects.
//!
//! Why our own thin verifiers and not rustls-webpki's `aws_lc_rs` algorithms (checked 2026-12-01,
//! rustls-webpki 0.103.6 to 0.103.17):
//! - webpki's `aws-lc-rs-fips` feature is `["dep:aws-lc-rs", "aws-lc-rs/fips"]`. Because webpki also
//!   has a feature named `aws-lc-rs`, Cargo's `dep/feature` rule turns that feature on too, and it
//!   enables `aws-lc-rs/aws-lc-sys`: the regulated build would link the non-validated aws-lc-sys
//!   beside aws-lc-fips-sys. Reproduce with a crate depending on `rustls-webpki = { version =
//!   "=0.103.13", default-features = false, features = ["aws-lc-rs-fips"] }` and `cargo tree -e
//!   features -i aws-lc-sys`.
//! - webpki 0.103.14 and later need aws-lc-rs 1.18, which carries the 4.x module (no certificate);
//!   the validated 3.1.0 module needs aws-lc-rs at most 1.17.1 (see README, "Pinning").
//!
//! Each verifier here is the same one-line call webpki's would make (`UnparsedPublicKey::verify` with
//! the aws-lc-rs algorithm of the same name), so nothing is reimplemented but the pairing.

use aws_lc_rs::signature::{self as lc, UnparsedPublicKey, VerificationAlgorithm};
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};

use super::mode::approved;

/// One (public-key algorithm, signature algorithm) pair, verified by aws-lc-rs.
pub(crate) struct Verifier {
    name: &'static str,
    public_key_alg: AlgorithmIdentifier,
    signature_alg: AlgorithmIdentifier,
    lc: &'static dyn VerificationAlgorithm,
}

// === impl Verifier ===

/// Debug output is the verifier's short name, for logs only: nothing matches on it.
impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl SignatureVerificationAlgorithm for Verifier {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        UnparsedPublicKey::new(self.lc, public_key)
            .verify(message, signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key_alg
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg
    }

    fn fips(&self) -> bool {
        approved()
    }
}

impl Verifier {
    const fn new(
        name: &'static str,
        public_key_alg: AlgorithmIdentifier,
        signature_alg: AlgorithmIdentifier,
        lc: &'static dyn VerificationAlgorithm,
    ) -> Self {
        Self {
            name,
            public_key_alg,
            signature_alg,
            lc,
        }
    }
}

/// ECDSA P-256 key, SHA-256.
pub(crate) static ECDSA_P256_SHA256: Verifier = Verifier::new(
    "ecdsa-p256-sha256",
    alg_id::ECDSA_P256,
    alg_id::ECDSA_SHA256,
    &lc::ECDSA_P256_SHA256_ASN1,
);
/// ECDSA P-256 key, SHA-384.
pub(crate) static ECDSA_P256_SHA384: Verifier = Verifier::new(
    "ecdsa-p256-sha384",
    alg_id::ECDSA_P256,
    alg_id::ECDSA_SHA384,
    &lc::ECDSA_P256_SHA384_ASN1,
);
/// ECDSA P-384 key, SHA-256.
pub(crate) static ECDSA_P384_SHA256: Verifier = Verifier::new(
    "ecdsa-p384-sha256",
    alg_id::ECDSA_P384,
    alg_id::ECDSA_SHA256,
    &lc::ECDSA_P384_SHA256_ASN1,
);
/// ECDSA P-384 key, SHA-384.
pub(crate) static ECDSA_P384_SHA384: Verifier = Verifier::new(
    "ecdsa-p384-sha384",
    alg_id::ECDSA_P384,
    alg_id::ECDSA_SHA384,
    &lc::ECDSA_P384_SHA384_ASN1,
);
/// RSA key (2048–8192 bits), PKCS#1 v1.5 with SHA-256.
pub(crate) static RSA_PKCS1_SHA256: Verifier = Verifier::new(
    "rsa-pkcs1-sha256",
    alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA256,
    &lc::RSA_PKCS1_2048_8192_SHA256,
);
/// RSA key (2048–8192 bits), PKCS#1 v1.5 with SHA-384.
pub(crate) static RSA_PKCS1_SHA384: Verifier = Verifier::new(
    "rsa-pkcs1-sha384",
    alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA384,
    &lc::RSA_PKCS1_2048_8192_SHA384,
);
/// RSA key (2048–8192 bits), PKCS#1 v1.5 with SHA-512.
pub(crate) static RSA_PKCS1_SHA512: Verifier = Verifier::new(
    "rsa-pkcs1-sha512",
    alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA512,
    &lc::RSA_PKCS1_2048_8192_SHA512,
);
/// RSA key (2048–8192 bits), PSS with SHA-256.
pub(crate) static RSA_PSS_SHA256: Verifier = Verifier::new(
    "rsa-pss-sha256",
    alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA256,
    &lc::RSA_PSS_2048_8192_SHA256,
);
/// RSA key (2048–8192 bits), PSS with SHA-384.
pub(crate) static RSA_PSS_SHA384: Verifier = Verifier::new(
    "rsa-pss-sha384",
    alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA384,
    &lc::RSA_PSS_2048_8192_SHA384,
);
/// RSA key (2048–8192 bits), PSS with SHA-512.
pub(crate) static RSA_PSS_SHA512: Verifier = Verifier::new(
    "rsa-pss-sha512",
    alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA512,
    &lc::RSA_PSS_2048_8192_SHA512,
);
/// Ed25519.
pub(crate) static ED25519: Verifier =
    Verifier::new("ed25519", alg_id::ED25519, alg_id::ED25519, &lc::ED25519);
