//! In-memory mutual-auth handshakes, our provider on both sides: every suite × group the build offers,
//! with P-256, P-384, RSA-2048 and Ed25519 certificates.

mod common;

use common::*;
use rustls::{CipherSuite, Connection, NamedGroup, ProtocolVersion, SignatureAlgorithm};

const IDENTITIES: [(&str, SignatureAlgorithm); 4] = [
    ("foo-ca1", SignatureAlgorithm::ECDSA),
    ("p384-ca1", SignatureAlgorithm::ECDSA),
    ("rsa2048-ca1", SignatureAlgorithm::RSA),
    ("ed25519-ca1", SignatureAlgorithm::ED25519),
];

/// Whether a TLS 1.2 suite can authenticate with a key of this algorithm.
fn tls12_compatible(suite: CipherSuite, alg: SignatureAlgorithm) -> bool {
    let ecdsa_suite = format!("{suite:?}").contains("ECDSA");
    match alg {
        SignatureAlgorithm::RSA => !ecdsa_suite,
        _ => ecdsa_suite,
    }
}

#[test]
fn every_suite_group_and_key_type() {
    let provider = meshtls::provider();
    let mut ran = 0;
    for suite in &provider.cipher_suites {
        let version = suite.version().version;
        for group in &provider.kx_groups {
            if !group.usable_for_version(version) {
                continue;
            }
            for (identity, alg) in IDENTITIES {
                if version == ProtocolVersion::TLSv1_2 && !tls12_compatible(suite.suite(), alg) {
                    continue;
                }
                let p = narrowed(&provider, Some(suite.suite()), Some(group.name()));
                let versions = [suite.version()];
                let client_cfg = client_config(p.clone(), &versions, "foo-ca1").unwrap();
                let server_cfg = server_config(p, &versions, identity).unwrap();
                let (mut client, mut server) = pair(client_cfg, server_cfg, identity);
                handshake(&mut client, &mut server).unwrap_or_else(|e| {
                    panic!("{:?} {:?} {identity}: {e:?}", suite.suite(), group.name())
                });

                assert_eq!(
                    client.negotiated_cipher_suite().unwrap().suite(),
                    suite.suite()
                );
                assert_eq!(
                    server.negotiated_cipher_suite().unwrap().suite(),
                    suite.suite()
                );
                assert_eq!(
                    client.negotiated_key_exchange_group().unwrap().name(),
                    group.name()
                );
                assert_eq!(client.protocol_version(), Some(version));
                assert!(
                    server.peer_certificates().is_some_and(|c| !c.is_empty()),
                    "client cert not received"
                );
                assert!(client.peer_certificates().is_some_and(|c| !c.is_empty()));

                let (mut c, mut s) = (Connection::from(client), Connection::from(server));
                exchange(&mut c, &mut s, b"ping from client");
                exchange(&mut s, &mut c, &[0x5a; 20000]); // spans two records
                ran += 1;
            }
        }
    }
    // TLS 1.3: 4 identities per suite × group; TLS 1.2: 3 ECDSA-suite or 1 RSA-suite identities × 2 NIST groups (+X25519).
    let tls13_suites = provider
        .cipher_suites
        .iter()
        .filter(|s| s.version().version == ProtocolVersion::TLSv1_3)
        .count();
    assert!(
        ran >= tls13_suites * provider.kx_groups.len() * IDENTITIES.len(),
        "ran only {ran} handshakes"
    );
    println!("{ran} handshakes");
}

#[test]
fn hybrid_sends_classical_share_too() {
    // Our client prefers a hybrid; a server offering only the hybrid's ECDH part must complete
    // without a HelloRetryRequest, using the reused classical share.
    let provider = meshtls::provider();
    let (hybrid, classical) = if cfg!(feature = "fips") {
        (NamedGroup::secp256r1MLKEM768, NamedGroup::secp256r1)
    } else {
        (NamedGroup::X25519MLKEM768, NamedGroup::X25519)
    };
    assert_eq!(
        provider.kx_groups[0].name(),
        hybrid,
        "the first group must be the hybrid"
    );
    let versions = versions();
    let client_cfg = client_config(provider.clone(), &versions, "foo-ca1").unwrap();
    let server_cfg = server_config(
        narrowed(&provider, None, Some(classical)),
        &versions,
        "foo-ca1",
    )
    .unwrap();
    let (mut client, mut server) = pair(client_cfg, server_cfg, "foo-ca1");
    let mut flights = 0;
    handshake_filtered(
        &mut client,
        &mut server,
        &mut |b| {
            flights += 1;
            b
        },
        &mut |b| b,
    )
    .unwrap();
    assert_eq!(
        client.negotiated_key_exchange_group().unwrap().name(),
        classical
    );
    // ClientHello, then client Certificate/Finished: no second ClientHello.
    assert_eq!(flights, 2, "expected no HelloRetryRequest");
}

#[test]
fn keys_load_in_every_encoding() {
    let provider = meshtls::provider();
    for file in [
        "foo-ca1",
        "foo-ca1.sec1",
        "p384-ca1",
        "p384-ca1.sec1",
        "rsa2048-ca1",
        "rsa2048-ca1.pkcs1",
        "ed25519-ca1",
    ] {
        let key = provider
            .key_provider
            .load_private_key(key(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(key.public_key().is_some(), "{file}: no public key");
    }
}

#[test]
fn weak_or_unknown_keys_give_typed_errors() {
    let provider = meshtls::provider();
    let err = provider
        .key_provider
        .load_private_key(key("rsa1024-ca1"))
        .unwrap_err();
    let rustls::Error::Other(other) = &err else {
        panic!("untyped error: {err:?}")
    };
    let typed = other
        .0
        .downcast_ref::<meshtls::Error>()
        .expect("a meshtls::Error");
    assert!(matches!(typed, meshtls::Error::KeyPolicy(_)), "{typed:?}");

    let garbage =
        rustls::pki_types::PrivateKeyDer::Pkcs8(vec![0x30, 0x03, 0x02, 0x01, 0x00].into());
    let err = provider.key_provider.load_private_key(garbage).unwrap_err();
    let rustls::Error::Other(other) = &err else {
        panic!("untyped error: {err:?}")
    };
    assert!(
        matches!(
            other.0.downcast_ref::<meshtls::Error>(),
            Some(meshtls::Error::KeyParse(_))
        ),
        "{err:?}"
    );

    let garbage = rustls::pki_types::PrivateKeyDer::Sec1(vec![0xff; 40].into());
    assert!(provider.key_provider.load_private_key(garbage).is_err());
    let garbage = rustls::pki_types::PrivateKeyDer::Pkcs1(Vec::new().into());
    assert!(provider.key_provider.load_private_key(garbage).is_err());
}
