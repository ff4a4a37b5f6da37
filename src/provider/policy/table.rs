//! The rows of the policy table, and the provider lists built from them.

use std::sync::OnceLock;

use rustls::crypto::{SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::SignatureVerificationAlgorithm;
use rustls::{SignatureScheme, SupportedCipherSuite};

use super::row::{key, row, Algorithm, Approval, Kind, Object};
#[cfg(feature = "tls12")]
use crate::provider::tls12;
use crate::provider::{kx, tls13, verify};

/// `Some(object)` when the `cfg` holds, else `None`: rows stay in the table in every build, the
/// code behind them does not.
macro_rules! built_if {
    ($cfg:meta, $object:expr) => {{
        #[cfg($cfg)]
        let object = Some($object);
        #[cfg(not($cfg))]
        let object = None;
        object
    }};
}

const AES_GCM_TLS13: Approval = Approval::Approved {
    basis: "AES-GCM (SP 800-38D) with the nonce built in the module (TLS 1.3, IG C.H); \
            HKDF key schedule (SP 800-56C Rev. 2, SP 800-135)",
};
const AES_GCM_TLS12: Approval = Approval::Approved {
    basis: "AES-GCM (SP 800-38D) with the counter nonce built in the module (TLS 1.2, IG C.H); \
            TLS 1.2 KDF with extended master secret (SP 800-135, RFC 7627)",
};
const CHACHA: Approval = Approval::NotApproved {
    reason: "ChaCha20-Poly1305 is not a FIPS 140-3 approved AEAD",
};
const ECDH: Approval = Approval::Approved {
    basis: "ECDH (SP 800-56A Rev. 3)",
};
const X25519: Approval = Approval::NotApproved {
    reason: "X25519 is not an SP 800-56A Rev. 3 curve",
};
const ECDSA: Approval = Approval::Approved {
    basis: "ECDSA (FIPS 186-5)",
};
const RSA_PSS: Approval = Approval::Approved {
    basis: "RSASSA-PSS (FIPS 186-5), 2048 to 8192-bit keys",
};
const RSA_PKCS1: Approval = Approval::Approved {
    basis: "RSASSA-PKCS1-v1_5 (FIPS 186-5), 2048 to 8192-bit keys",
};
const ED25519: Approval = Approval::Approved {
    basis: "EdDSA Ed25519 (FIPS 186-5)",
};

/// RSA moduli accepted for certificates and private keys (SP 800-131A Rev. 2: at least 2048; the
/// verifiers' upper bound is 8192).
pub(crate) const RSA_BITS: (usize, usize) = (2048, 8192);

/// The table. Within each kind, rows are in the provider's preference order. Wire ids are the IANA
/// TLS registry values; `tests/policy.rs` checks each against the object's own id.
pub(super) static ROWS: &[Algorithm] = &[
    // Protocol versions.
    row(
        Kind::Version,
        "TLSv1.3",
        0x0304,
        Approval::Approved {
            basis: "TLS 1.3 (SP 800-52 Rev. 2); HKDF key schedule (SP 800-56C Rev. 2, SP 800-135)",
        },
        Object::Version(Some(&rustls::version::TLS13)),
    ),
    row(
        Kind::Version,
        "TLSv1.2",
        0x0303,
        Approval::Approved {
            basis: "TLS 1.2 (SP 800-52 Rev. 2) with the extended master secret required \
                    (SP 800-135, RFC 7627)",
        },
        Object::Version(built_if!(feature = "tls12", &rustls::version::TLS12)),
    ),
    // TLS 1.3 cipher suites.
    row(
        Kind::Suite,
        "TLS_AES_256_GCM_SHA384",
        0x1302,
        AES_GCM_TLS13,
        Object::Suite(Some(tls13::TLS13_AES_256_GCM_SHA384)),
    ),
    row(
        Kind::Suite,
        "TLS_AES_128_GCM_SHA256",
        0x1301,
        AES_GCM_TLS13,
        Object::Suite(Some(tls13::TLS13_AES_128_GCM_SHA256)),
    ),
    row(
        Kind::Suite,
        "TLS_CHACHA20_POLY1305_SHA256",
        0x1303,
        CHACHA,
        Object::Suite(built_if!(
            not(feature = "fips"),
            tls13::TLS13_CHACHA20_POLY1305_SHA256
        )),
    ),
    // TLS 1.2 cipher suites (feature `tls12`).
    row(
        Kind::Suite,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02c,
        AES_GCM_TLS12,
        Object::Suite(built_if!(
            feature = "tls12",
            tls12::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        )),
    ),
    row(
        Kind::Suite,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02b,
        AES_GCM_TLS12,
        Object::Suite(built_if!(
            feature = "tls12",
            tls12::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        )),
    ),
    row(
        Kind::Suite,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9,
        CHACHA,
        Object::Suite(built_if!(
            all(feature = "tls12", not(feature = "fips")),
            tls12::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        )),
    ),
    row(
        Kind::Suite,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xc030,
        AES_GCM_TLS12,
        Object::Suite(built_if!(
            feature = "tls12",
            tls12::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        )),
    ),
    row(
        Kind::Suite,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc02f,
        AES_GCM_TLS12,
        Object::Suite(built_if!(
            feature = "tls12",
            tls12::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )),
    ),
    row(
        Kind::Suite,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca8,
        CHACHA,
        Object::Suite(built_if!(
            all(feature = "tls12", not(feature = "fips")),
            tls12::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        )),
    ),
    // Key-exchange groups. A client sends a share for the first (for a hybrid, also its bare ECDH
    // part); the others cost a HelloRetryRequest.
    row(
        Kind::Group,
        "X25519MLKEM768",
        0x11ec,
        Approval::NotApproved {
            reason: "hybrid with ML-KEM-768 first and X25519, which NIST does not approve, second",
        },
        Object::Group(built_if!(
            not(feature = "fips"),
            &kx::X25519MLKEM768 as &dyn SupportedKxGroup
        )),
    ),
    row(
        Kind::Group,
        "SecP256r1MLKEM768",
        0x11eb,
        Approval::Approved {
            basis: "hybrid: ECDH P-256 (SP 800-56A Rev. 3) first, then ML-KEM-768 (FIPS 203), \
                    combined as SP 800-56C Rev. 2 allows",
        },
        Object::Group(Some(&kx::SECP256R1MLKEM768)),
    ),
    row(
        Kind::Group,
        "x25519",
        0x001d,
        X25519,
        Object::Group(built_if!(
            not(feature = "fips"),
            &kx::X25519 as &dyn SupportedKxGroup
        )),
    ),
    row(
        Kind::Group,
        "secp256r1",
        0x0017,
        ECDH,
        Object::Group(Some(&kx::SECP256R1)),
    ),
    row(
        Kind::Group,
        "secp384r1",
        0x0018,
        ECDH,
        Object::Group(Some(&kx::SECP384R1)),
    ),
    // Handshake signature schemes, each with the verifiers it may use.
    row(
        Kind::SignatureScheme,
        "ecdsa_secp384r1_sha384",
        0x0503,
        ECDSA,
        Object::Scheme(&[&verify::ECDSA_P384_SHA384, &verify::ECDSA_P256_SHA384]),
    ),
    row(
        Kind::SignatureScheme,
        "ecdsa_secp256r1_sha256",
        0x0403,
        ECDSA,
        Object::Scheme(&[&verify::ECDSA_P256_SHA256, &verify::ECDSA_P384_SHA256]),
    ),
    row(
        Kind::SignatureScheme,
        "ed25519",
        0x0807,
        ED25519,
        Object::Scheme(&[&verify::ED25519]),
    ),
    row(
        Kind::SignatureScheme,
        "rsa_pss_rsae_sha512",
        0x0806,
        RSA_PSS,
        Object::Scheme(&[&verify::RSA_PSS_SHA512]),
    ),
    row(
        Kind::SignatureScheme,
        "rsa_pss_rsae_sha384",
        0x0805,
        RSA_PSS,
        Object::Scheme(&[&verify::RSA_PSS_SHA384]),
    ),
    row(
        Kind::SignatureScheme,
        "rsa_pss_rsae_sha256",
        0x0804,
        RSA_PSS,
        Object::Scheme(&[&verify::RSA_PSS_SHA256]),
    ),
    row(
        Kind::SignatureScheme,
        "rsa_pkcs1_sha512",
        0x0601,
        RSA_PKCS1,
        Object::Scheme(&[&verify::RSA_PKCS1_SHA512]),
    ),
    row(
        Kind::SignatureScheme,
        "rsa_pkcs1_sha384",
        0x0501,
        RSA_PKCS1,
        Object::Scheme(&[&verify::RSA_PKCS1_SHA384]),
    ),
    row(
        Kind::SignatureScheme,
        "rsa_pkcs1_sha256",
        0x0401,
        RSA_PKCS1,
        Object::Scheme(&[&verify::RSA_PKCS1_SHA256]),
    ),
    // Key types, each with the certificate signature algorithms verified with such a key.
    key(
        "ECDSA P-256",
        Approval::Approved {
            basis: "ECDSA on P-256 (FIPS 186-5, SP 800-186)",
        },
        &[&verify::ECDSA_P256_SHA256, &verify::ECDSA_P256_SHA384],
        None,
    ),
    key(
        "ECDSA P-384",
        Approval::Approved {
            basis: "ECDSA on P-384 (FIPS 186-5, SP 800-186)",
        },
        &[&verify::ECDSA_P384_SHA256, &verify::ECDSA_P384_SHA384],
        None,
    ),
    key(
        "RSA",
        Approval::Approved {
            basis: "RSA, 2048 to 8192-bit modulus (FIPS 186-5, SP 800-131A Rev. 2)",
        },
        &[
            &verify::RSA_PKCS1_SHA256,
            &verify::RSA_PKCS1_SHA384,
            &verify::RSA_PKCS1_SHA512,
            &verify::RSA_PSS_SHA256,
            &verify::RSA_PSS_SHA384,
            &verify::RSA_PSS_SHA512,
        ],
        Some(RSA_BITS),
    ),
    key("Ed25519", ED25519, &[&verify::ED25519], None),
];

/// The provider's cipher suites: the offered suite rows, in order.
pub(crate) fn cipher_suites() -> Vec<SupportedCipherSuite> {
    ROWS.iter().filter_map(Algorithm::suite).collect()
}

/// The provider's key-exchange groups: the offered group rows, in order.
pub(crate) fn kx_groups() -> Vec<&'static dyn SupportedKxGroup> {
    ROWS.iter().filter_map(Algorithm::group).collect()
}

/// The provider's signature verification: every key row's verifiers (`all`), and each offered
/// scheme row mapped to its verifiers.
pub(crate) fn signature_algorithms() -> WebPkiSupportedAlgorithms {
    type Mapping = (
        SignatureScheme,
        &'static [&'static dyn SignatureVerificationAlgorithm],
    );
    static ALL: OnceLock<Vec<&'static dyn SignatureVerificationAlgorithm>> = OnceLock::new();
    static MAPPING: OnceLock<Vec<Mapping>> = OnceLock::new();
    let offered = |kind| ROWS.iter().filter(move |r| r.kind == kind && r.offered());
    let all = ALL.get_or_init(|| {
        offered(Kind::Key)
            .flat_map(|r| r.verifiers().iter().copied())
            .collect()
    });
    let mapping = MAPPING.get_or_init(|| {
        offered(Kind::SignatureScheme)
            .filter_map(|r| Some((SignatureScheme::from(r.wire?), r.verifiers())))
            .collect()
    });
    WebPkiSupportedAlgorithms { all, mapping }
}
