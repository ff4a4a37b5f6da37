//! Restricting the groups and TLS 1.3 suites a receiver's clients and servers offer and accept
//! ([`Receiver::with_offer`](meshtls::creds::Receiver::with_offer)), over TCP on loopback.

mod mesh_support;

use mesh_support::*;
use meshtls::policy::{self, Kind, Offer};
use meshtls::Error;
use rustls::{CipherSuite, NamedGroup, PeerIncompatible};

#[tokio::test]
async fn both_sides_restricted_to_p256_negotiate_p256_and_the_chosen_suite() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_b, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    // By name on one side, by typed value on the other.
    let by_name = Offer::default()
        .with_groups(["secp256r1"])
        .unwrap()
        .with_suites(["TLS_AES_128_GCM_SHA256"])
        .unwrap();
    let typed = Offer::default()
        .with_groups([NamedGroup::secp256r1])
        .unwrap()
        .with_suites([CipherSuite::TLS13_AES_128_GCM_SHA256])
        .unwrap();
    let (addr, mut accepted) = serve(foo.with_offer(&by_name).server()).await;
    let io = connect(&bar.with_offer(&typed), addr, target(FOO, FOO))
        .await
        .unwrap();
    let n = io.negotiated();
    assert_eq!(n.group, Some(NamedGroup::secp256r1));
    assert_eq!(n.suite, Some(CipherSuite::TLS13_AES_128_GCM_SHA256));
    let mut io = tokio::io::BufReader::new(io);
    assert_eq!(talk(&mut io, "hi").await, BAR);
    assert!(accepted.recv().await.unwrap().tls.is_ok());
}

#[tokio::test]
async fn a_client_restricted_to_a_group_the_server_refuses_fails() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_b, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let p256 = Offer::default().with_groups(["secp256r1"]).unwrap();
    let p384 = Offer::default().with_groups(["secp384r1"]).unwrap();
    let (addr, mut accepted) = serve(foo.with_offer(&p256).server()).await;
    let err = connect(&bar.with_offer(&p384), addr, target(FOO, FOO))
        .await
        .unwrap_err();
    assert!(
        matches!(tls_error(&err), Some(rustls::Error::AlertReceived(_))),
        "{err:?}"
    );
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert_eq!(
        tls_error(&err),
        Some(&rustls::Error::PeerIncompatible(
            PeerIncompatible::NoKxGroupsInCommon
        )),
        "{err:?}"
    );
}

#[test]
fn empty_unknown_and_unavailable_choices_are_refused() {
    let none: [&str; 0] = [];
    assert!(matches!(
        Offer::default().with_groups(none),
        Err(Error::NoAlgorithms { kind: Kind::Group })
    ));
    assert!(matches!(
        Offer::default().with_suites(none),
        Err(Error::NoAlgorithms { kind: Kind::Suite })
    ));
    for (kind, name) in [
        (Kind::Group, "ffdhe2048"),
        (Kind::Suite, "TLS_AES_256_GCM_SHA384x"),
        // A suite name is not a group, nor a TLS 1.2 suite a TLS 1.3 one.
        (Kind::Group, "TLS_AES_256_GCM_SHA384"),
        (Kind::Suite, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ] {
        let got = match kind {
            Kind::Group => Offer::default().with_groups([name]),
            _ => Offer::default().with_suites([name]),
        };
        match got {
            Err(Error::AlgorithmUnavailable {
                kind: k, name: n, ..
            }) => {
                assert_eq!((k, n.as_str()), (kind, name));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // The default is the build's whole list.
    let offer = Offer::default();
    let groups: Vec<_> = policy::table()
        .iter()
        .filter(|r| r.kind == Kind::Group && r.offered())
        .map(|r| r.name)
        .collect();
    assert_eq!(
        offer.groups().iter().map(|r| r.name).collect::<Vec<_>>(),
        groups
    );
}

#[test]
fn x25519_is_refused_exactly_in_the_regulated_build() {
    let got = Offer::default().with_groups(["x25519"]);
    if cfg!(feature = "fips") {
        let err = got.unwrap_err();
        assert!(
            matches!(
                err,
                Error::AlgorithmUnavailable {
                    kind: Kind::Group,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("x25519"), "{err}");
        assert!(Offer::default()
            .with_suites(["TLS_CHACHA20_POLY1305_SHA256"])
            .is_err());
    } else {
        assert_eq!(got.unwrap().groups()[0].name, "x25519");
    }
}
