//! Interop with rustls's built-in *ring* provider (an implementation we did not write), both directions,
//! for every suite and group both sides support; and, in the FIPS build, that a ring peer limited to
//! ChaCha20 or X25519 cannot negotiate with us.

mod common;

use std::sync::Arc;

use common::*;
use rustls::crypto::{ring, CryptoProvider};
use rustls::{CipherSuite, Connection, NamedGroup, ProtocolVersion};

fn ring() -> Arc<CryptoProvider> {
    let p = Arc::new(ring::default_provider());
    assert_ne!(
        format!("{:?}", p.secure_random),
        format!("{:?}", meshtls::provider().secure_random)
    );
    p
}

fn identity_for(suite: CipherSuite, version: ProtocolVersion) -> &'static str {
    if version == ProtocolVersion::TLSv1_2 && format!("{suite:?}").contains("_RSA_") {
        "rsa2048-ca1"
    } else {
        "foo-ca1"
    }
}

#[test]
fn every_common_suite_and_group_both_directions() {
    let (ours, theirs) = (meshtls::provider(), ring());
    let mut ran = 0;
    for suite in ours
        .cipher_suites
        .iter()
        .filter(|s| theirs.cipher_suites.contains(s))
    {
        let version = suite.version().version;
        let versions = [suite.version()];
        for group in ours
            .kx_groups
            .iter()
            .filter(|g| g.usable_for_version(version))
        {
            let name = group.name();
            if !theirs.kx_groups.iter().any(|g| g.name() == name) {
                continue;
            }
            let id = identity_for(suite.suite(), version);
            let us = narrowed(&ours, Some(suite.suite()), Some(name));
            let them = narrowed(&theirs, Some(suite.suite()), Some(name));

            // Our client, ring server.
            let (mut c, mut s) = pair(
                client_config(us.clone(), &versions, "foo-ca1").unwrap(),
                server_config_on(them.clone(), &versions, id).unwrap(),
                id,
            );
            handshake(&mut c, &mut s)
                .unwrap_or_else(|e| panic!("ours->ring {:?} {name:?}: {e:?}", suite.suite()));
            assert_eq!(c.negotiated_cipher_suite().unwrap().suite(), suite.suite());
            assert_eq!(c.negotiated_key_exchange_group().unwrap().name(), name);
            let (mut c, mut s) = (Connection::from(c), Connection::from(s));
            exchange(&mut c, &mut s, b"ours to ring");
            exchange(&mut s, &mut c, &[7u8; 17000]);

            // Ring client, our server.
            let (mut c, mut s) = pair(
                client_config_on(them, &versions, "foo-ca1").unwrap(),
                server_config(us, &versions, id).unwrap(),
                id,
            );
            handshake(&mut c, &mut s)
                .unwrap_or_else(|e| panic!("ring->ours {:?} {name:?}: {e:?}", suite.suite()));
            assert_eq!(s.negotiated_cipher_suite().unwrap().suite(), suite.suite());
            assert_eq!(s.negotiated_key_exchange_group().unwrap().name(), name);
            let (mut c, mut s) = (Connection::from(c), Connection::from(s));
            exchange(&mut c, &mut s, b"ring to ours");
            exchange(&mut s, &mut c, &[9u8; 17000]);
            ran += 2;
        }
    }
    // TLS 1.3: 2 AES suites × (P-256, P-384) × 2 directions at the least.
    assert!(ran >= 8, "only {ran} interop handshakes");
    println!("{ran} interop handshakes with ring");
}

/// A ring peer that offers only `suite` and/or `group`, both directions: must fail in the FIPS build.
#[cfg(feature = "fips")]
fn refused(suite: Option<CipherSuite>, group: Option<NamedGroup>) {
    let versions = versions();
    let them = narrowed(&ring(), suite, group);

    let (mut c, mut s) = pair(
        client_config(meshtls::provider(), &versions, "foo-ca1").unwrap(),
        server_config_on(them.clone(), &versions, "foo-ca1").unwrap(),
        "foo-ca1",
    );
    let err = handshake(&mut c, &mut s).expect_err("our client must refuse");
    println!("our client vs ring server ({suite:?}, {group:?}): {err:?}");
    // ring's server finds nothing in common with us and says so with a handshake_failure alert.
    assert!(
        matches!(&err, Failed::Server(rustls::Error::PeerIncompatible(_))),
        "unexpected failure: {err:?}"
    );

    let (mut c, mut s) = pair(
        client_config_on(them, &versions, "foo-ca1").unwrap(),
        server_config(meshtls::provider(), &versions, "foo-ca1").unwrap(),
        "foo-ca1",
    );
    let err = handshake(&mut c, &mut s).expect_err("our server must refuse");
    println!("ring client vs our server ({suite:?}, {group:?}): {err:?}");
    assert!(
        matches!(&err, Failed::Server(rustls::Error::PeerIncompatible(_))),
        "unexpected failure: {err:?}"
    );
}

#[cfg(feature = "fips")]
#[test]
fn fips_refuses_chacha20_only_peer() {
    refused(Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256), None);
}

#[cfg(feature = "fips")]
#[test]
fn fips_refuses_x25519_only_peer() {
    refused(None, Some(NamedGroup::X25519));
}

#[cfg(not(feature = "fips"))]
#[test]
fn default_build_accepts_chacha20_and_x25519_peer() {
    let versions = [&rustls::version::TLS13];
    let them = narrowed(
        &ring(),
        Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
        Some(NamedGroup::X25519),
    );
    let (mut c, mut s) = pair(
        client_config(meshtls::provider(), &versions, "foo-ca1").unwrap(),
        server_config_on(them, &versions, "foo-ca1").unwrap(),
        "foo-ca1",
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        c.negotiated_cipher_suite().unwrap().suite(),
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
    );
    assert_eq!(
        c.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::X25519
    );
}
