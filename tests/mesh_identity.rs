//! Identity decided inside the handshake, over loopback TCP: the client's check of the server (and
//! the identities it accepts), the server's authorization policy, SPIFFE federation (a bundle per
//! trust domain), and what the receiver says it serves.

mod mesh_support;
#[path = "mesh_support/plain.rs"]
mod plain;

use std::io::ErrorKind;
use std::time::{Duration, SystemTime};

use mesh_support::*;
use meshtls::authz::{Policy, Refused, Rule, Unauthenticated};
use meshtls::identity::TrustDomain;
use meshtls::{ClientTls, Confirmation, Credentials, Error, ServerId, ServerTls};
use rustls::AlertDescription;

const BAR_SPIFFE: &str = "spiffe://cluster.local/ns/ns1/sa/bar";
const BAZ: &str = "spiffe://other.example/ns/ns2/sa/baz";

fn other_example() -> TrustDomain {
    "other.example".parse().unwrap()
}

fn client_id(tls: &std::io::Result<ServerTls>) -> Option<String> {
    match tls {
        Ok(ServerTls::Established { client_id, .. }) => client_id.as_ref().map(|c| c.to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn a_wrong_server_is_refused_before_the_server_sees_a_connection() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    let err = connect(&bar, addr, target(FOO, BAR)).await.unwrap_err();
    assert!(
        matches!(mesh_error(&err), Some(Error::IdMismatch { .. })),
        "{err}"
    );
    // The server got the client's bad_certificate alert: no established connection, no client id.
    let seen = accepted.recv().await.unwrap().tls.unwrap_err();
    assert_eq!(
        tls_error(&seen),
        Some(&rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
        )),
        "{seen}"
    );

    // A set of acceptable identities: the server may prove any one of them.
    let io = connect(&bar, addr, target(FOO, BAR).accepting([ServerId(id(FOO))]))
        .await
        .unwrap();
    assert_eq!(io.server_id(), Some(&ServerId(id(FOO))));
    assert!(accepted.recv().await.unwrap().tls.is_ok());
}

#[tokio::test]
async fn the_servers_policy_decides_who_connects() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let server = foo.server().with_policy(Policy::allow([Rule::Id(id(BAR))]));
    let (addr, mut accepted) = serve(server.clone()).await;
    let (_b, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (_sb, spiffe_bar) = workload(BAR_SPIFFE, BAR, "roots.pem", "spiffe-bar-ca1");

    let mut io = tokio::io::BufReader::new(connect(&bar, addr, target(FOO, FOO)).await.unwrap());
    assert_eq!(talk(&mut io, "allowed").await, BAR);
    assert_eq!(
        client_id(&accepted.recv().await.unwrap().tls).as_deref(),
        Some(BAR)
    );

    // Refused: the server says why, and the client's connect fails with the access_denied alert
    // (it waits for the server to accept it; in TLS 1.3 its own handshake ends first).
    let refused = connect(&spiffe_bar, addr, target(FOO, FOO)).await;
    let refused = refused.map(|_| ()).unwrap_err();
    assert_eq!(
        tls_error(&refused),
        Some(&rustls::Error::AlertReceived(
            AlertDescription::AccessDenied
        )),
        "{refused}"
    );
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    match mesh_error(&err) {
        Some(Error::Unauthorized(Refused::NotAllowed { identities })) => {
            assert_eq!(identities, &vec![id(BAR_SPIFFE)]);
        }
        other => panic!("{other:?}"),
    }
    // Without that wait, connect returns at once and the first read carries the refusal.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let skip = spiffe_bar
        .new_client()
        .with_confirmation(Confirmation::Skip);
    let (io, _) = skip
        .new_client(target(FOO, FOO))
        .connect(tcp)
        .await
        .unwrap();
    assert!(matches!(
        mesh_error(&accepted.recv().await.unwrap().tls.unwrap_err()),
        Some(Error::Unauthorized(_))
    ));
    let mut io = tokio::io::BufReader::new(io);
    let mut line = String::new();
    let read = tokio::io::AsyncBufReadExt::read_line(&mut io, &mut line).await;
    let read = read.unwrap_err();
    assert_eq!(
        tls_error(&read),
        Some(&rustls::Error::AlertReceived(
            AlertDescription::AccessDenied
        ))
    );

    // Without a certificate: certificate_required, and the policy's reason.
    let seen = plain::client(None, addr).await;
    assert_eq!(
        plain::alert(&seen),
        Some(AlertDescription::CertificateRequired)
    );
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert!(matches!(
        mesh_error(&err),
        Some(Error::Unauthorized(Refused::Unauthenticated))
    ));

    // Swapped at run time, on every clone of the server: a trust domain, a path prefix, a DNS
    // suffix, and clients without certificates.
    for (policy, who, allowed) in [
        (
            Policy::allow([Rule::TrustDomain("cluster.local".parse().unwrap())]),
            BAR_SPIFFE,
            true,
        ),
        (
            Policy::allow([Rule::TrustDomain("cluster.local".parse().unwrap())]),
            BAR,
            false,
        ),
        (
            Policy::allow([Rule::SpiffePrefix(
                "spiffe://cluster.local/ns/ns1".parse().unwrap(),
            )]),
            BAR_SPIFFE,
            true,
        ),
        (
            Policy::allow([Rule::SpiffePrefix(
                "spiffe://cluster.local/ns/ns2".parse().unwrap(),
            )]),
            BAR_SPIFFE,
            false,
        ),
        (
            Policy::allow([Rule::DnsSuffix(
                "ns1.serviceaccount.identity.linkerd.cluster.local"
                    .parse()
                    .unwrap(),
            )]),
            BAR,
            true,
        ),
        (
            Policy::allow([Rule::DnsSuffix(
                "ns2.serviceaccount.identity.linkerd.cluster.local"
                    .parse()
                    .unwrap(),
            )]),
            BAR,
            false,
        ),
    ] {
        server.set_policy(policy.clone());
        let rx = if who == BAR { &bar } else { &spiffe_bar };
        let io = connect(rx, addr, target(FOO, FOO)).await;
        let tls = accepted.recv().await.unwrap().tls;
        assert_eq!(tls.is_ok(), allowed, "{policy:?} for {who}: {tls:?}");
        // The client's connect ends as the server decided.
        assert_eq!(io.is_ok(), allowed, "{policy:?} for {who}");
        if let Ok(io) = io {
            assert_eq!(client_id(&tls).as_deref(), Some(who));
            let mut io = tokio::io::BufReader::new(io);
            assert_eq!(talk(&mut io, "hi").await, who);
        }
    }
    server.set_policy(Policy::allow([]).with_unauthenticated(Unauthenticated::Allow));
    assert_eq!(plain::client(None, addr).await, Ok(()));
    assert_eq!(client_id(&accepted.recv().await.unwrap().tls), None);
    assert_eq!(server.policy().unauthenticated(), Unauthenticated::Allow);
}

#[tokio::test]
async fn federation_verifies_each_trust_domain_against_its_own_bundle() {
    let (mut store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;

    // Before federation, ca3's workloads are strangers.
    let seen = plain::client(Some("spiffe-baz-ca3"), addr).await;
    assert_eq!(plain::alert(&seen), Some(AlertDescription::UnknownCA));
    assert!(accepted.recv().await.unwrap().tls.is_err());

    store
        .set_bundle(other_example(), &read("ca3.crt.pem"))
        .unwrap();
    assert_eq!(plain::client(Some("spiffe-baz-ca3"), addr).await, Ok(()));
    assert_eq!(
        client_id(&accepted.recv().await.unwrap().tls).as_deref(),
        Some(BAZ)
    );

    // ca3 may not vouch for cluster.local, nor for a mesh DNS name beside its own SPIFFE ID.
    let seen = plain::client(Some("spiffe-evil-ca3"), addr).await;
    assert_eq!(plain::alert(&seen), Some(AlertDescription::UnknownCA));
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert!(
        matches!(mesh_error(&err), Some(Error::Untrusted { .. })),
        "{err}"
    );
    assert_eq!(
        plain::client(Some("spiffe-baz-dnsfoo-ca3"), addr).await,
        Ok(())
    );
    assert_eq!(
        client_id(&accepted.recv().await.unwrap().tls).as_deref(),
        Some(BAZ)
    );

    // The same strictness when a CA is in the mesh roots too: cluster.local's own bundle decides.
    let both = [read("ca1.crt.pem"), read("ca3.crt.pem")].concat();
    store.set_roots(&both).unwrap();
    store
        .set_bundle("cluster.local".parse().unwrap(), &read("ca1.crt.pem"))
        .unwrap();
    let seen = plain::client(Some("spiffe-evil-ca3"), addr).await;
    assert_eq!(plain::alert(&seen), Some(AlertDescription::UnknownCA));
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    match mesh_error(&err) {
        Some(Error::Untrusted { reason, .. }) => {
            assert!(
                reason.contains("bundle of trust domain cluster.local"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(foo.served().bundles.len(), 2);

    // Removed: baz is a stranger again (ca3 is in the mesh roots now, so put them back to ca1).
    store.set_roots(&read("ca1.crt.pem")).unwrap();
    store.remove_bundle(&other_example()).unwrap();
    let seen = plain::client(Some("spiffe-baz-ca3"), addr).await;
    assert_eq!(plain::alert(&seen), Some(AlertDescription::UnknownCA));
    assert!(accepted.recv().await.unwrap().tls.is_err());
}

#[tokio::test]
async fn a_federated_workload_and_a_client_of_one() {
    // A workload of other.example, in a mesh whose roots are ca1: its certificate needs its bundle.
    let (mut baz_store, baz) =
        meshtls::creds::watch(id(BAZ), name(FOO), &read("ca1.crt.pem")).unwrap();
    let err = set(&mut baz_store, "spiffe-baz-ca3").unwrap_err();
    assert!(matches!(err, Error::Untrusted { .. }), "{err}");
    baz_store
        .set_bundle(other_example(), &read("ca3.crt.pem"))
        .unwrap();
    set(&mut baz_store, "spiffe-baz-ca3").unwrap();
    // A bundle for its domain that does not hold its CA is refused, and the old one kept.
    let err = baz_store
        .set_bundle(other_example(), &read("ca2.crt.pem"))
        .unwrap_err();
    assert!(matches!(err, Error::Untrusted { .. }), "{err}");
    let err = baz_store.remove_bundle(&other_example()).unwrap_err();
    assert!(matches!(err, Error::Untrusted { .. }), "{err}");

    // foo federates with other.example; baz serves, foo connects and requires baz's SPIFFE ID.
    let (mut foo_store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    foo_store
        .set_bundle(other_example(), &read("ca3.crt.pem"))
        .unwrap();
    let (addr, mut accepted) = serve(baz.server()).await;
    let want = ClientTls::new(ServerId(id(BAZ)), name(FOO));
    let mut io = tokio::io::BufReader::new(connect(&foo, addr, want).await.unwrap());
    assert_eq!(talk(&mut io, "federated").await, FOO);
    assert_eq!(
        client_id(&accepted.recv().await.unwrap().tls).as_deref(),
        Some(FOO)
    );

    // A ca3 server that also carries foo's DNS name does not prove it.
    let (addr, _outcome) = plain::server("spiffe-baz-dnsfoo-ca3").await;
    let err = connect(&foo, addr, target(FOO, FOO)).await.unwrap_err();
    match mesh_error(&err) {
        Some(Error::IdMismatch { found, .. }) => assert_eq!(found, &vec![BAZ.to_string()]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_receiver_says_what_it_serves_and_when_it_changes() {
    let (mut store, mut rx) =
        meshtls::creds::watch(id(FOO), name(FOO), &read("roots.pem")).unwrap();
    let served = rx.served();
    assert!(served.certificate.is_none());
    assert_eq!(served.roots.len(), 2);
    assert!(served.expires_within(Duration::ZERO, SystemTime::now()));

    let waiter = {
        let mut rx = rx.clone();
        tokio::spawn(async move { rx.changed().await })
    };
    set(&mut store, "foo-ca1").unwrap();
    let changed = tokio::time::timeout(STEP, waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let cert = changed.certificate.clone().unwrap();
    assert_eq!(cert.identities, vec![id(FOO)]);
    assert!(!cert.serial.is_empty() && cert.serial.contains(':'));
    // foo-ca1 is valid 2025-01-01 .. 2125-01-01.
    let year = Duration::from_secs(365 * 86_400);
    assert!(cert.not_before < SystemTime::UNIX_EPOCH + 56 * year);
    assert!(cert.not_after > SystemTime::UNIX_EPOCH + 154 * year);
    let now = SystemTime::now();
    assert!(!changed.expires_within(Duration::from_secs(86_400), now));
    assert!(changed.expires_within(100 * year, now));
    assert_eq!(rx.served(), changed);

    // An expiry in the past is refused; what is served does not change.
    let (leaf, chain) = leaf_and_chain("bar-ca1");
    let past = SystemTime::now() - Duration::from_secs(60);
    let err = store
        .set_certificate(leaf, chain, key_der("bar-ca1"), past)
        .unwrap_err();
    assert!(matches!(err, Error::ExpiryInPast { .. }), "{err}");
    assert_eq!(rx.served(), changed);

    // This receiver has not seen the update yet: `changed` returns it at once. Then the store goes.
    assert_eq!(rx.changed().await.unwrap(), changed);
    drop(store);
    assert!(matches!(rx.changed().await, Err(Error::StoreClosed)));
}
