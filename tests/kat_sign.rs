//! Signing through the provider's key loader (`provider().key_provider`, rustls's `KeyProvider`):
//! the scheme each key type picks for what a TLS 1.3 or TLS 1.2 peer offers, sign → verify round
//! trips with the provider's verifiers, and Ed25519 known answers (deterministic signatures). ECDSA
//! and RSA signing are randomized: the curated CAVP SigGen file carries no private keys, so they are
//! covered by round trips with the `certs/` keys.

mod kat;

use std::sync::Arc;

use kat::{text, verify_spki};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::SigningKey;
use rustls::SignatureScheme;

fn load(der: PrivateKeyDer<'static>) -> Arc<dyn SigningKey> {
    meshtls::provider()
        .key_provider
        .load_private_key(der)
        .expect("key loads")
}

/// What a peer offers: every scheme we can verify, minus those TLS 1.3 forbids (PKCS#1 v1.5) for
/// TLS 1.3.
fn offered(tls13: bool) -> Vec<SignatureScheme> {
    meshtls::provider()
        .signature_verification_algorithms
        .supported_schemes()
        .into_iter()
        .filter(|s| !tls13 || !format!("{s:?}").starts_with("RSA_PKCS1"))
        .collect()
}

/// Signs with the scheme `key` chose from `offer`, verifies with the provider's verifier(s) for that
/// scheme and the key's own SPKI (and fails on a changed message); returns the scheme.
fn round_trip(key: &dyn SigningKey, offer: &[SignatureScheme], msg: &[u8]) -> SignatureScheme {
    let signer = key.choose_scheme(offer).expect("a scheme is chosen");
    let scheme = signer.scheme();
    assert!(offer.contains(&scheme));
    let sig = signer.sign(msg).unwrap();
    let spki = key.public_key().expect("SPKI");
    let verifiers = meshtls::provider()
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, v)| *v)
        .expect("scheme has verifiers");
    assert!(
        verifiers
            .iter()
            .any(|v| verify_spki(*v, spki.as_ref(), msg, &sig)),
        "{scheme:?}: own signature does not verify"
    );
    let mut other = msg.to_vec();
    other[0] ^= 1;
    assert!(!verifiers
        .iter()
        .any(|v| verify_spki(*v, spki.as_ref(), &other, &sig)));
    scheme
}

/// Each key type under `certs/` signs with the scheme a handshake would pick, per TLS version, and
/// its signature verifies.
#[test]
fn certs_keys_choose_sign_verify() {
    use SignatureScheme::*;
    let cases = [
        ("foo-ca1", ECDSA_NISTP256_SHA256, ECDSA_NISTP256_SHA256),
        ("p384-ca1", ECDSA_NISTP384_SHA384, ECDSA_NISTP384_SHA384),
        ("rsa2048-ca1", RSA_PSS_SHA256, RSA_PSS_SHA256),
        ("ed25519-ca1", ED25519, ED25519),
    ];
    for (name, tls13, tls12) in cases {
        let path = format!("{}/certs/{name}.key.pem", env!("CARGO_MANIFEST_DIR"));
        let key = load(PrivateKeyDer::from_pem_file(&path).unwrap());
        let msg = format!("meshtls signing round trip {name}").into_bytes();
        assert_eq!(
            round_trip(key.as_ref(), &offered(true), &msg),
            tls13,
            "{name} TLS 1.3"
        );
        assert_eq!(
            round_trip(key.as_ref(), &offered(false), &msg),
            tls12,
            "{name} TLS 1.2"
        );
        // A peer offering nothing this key can do gets no signer.
        assert!(
            key.choose_scheme(&[ECDSA_SHA1_Legacy, RSA_PKCS1_SHA1])
                .is_none(),
            "{name}"
        );
    }
    // RSA with a TLS 1.2 peer that offers only PKCS#1 v1.5 (the strongest hash first in our order).
    let path = format!("{}/certs/rsa2048-ca1.key.pem", env!("CARGO_MANIFEST_DIR"));
    let rsa = load(PrivateKeyDer::from_pem_file(&path).unwrap());
    let pkcs1 = [RSA_PKCS1_SHA512, RSA_PKCS1_SHA384, RSA_PKCS1_SHA256];
    assert_eq!(
        round_trip(rsa.as_ref(), &pkcs1, b"pkcs1 only"),
        RSA_PKCS1_SHA256
    );
    assert_eq!(
        round_trip(rsa.as_ref(), &pkcs1[..1], b"pkcs1 only"),
        RSA_PKCS1_SHA512
    );
    println!("certs keys: {} key types signed and verified", cases.len());
}

/// Ed25519 `sign.input` (SUPERCOP reference): each line is seed ‖ public key, public key, message,
/// signature ‖ message. The seed is loaded as a PKCS#8 (RFC 8410) key through the key provider;
/// Ed25519 is deterministic, so our signature must equal the reference one, and it must verify.
#[test]
fn ed25519_sign_input() {
    let body = text("rfc/ed25519_sign.input_first32");
    let mut n = 0;
    for line in body.lines() {
        let f: Vec<Vec<u8>> = line.split(':').take(4).map(kat::unhex).collect();
        let (seed, public, msg, sig) = (&f[0][..32], &f[1], &f[2], &f[3][..64]);
        assert_eq!(&f[0][32..], &public[..]);
        let pkcs8 = [
            &[
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
            ][..],
            &[0x04, 0x22, 0x04, 0x20],
            seed,
        ]
        .concat();
        let key = load(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)));
        let spki = key.public_key().unwrap();
        assert!(spki.as_ref().ends_with(public));
        let signer = key.choose_scheme(&[SignatureScheme::ED25519]).unwrap();
        assert_eq!(signer.sign(msg).unwrap(), sig, "line {n}");
        assert!(verify_spki(
            kat::verifier("ed25519"),
            spki.as_ref(),
            msg,
            sig
        ));
        n += 1;
    }
    kat::ran("rfc ed25519_sign.input_first32", n, body.lines().count());
}
