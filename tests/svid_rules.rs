//! X509-SVID and mesh certificate rules, enforced in all three places: on the workload's own
//! certificate (the store refuses it and keeps the previous one), on a server's certificate (the
//! client refuses it inside the handshake, with an alert) and on a client's (the server refuses it
//! the same way). Fixtures are `certs/gen-svid.sh`'s (see certs/README.md).

mod mesh_support;
#[path = "mesh_support/plain.rs"]
mod plain;

use mesh_support::*;
use meshtls::identity::rules::{self, LeafProblem, Role};
use meshtls::Error;
use rustls::AlertDescription;

/// A fixture that breaks a rule: its name, the identity it is for, and what is wrong.
struct Bad {
    name: &'static str,
    id: &'static str,
    problem: fn(&LeafProblem) -> bool,
    alert: AlertDescription,
}

fn bad() -> Vec<Bad> {
    vec![
        Bad {
            name: "twouris-ca1",
            id: FOO_SPIFFE,
            problem: |p| matches!(p, LeafProblem::ManyUris { count: 2 }),
            alert: AlertDescription::BadCertificate,
        },
        Bad {
            name: "noku-ca1",
            id: FOO,
            problem: |p| matches!(p, LeafProblem::NoKeyUsage),
            alert: AlertDescription::UnsupportedCertificate,
        },
        Bad {
            name: "kucertsign-ca1",
            id: FOO,
            problem: |p| {
                matches!(
                    p,
                    LeafProblem::LeafCaUsage {
                        usage: "keyCertSign"
                    }
                )
            },
            alert: AlertDescription::UnsupportedCertificate,
        },
        Bad {
            name: "kucrlsign-ca1",
            id: FOO,
            problem: |p| matches!(p, LeafProblem::LeafCaUsage { usage: "cRLSign" }),
            alert: AlertDescription::UnsupportedCertificate,
        },
        Bad {
            name: "kuencipher-ca1",
            id: FOO,
            problem: |p| matches!(p, LeafProblem::NoDigitalSignature),
            alert: AlertDescription::UnsupportedCertificate,
        },
        Bad {
            name: "nopath-ca1",
            id: "spiffe://cluster.local",
            problem: |p| matches!(p, LeafProblem::NoPath { uri } if uri == "spiffe://cluster.local"),
            alert: AlertDescription::BadCertificate,
        },
        Bad {
            name: "longtd-ca1",
            id: FOO,
            problem: |p| {
                matches!(p, LeafProblem::BadUri { reason, .. }
                    if reason.to_string().contains("longer than 255 bytes"))
            },
            alert: AlertDescription::BadCertificate,
        },
    ]
}

#[test]
fn check_cert_and_the_rules_agree_on_every_bad_fixture() {
    for case in bad() {
        let (leaf, chain) = leaf_and_chain(case.name);
        let chain: Vec<Vec<u8>> = chain.into_iter().map(|c| c.0).collect();
        for role in [Role::Server, Role::Client, Role::Workload] {
            let problems = rules::check(&leaf.0, &chain, role);
            assert!(
                problems.iter().any(case.problem),
                "{} as {role:?}: {problems:?}",
                case.name
            );
            assert!(rules::identities(&leaf.0, &chain, role).is_err());
        }
    }
}

#[test]
fn the_store_refuses_them_and_keeps_the_previous_certificate() {
    for case in bad() {
        let local: meshtls::Id = case.id.parse().unwrap_or_else(|_| id(FOO));
        let (mut store, rx) =
            meshtls::creds::watch(local, name(FOO), &read("ca1.crt.pem")).unwrap();
        let err = set(&mut store, case.name).expect_err(case.name);
        match &err {
            Error::Leaf(problem) => assert!((case.problem)(problem), "{}: {err}", case.name),
            other => panic!("{}: {other:?}", case.name),
        }
        assert!(rx.served().certificate.is_none(), "{}", case.name);
    }
}

#[tokio::test]
async fn a_client_refuses_such_a_server_inside_the_handshake() {
    let (_c, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    for case in bad() {
        let (addr, mut outcome) = plain::server(case.name).await;
        let target = match case.id.parse() {
            Ok(server_id) => meshtls::ClientTls::new(meshtls::ServerId(server_id), name(FOO)),
            Err(_) => target(FOO, FOO),
        };
        let err = connect(&bar, addr, target).await.expect_err(case.name);
        match mesh_error(&err) {
            Some(Error::Leaf(problem)) => assert!((case.problem)(problem), "{}: {err}", case.name),
            other => panic!("{}: {other:?} ({err})", case.name),
        }
        let seen = outcome.recv().await.unwrap();
        assert_eq!(
            plain::alert(&seen),
            Some(case.alert),
            "{}: {seen:?}",
            case.name
        );
    }
}

#[tokio::test]
async fn a_server_refuses_such_a_client_inside_the_handshake() {
    let (_s, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    for case in bad() {
        let seen = plain::client(Some(case.name), addr).await;
        assert_eq!(
            plain::alert(&seen),
            Some(case.alert),
            "{}: {seen:?}",
            case.name
        );
        let err = accepted.recv().await.unwrap().tls.expect_err(case.name);
        match mesh_error(&err) {
            Some(Error::Leaf(problem)) => assert!((case.problem)(problem), "{}: {err}", case.name),
            other => panic!("{}: {other:?} ({err})", case.name),
        }
    }
}

#[tokio::test]
async fn two_uri_sans_can_no_longer_pass_as_the_first() {
    // The finding: a client requiring spiffe foo connected, while the server recorded the same
    // certificate's client as its first SAN, spiffe://evil.local/ns/x/sa/y. Now neither side lets
    // it through, and no server records a connection.
    let (_s, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    let seen = plain::client(Some("twouris-ca1"), addr).await;
    assert!(seen.is_err());
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert!(matches!(
        mesh_error(&err),
        Some(Error::Leaf(LeafProblem::ManyUris { count: 2 }))
    ));
}

#[tokio::test]
async fn what_the_rules_allow_still_connects() {
    // 255-byte trust domain, no basicConstraints (RFC 5280: CA:FALSE), a server-only EKU on a
    // server and a client-only EKU on a client: each is what its side needs.
    let (_c, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    let maxtd = rules::identities(
        &leaf_and_chain("maxtd-ca1").0 .0,
        &[] as &[&[u8]],
        Role::Workload,
    )
    .unwrap()
    .spiffe()
    .cloned()
    .unwrap();
    assert_eq!(maxtd.trust_domain().len(), 255);
    for (cert, server_id) in [
        ("maxtd-ca1", maxtd.to_string()),
        ("nobc-ca1", FOO.to_string()),
        ("serveronly-ca1", FOO.to_string()),
    ] {
        let (addr, mut outcome) = plain::server(cert).await;
        let target = meshtls::ClientTls::new(meshtls::ServerId(id(&server_id)), name(FOO));
        let io = connect(&bar, addr, target).await;
        assert!(io.is_ok(), "{cert}: {:?}", io.err());
        assert!(outcome.recv().await.unwrap().is_ok(), "{cert}");
    }

    let (_s, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    assert_eq!(plain::client(Some("clientonly-ca1"), addr).await, Ok(()));
    let tls = accepted.recv().await.unwrap().tls.unwrap();
    assert!(
        matches!(tls, meshtls::ServerTls::Established { client_id: Some(c), .. } if c.to_string() == BAR)
    );

    // The other way round, each misses what its side needs: webpki refuses the usage.
    let seen = plain::client(Some("serveronly-ca1"), addr).await;
    assert_eq!(
        plain::alert(&seen),
        Some(AlertDescription::UnsupportedCertificate)
    );
    assert!(accepted.recv().await.unwrap().tls.is_err());
    let (addr, _outcome) = plain::server("clientonly-ca1").await;
    let err = connect(&bar, addr, target(FOO, BAR)).await.unwrap_err();
    assert!(
        matches!(mesh_error(&err), Some(Error::Untrusted { .. })),
        "{err}"
    );
}
