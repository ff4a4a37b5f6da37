//! Signature verification for certificate chains and handshake signatures (rustls-webpki calls these).
//!
//! Offered: ECDSA P-256/P-384 with SHA-256/384, RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512 for
//! 2048–8192-bit moduli, and Ed25519. There is deliberately no SHA-1 and no RSA under 2048 bits:
//! a certificate signed that way has no verifier here, so webpki rejects it.

use aws_lc_rs::signature::{self as lc, UnparsedPublicKey, VerificationAlgorithm};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};
use rustls::SignatureScheme;

use super::approved;

/// One (public-key algorithm, signature algorithm) pair, verified by aws-lc-rs.
pub(crate) struct Verifier {
    name: &'static str,
    public_key_alg: AlgorithmIdentifier,
    signature_alg: AlgorithmIdentifier,
    lc: &'static dyn VerificationAlgorithm,
}

// === impl Verifier ===

/// Debug output is the verifier's short stable name (used by status output and tests).
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

macro_rules! verifier {
    ($id:ident, $name:literal, $pk:ident, $sig:ident, $lc:ident) => {
        #[doc = concat!("Verifies ", $name, ".")]
        pub(crate) static $id: Verifier = Verifier {
            name: $name,
            public_key_alg: alg_id::$pk,
            signature_alg: alg_id::$sig,
            lc: &lc::$lc,
        };
    };
}

verifier!(
    ECDSA_P256_SHA256,
    "ecdsa-p256-sha256",
    ECDSA_P256,
    ECDSA_SHA256,
    ECDSA_P256_SHA256_ASN1
);
verifier!(
    ECDSA_P256_SHA384,
    "ecdsa-p256-sha384",
    ECDSA_P256,
    ECDSA_SHA384,
    ECDSA_P256_SHA384_ASN1
);
verifier!(
    ECDSA_P384_SHA256,
    "ecdsa-p384-sha256",
    ECDSA_P384,
    ECDSA_SHA256,
    ECDSA_P384_SHA256_ASN1
);
verifier!(
    ECDSA_P384_SHA384,
    "ecdsa-p384-sha384",
    ECDSA_P384,
    ECDSA_SHA384,
    ECDSA_P384_SHA384_ASN1
);
verifier!(
    RSA_PKCS1_SHA256,
    "rsa-pkcs1-sha256",
    RSA_ENCRYPTION,
    RSA_PKCS1_SHA256,
    RSA_PKCS1_2048_8192_SHA256
);
verifier!(
    RSA_PKCS1_SHA384,
    "rsa-pkcs1-sha384",
    RSA_ENCRYPTION,
    RSA_PKCS1_SHA384,
    RSA_PKCS1_2048_8192_SHA384
);
verifier!(
    RSA_PKCS1_SHA512,
    "rsa-pkcs1-sha512",
    RSA_ENCRYPTION,
    RSA_PKCS1_SHA512,
    RSA_PKCS1_2048_8192_SHA512
);
verifier!(
    RSA_PSS_SHA256,
    "rsa-pss-sha256",
    RSA_ENCRYPTION,
    RSA_PSS_SHA256,
    RSA_PSS_2048_8192_SHA256
);
verifier!(
    RSA_PSS_SHA384,
    "rsa-pss-sha384",
    RSA_ENCRYPTION,
    RSA_PSS_SHA384,
    RSA_PSS_2048_8192_SHA384
);
verifier!(
    RSA_PSS_SHA512,
    "rsa-pss-sha512",
    RSA_ENCRYPTION,
    RSA_PSS_SHA512,
    RSA_PSS_2048_8192_SHA512
);
verifier!(ED25519, "ed25519", ED25519, ED25519, ED25519);

/// What rustls and webpki use: every verifier, and the TLS signature schemes we offer in order of
/// preference, each mapped to its verifiers (TLS 1.3 uses the first; TLS 1.2 tries them in turn).
pub(crate) static ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        &ECDSA_P256_SHA256,
        &ECDSA_P256_SHA384,
        &ECDSA_P384_SHA256,
        &ECDSA_P384_SHA384,
        &RSA_PKCS1_SHA256,
        &RSA_PKCS1_SHA384,
        &RSA_PKCS1_SHA512,
        &RSA_PSS_SHA256,
        &RSA_PSS_SHA384,
        &RSA_PSS_SHA512,
        &ED25519,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[&ECDSA_P384_SHA384, &ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[&ECDSA_P256_SHA256, &ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[&ED25519]),
        (SignatureScheme::RSA_PSS_SHA512, &[&RSA_PSS_SHA512]),
        (SignatureScheme::RSA_PSS_SHA384, &[&RSA_PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA256, &[&RSA_PSS_SHA256]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[&RSA_PKCS1_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[&RSA_PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[&RSA_PKCS1_SHA256]),
    ],
};
