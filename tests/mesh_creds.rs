//! Credentials: every bad input to `watch` and `set_certificate` gets its typed error and leaves the
//! previous certificate serving; rotation under traffic; expired and not-yet-valid peers refused.

mod mesh_support;
#[path = "mesh_support/plain.rs"]
mod plain;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mesh_support::*;
use meshtls::creds;
use meshtls::{Credentials, DerX509, Error, Whose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::CertificateError;
use tokio::io::BufReader;
use tokio::net::TcpStream;

#[test]
fn watch_refuses_bad_roots() {
    let watch = |pem: &[u8]| {
        creds::watch(id(FOO), name(FOO), pem)
            .map(|_| ())
            .unwrap_err()
    };

    assert!(matches!(watch(b""), Error::RootsEmpty));
    assert!(matches!(watch(b"not pem at all\n"), Error::RootsEmpty));
    // PEM, but no certificate in it.
    assert!(matches!(watch(&read("ca1.key.pem")), Error::RootsEmpty));
    // A BEGIN without an END.
    let mut truncated = read("ca1.crt.pem");
    truncated.truncate(truncated.len() - 30);
    assert!(
        matches!(watch(&truncated), Error::RootsPem(_)),
        "{:?}",
        watch(&truncated)
    );
    // Valid PEM around bytes that are not a certificate: the second in the bundle.
    let mut bundle = read("ca1.crt.pem");
    bundle.extend_from_slice(
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    match watch(&bundle) {
        Error::RootsUnparsable { index, .. } => assert_eq!(index, 2),
        other => panic!("{other:?}"),
    }
    // Two anchors at once (a root rotation) are fine.
    assert!(creds::watch(id(FOO), name(FOO), &read("roots.pem")).is_ok());
}

#[test]
fn ids_and_names_parse_with_typed_errors() {
    use meshtls::identity::InvalidId;
    assert!(matches!(
        "foo.".parse::<meshtls::Id>(),
        Err(InvalidId::TrailingDot)
    ));
    assert!(matches!(
        "spiffe://cluster.local/ns//sa".parse::<meshtls::Id>(),
        Err(InvalidId::BadSpiffe(_))
    ));
    assert!(matches!(
        FOO_SPIFFE.parse::<meshtls::ServerName>(),
        Err(InvalidId::BadLabel(_))
    ));
}

/// What the update is, leaf, chain, key, and a check of the error it must give.
type BadUpdate = (
    &'static str,
    DerX509,
    Vec<DerX509>,
    Vec<u8>,
    fn(&Error) -> bool,
);

/// Each bad certificate update, and the error it must give.
fn bad_updates() -> Vec<BadUpdate> {
    let (foo, foo_chain) = leaf_and_chain("foo-ca1");
    let cert = |n: &str| leaf_and_chain(n).0;
    let mut cases: Vec<BadUpdate> = vec![
        (
            "garbage key",
            foo.clone(),
            vec![],
            b"not a key".to_vec(),
            |e| matches!(e, Error::KeyParse(_)),
        ),
        ("empty key", foo.clone(), vec![], vec![], |e| {
            matches!(e, Error::KeyParse(_))
        }),
        (
            "garbage leaf",
            DerX509(b"not a cert".to_vec()),
            vec![],
            key_der("foo-ca1"),
            |e| matches!(e, Error::CertParse(_)),
        ),
        (
            "wrong key",
            foo.clone(),
            foo_chain.clone(),
            key_der("unmatched"),
            |e| matches!(e, Error::KeyMismatch),
        ),
        (
            "bar's key",
            foo.clone(),
            foo_chain,
            key_der("bar-ca1"),
            |e| matches!(e, Error::KeyMismatch),
        ),
        (
            "wrong identity",
            cert("bar-ca1"),
            vec![],
            key_der("bar-ca1"),
            |e| matches!(e, Error::IdMismatch { expected, found } if expected == FOO && found == &[BAR.to_string()]),
        ),
        (
            "no SANs",
            cert("nosan-ca1"),
            vec![],
            key_der("nosan-ca1"),
            // The rules refuse it before the identity is compared.
            |e| {
                matches!(
                    e,
                    Error::Leaf(meshtls::identity::rules::LeafProblem::NoIdentity)
                )
            },
        ),
        (
            "expired",
            cert("expired-ca1"),
            vec![],
            key_der("expired-ca1"),
            |e| {
                matches!(
                    e,
                    Error::Untrusted {
                        whose: Whose::Workload,
                        source: rustls::Error::InvalidCertificate(
                            CertificateError::Expired | CertificateError::ExpiredContext { .. }
                        ),
                        ..
                    }
                )
            },
        ),
        (
            "not yet valid",
            cert("notyet-ca1"),
            vec![],
            key_der("notyet-ca1"),
            |e| {
                matches!(
                    e,
                    Error::Untrusted {
                        whose: Whose::Workload,
                        source: rustls::Error::InvalidCertificate(
                            CertificateError::NotValidYet
                                | CertificateError::NotValidYetContext { .. }
                        ),
                        ..
                    }
                )
            },
        ),
        (
            "intermediate missing",
            cert("foo-int1"),
            vec![],
            key_der("foo-int1"),
            |e| {
                matches!(
                    e,
                    Error::Untrusted {
                        whose: Whose::Workload,
                        source: rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                        ..
                    }
                )
            },
        ),
        (
            "RSA-1024",
            cert("rsa1024-ca1"),
            vec![],
            key_der("rsa1024-ca1"),
            |e| matches!(e, Error::KeyPolicy(_)),
        ),
    ];
    // The ca2 leaf, for a store that trusts only ca1 (see the test).
    cases.push((
        "untrusted root",
        cert("foo-ca2"),
        vec![],
        key_der("foo-ca2"),
        |e| {
            matches!(
                e,
                Error::Untrusted {
                    whose: Whose::Workload,
                    source: rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                    ..
                }
            )
        },
    ));
    cases
}

#[tokio::test]
async fn bad_updates_are_refused_and_the_old_certificate_keeps_serving() {
    let (mut store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo.server()).await;
    let foo_leaf = leaf_and_chain("foo-ca1").0 .0;

    for (what, leaf, chain, key, expected) in bad_updates() {
        let err = store
            .set_certificate(leaf, chain, key, in_a_day())
            .expect_err(what);
        assert!(expected(&err), "{what}: unexpected error {err:?}");
        assert!(!err.to_string().is_empty());

        // Still serving foo-ca1, as server...
        let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
        assert_eq!(
            io.negotiated().peer_certificate.as_deref(),
            Some(&foo_leaf[..]),
            "{what}"
        );
        let mut io = BufReader::new(io);
        assert_eq!(talk(&mut io, what).await, BAR);
    }

    // ...and as client.
    let (_s, bar_server) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, _accepted) = serve(bar_server.server()).await;
    let mut io = BufReader::new(connect(&foo, addr, target(BAR, BAR)).await.unwrap());
    assert_eq!(talk(&mut io, "client side").await, FOO);
}

#[tokio::test]
async fn every_key_encoding_and_an_intermediate_are_accepted() {
    let (mut store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo.server()).await;

    let (leaf, chain) = leaf_and_chain("foo-ca1");
    let sec1 = PrivateKeyDer::from_pem_file(path("foo-ca1.sec1.key.pem")).unwrap();
    assert!(matches!(sec1, PrivateKeyDer::Sec1(_)));
    store
        .set_certificate(leaf, chain, sec1.secret_der().to_vec(), in_a_day())
        .unwrap();

    // foo under the intermediate int1: the chain carries it.
    set(&mut store, "foo-int1").unwrap();
    let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
    assert_eq!(
        io.negotiated().peer_certificate.as_deref(),
        Some(&leaf_and_chain("foo-int1").0 .0[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_traffic() {
    // foo trusts both anchors (a root rotation in progress) and rotates from a ca1 to a ca2
    // certificate while bar keeps connecting.
    let (mut store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo.server()).await;
    let old_leaf = leaf_and_chain("foo-ca1").0 .0;
    let new_leaf = leaf_and_chain("foo-ca2").0 .0;

    // Connections open before the rotation.
    let mut before = Vec::new();
    for _ in 0..4 {
        let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
        assert_eq!(
            io.negotiated().peer_certificate.as_deref(),
            Some(&old_leaf[..])
        );
        let mut io = BufReader::new(io);
        assert_eq!(talk(&mut io, "before").await, BAR);
        before.push(io);
    }

    // Four clients handshaking in a loop while foo rotates ca1 -> ca2 -> ca1 -> ca2; none may fail.
    let ok = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let traffic: Vec<_> = (0..4)
        .map(|_| {
            let (bar, ok, stop_rx) = (bar.clone(), ok.clone(), stop_rx.clone());
            let (old_leaf, new_leaf) = (old_leaf.clone(), new_leaf.clone());
            tokio::spawn(async move {
                let mut seen = [0usize; 2];
                for i in 0..100_000 {
                    if *stop_rx.borrow() {
                        break;
                    }
                    let io = connect(&bar, addr, target(FOO, FOO))
                        .await
                        .unwrap_or_else(|e| panic!("handshake {i} failed during rotation: {e}"));
                    let leaf = io.negotiated().peer_certificate.clone().unwrap();
                    assert!(leaf == old_leaf || leaf == new_leaf);
                    seen[usize::from(leaf == new_leaf)] += 1;
                    let mut io = BufReader::new(io);
                    assert_eq!(talk(&mut io, "during").await, BAR);
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                seen
            })
        })
        .collect();
    let wait_for = |n: usize| {
        let ok = ok.clone();
        async move {
            let target = ok.load(Ordering::SeqCst) + n;
            while ok.load(Ordering::SeqCst) < target {
                tokio::task::yield_now().await;
            }
        }
    };
    for cert in ["foo-ca2", "foo-ca1", "foo-ca2"] {
        wait_for(20).await;
        set(&mut store, cert).unwrap();
    }
    wait_for(20).await;
    stop_tx.send(true).unwrap();
    let mut seen = [0usize; 2];
    for task in traffic {
        let s = task.await.unwrap();
        seen[0] += s[0];
        seen[1] += s[1];
    }
    assert!(
        seen[0] >= 20 && seen[1] >= 20,
        "both certificates served: {seen:?}"
    );
    println!(
        "{} handshakes across three rotations ({} on ca1, {} on ca2), none failed",
        ok.load(Ordering::SeqCst),
        seen[0],
        seen[1]
    );

    // The old connections still work, on the old certificate.
    for io in &mut before {
        ping(io, "after").await;
        assert_eq!(
            io.get_ref().negotiated().peer_certificate.as_deref(),
            Some(&old_leaf[..])
        );
    }
    // New ones get the new certificate.
    let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
    assert_eq!(
        io.negotiated().peer_certificate.as_deref(),
        Some(&new_leaf[..])
    );
}

/// A plain rustls client presenting fixture `cert` (TLS `versions`) to `addr`.
async fn plain_client(
    cert: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    addr: std::net::SocketAddr,
) {
    let (chain, key) = rustls_chain_and_key(cert);
    let roots = rustls_roots("roots.pem");
    let config = rustls::ClientConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let _ = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(rustls::pki_types::ServerName::try_from(FOO).unwrap(), tcp)
        .await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_peers_are_refused() {
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (foo_addr, mut accepted) = serve(foo.server()).await;
    let cases = [
        ("expired-ca1", "expired", CertificateError::Expired),
        ("notyet-ca1", "not yet valid", CertificateError::NotValidYet),
    ];
    for (cert, what, want) in cases {
        // Our client refuses such a server...
        let (addr, _outcome) = plain::server(cert).await;
        let err = connect(&bar, addr, target(FOO, FOO)).await.unwrap_err();
        let got = tls_error(&err).cloned();
        assert!(
            matches!(got, Some(rustls::Error::InvalidCertificate(ref e)) if e == &want || format!("{e:?}").starts_with(&format!("{want:?}"))),
            "server {what}: {err:?}"
        );
        // ...and our server refuses such a client.
        plain_client(cert, &[&rustls::version::TLS13], foo_addr).await;
        let err = accepted.recv().await.unwrap().tls.unwrap_err();
        let got = tls_error(&err).cloned();
        assert!(
            matches!(got, Some(rustls::Error::InvalidCertificate(ref e)) if e == &want || format!("{e:?}").starts_with(&format!("{want:?}"))),
            "client {what}: {err:?}"
        );
    }
}

#[cfg(feature = "tls12")]
#[tokio::test]
async fn the_mesh_speaks_tls13_only() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    plain_client("bar-ca1", &[&rustls::version::TLS12], addr).await;
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert_eq!(
        tls_error(&err),
        Some(&rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOfferedOrEnabled
        )),
        "{err:?}"
    );
}
