//! The CA rotation a mesh does (ca1 -> {ca1, ca2} -> certificates on ca2 -> ca2), under load:
//! long-lived connections outlive it, continuous new handshakes never fail, and afterwards the side
//! left on ca1 is refused. Then the rotation API's refusals: a bad bundle changes nothing.

mod mesh_support;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mesh_support::*;
use meshtls::creds::{self, Fingerprint, Receiver, Store};
use meshtls::{ClientId, Error, ServerTls, Whose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{AlertDescription, CertificateError};
use tokio::io::BufReader;
use tokio::sync::mpsc::UnboundedReceiver;

/// Connections opened before the rotation and kept through it.
const LONG_LIVED: usize = 50;
/// Tasks each looping connect + one echo round trip.
const LOADERS: usize = 6;
/// Handshakes each phase of the rotation lets run before the next step.
const PER_PHASE: usize = 150;

/// The SHA-256 fingerprints of the certificates in `file`, computed here (not by meshtls).
fn fingerprints(file: &str) -> Vec<Fingerprint> {
    CertificateDer::pem_file_iter(path(file))
        .unwrap()
        .map(|c| {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &c.unwrap());
            Fingerprint(digest.as_ref().try_into().unwrap())
        })
        .collect()
}

fn leaf(name: &str) -> Vec<u8> {
    leaf_and_chain(name).0 .0
}

/// `f`'s output if it is ready at its first poll (a change already published, say).
async fn now_or_never<F: Future>(f: F) -> Option<F::Output> {
    tokio::task::unconstrained(tokio::time::timeout(Duration::ZERO, f))
        .await
        .ok()
}

/// What the load saw.
#[derive(Default)]
struct Load {
    attempts: AtomicUsize,
    /// Handshakes that got in, by the server certificate: [foo-ca1, foo-ca2].
    on: [AtomicUsize; 2],
    failures: Mutex<Vec<String>>,
}

impl Load {
    async fn wait_for(&self, more: usize) {
        let target = self.attempts.load(Ordering::SeqCst) + more;
        while self.attempts.load(Ordering::SeqCst) < target {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// One new connection bar -> foo and one echo; which foo certificate it got (index into `leaves`).
async fn one_handshake(
    bar: &Receiver,
    addr: SocketAddr,
    leaves: &[Vec<u8>; 2],
) -> Result<usize, String> {
    let io = connect(bar, addr, target(FOO, FOO))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let cert = io.negotiated().peer_certificate.clone();
    let which = leaves
        .iter()
        .position(|l| Some(l) == cert.as_ref())
        .ok_or("a server certificate outside {foo-ca1, foo-ca2}")?;
    let who = try_talk(&mut BufReader::new(io), "load")
        .await
        .map_err(|e| format!("echo: {e}"))?;
    if who != BAR {
        return Err(format!("the server saw {who:?}, not bar"));
    }
    Ok(which)
}

fn spawn_loader(
    bar: Receiver,
    addr: SocketAddr,
    load: Arc<Load>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let leaves = [leaf("foo-ca1"), leaf("foo-ca2")];
    tokio::spawn(async move {
        while !*stop.borrow() {
            match one_handshake(&bar, addr, &leaves).await {
                Ok(which) => load.on[which].fetch_add(1, Ordering::SeqCst),
                Err(e) => {
                    load.failures.lock().unwrap().push(e);
                    0
                }
            };
            load.attempts.fetch_add(1, Ordering::SeqCst);
        }
    })
}

/// Both stores take `roots`; both receivers then serve exactly `expected`.
fn set_roots_both(
    stores: [&mut Store; 2],
    rxs: [&Receiver; 2],
    roots: &[u8],
    expected: &[Fingerprint],
) {
    for store in stores {
        store.set_roots(roots).unwrap();
    }
    for rx in rxs {
        assert_eq!(rx.served().roots, expected, "{}", rx.local_id());
    }
}

/// The server-side reports so far: (handshakes from bar, other outcomes).
fn drain(accepted: &mut UnboundedReceiver<Accepted>) -> (usize, Vec<String>) {
    let (mut from_bar, mut other) = (0, Vec::new());
    while let Ok(a) = accepted.try_recv() {
        match a.tls {
            Ok(ServerTls::Established {
                client_id: Some(ClientId(id)),
                ..
            }) if id.to_string() == BAR => from_bar += 1,
            outcome => other.push(format!("{outcome:?}")),
        }
    }
    (from_bar, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_rotation_under_load() {
    bounded(rotation()).await;
}

async fn rotation() {
    let (ca2, both) = (
        read("ca2.crt.pem"),
        [read("ca1.crt.pem"), read("ca2.crt.pem")].concat(),
    );
    let (fp1, fp2) = (fingerprints("ca1.crt.pem"), fingerprints("ca2.crt.pem"));
    let fp_both = [fp1.clone(), fp2.clone()].concat();
    assert_eq!(fp_both, fingerprints("roots.pem"));
    let (mut foo_store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (mut bar_store, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    assert_eq!((&foo.served().roots, &bar.served().roots), (&fp1, &fp1));
    let (addr, mut accepted) = serve(foo.server()).await;

    let mut long_lived = Vec::new();
    for i in 0..LONG_LIVED {
        let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
        assert_eq!(io.negotiated().peer_certificate, Some(leaf("foo-ca1")));
        let mut io = BufReader::new(io);
        assert_eq!(talk(&mut io, &format!("long-lived {i}")).await, BAR);
        long_lived.push(io);
    }

    let load = Arc::new(Load::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let loaders: Vec<_> = (0..LOADERS)
        .map(|_| spawn_loader(bar.clone(), addr, load.clone(), stop_rx.clone()))
        .collect();

    load.wait_for(PER_PHASE).await;
    // Step 1: both trust the old and the new root.
    set_roots_both(
        [&mut foo_store, &mut bar_store],
        [&foo, &bar],
        &both,
        &fp_both,
    );
    load.wait_for(PER_PHASE).await;
    // Step 2: both move to certificates from the new root.
    set(&mut foo_store, "foo-ca2").unwrap();
    set(&mut bar_store, "bar-ca2").unwrap();
    load.wait_for(PER_PHASE).await;
    // Step 3: both drop the old root.
    set_roots_both([&mut foo_store, &mut bar_store], [&foo, &bar], &ca2, &fp2);
    load.wait_for(PER_PHASE).await;
    stop_tx.send(true).unwrap();
    for task in loaders {
        task.await.expect("a loader panicked");
    }

    let failures = load.failures.lock().unwrap().clone();
    let on = [0, 1].map(|i| load.on[i].load(Ordering::SeqCst));
    let attempts = load.attempts.load(Ordering::SeqCst);
    println!(
        "{attempts} new handshakes during the rotation: {} on foo-ca1, {} on foo-ca2, {} failed",
        on[0],
        on[1],
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failed during the rotation: {:?}",
        &failures[..failures.len().min(5)]
    );
    assert_eq!(on[0] + on[1], attempts);
    assert!(attempts >= 4 * PER_PHASE, "only {attempts} handshakes");
    assert!(
        on[0] > 0 && on[1] > 0,
        "both server certificates seen: {on:?}"
    );

    let mut broken = Vec::new();
    for (i, io) in long_lived.iter_mut().enumerate() {
        if let Err(e) = try_ping(io, &format!("after {i}")).await {
            broken.push(format!("{i}: {e}"));
        }
        assert_eq!(
            io.get_ref().negotiated().peer_certificate,
            Some(leaf("foo-ca1"))
        );
    }
    println!(
        "{} of {LONG_LIVED} long-lived connections still echo",
        LONG_LIVED - broken.len()
    );
    assert!(broken.is_empty(), "broken by the rotation: {broken:?}");

    // The server saw each of those handshakes, every one from bar, and nothing else.
    let (from_bar, other) = drain(&mut accepted);
    println!(
        "server: {from_bar} handshakes from bar, {} other outcomes",
        other.len()
    );
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(from_bar, LONG_LIVED + attempts);

    stale_peers_are_refused(&bar, addr, &mut accepted).await;
}

/// Whether `e` is a refusal of `whose` certificate as not issued by a trusted root.
fn unknown_issuer(e: &Error, who: Whose) -> bool {
    let issuer = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    matches!(e, Error::Untrusted { whose, source, .. } if *whose == who && *source == issuer)
}

/// A handshake side that refused its peer's certificate: kind `InvalidData`, `Untrusted` about it.
fn assert_refused_peer(err: &std::io::Error) {
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err:?}");
    let refused = mesh_error(err).is_some_and(|e| unknown_issuer(e, Whose::Peer));
    assert!(refused, "{err:?}");
}

/// A handshake side that the other refused: it got the `unknown_ca` alert.
fn assert_got_unknown_ca(err: &std::io::Error) {
    let alert = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
    assert_eq!(tls_error(err), Some(&alert), "{err:?}");
}

/// After the rotation (foo and bar on ca2 only): what stayed on ca1 is refused.
async fn stale_peers_are_refused(
    bar: &Receiver,
    foo_addr: SocketAddr,
    accepted: &mut UnboundedReceiver<Accepted>,
) {
    // A client still on ca1 (roots and certificate) refuses foo's ca2 certificate first, before
    // sending its own, so foo sees only its alert.
    let (_s, stale) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    let err = connect(&stale, foo_addr, target(FOO, FOO)).await;
    assert_refused_peer(&err.unwrap_err());
    assert_got_unknown_ca(&accepted.recv().await.unwrap().tls.unwrap_err());

    // A client that took {ca1, ca2} but still presents bar-ca1: foo refuses its certificate.
    let (mut half, half_rx) = creds::watch(id(BAR), name(BAR), &read("roots.pem")).unwrap();
    set(&mut half, "bar-ca1").unwrap();
    let client_side = match connect(&half_rx, foo_addr, target(FOO, FOO)).await {
        // TLS 1.3: the client may finish before the server has judged its certificate.
        Ok(io) => try_talk(&mut BufReader::new(io), "in?").await.unwrap_err(),
        Err(e) => e,
    };
    assert_refused_peer(&accepted.recv().await.unwrap().tls.unwrap_err());
    assert_got_unknown_ca(&client_side);

    // A server still on ca1: bar refuses it.
    let (_s, old_foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (old_addr, mut old_accepted) = serve(old_foo.server()).await;
    assert_refused_peer(&connect(bar, old_addr, target(FOO, FOO)).await.unwrap_err());
    assert_got_unknown_ca(&old_accepted.recv().await.unwrap().tls.unwrap_err());
}

/// A bundle `set_roots` must refuse, and a check of its error.
type BadRoots = (&'static str, Vec<u8>, fn(&Error) -> bool);

fn bad_roots() -> Vec<BadRoots> {
    let mut truncated = read("ca1.crt.pem");
    truncated.truncate(truncated.len() - 30);
    let not_a_cert =
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    vec![
        ("empty", vec![], |e| matches!(e, Error::RootsEmpty)),
        ("garbage", b"not pem at all\n".to_vec(), |e| {
            matches!(e, Error::RootsEmpty)
        }),
        ("a key, no certificate", read("ca1.key.pem"), |e| {
            matches!(e, Error::RootsEmpty)
        }),
        ("truncated PEM", truncated, |e| {
            matches!(e, Error::RootsPem(_))
        }),
        ("PEM around garbage", not_a_cert.to_vec(), |e| {
            matches!(e, Error::RootsUnparsable { index: 1, .. })
        }),
        (
            "ca2 only, serving a ca1 certificate",
            read("ca2.crt.pem"),
            |e| unknown_issuer(e, Whose::Workload),
        ),
    ]
}

#[tokio::test]
async fn refused_roots_change_nothing_and_accepted_ones_are_announced() {
    bounded(roots_api()).await;
}

async fn roots_api() {
    let (mut foo_store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (mut bar_store, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo.server()).await;
    let fp1 = fingerprints("ca1.crt.pem");
    let foo_serial = foo.served().certificate.as_ref().unwrap().serial.clone();

    // Consume what is pending (the first certificate), so that only new publications count.
    let mut watcher = foo.clone();
    while now_or_never(watcher.changed()).await.is_some() {}

    for (what, pem, expected) in bad_roots() {
        for (store, rx) in [(&mut foo_store, &foo), (&mut bar_store, &bar)] {
            let err = store.set_roots(&pem).expect_err(what);
            assert!(
                expected(&err),
                "{what}, {}: unexpected {err:?}",
                rx.local_id()
            );
            assert_eq!(rx.served().roots, fp1, "{what}");
        }
        assert!(
            now_or_never(watcher.changed()).await.is_none(),
            "{what} was published"
        );
        // Both still on ca1: foo admits bar-ca1 and bar accepts foo-ca1.
        let io = connect(&bar, addr, target(FOO, FOO))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            io.negotiated().peer_certificate,
            Some(leaf("foo-ca1")),
            "{what}"
        );
        assert_eq!(talk(&mut BufReader::new(io), what).await, BAR);
    }

    // A good bundle wakes the watcher, with the new fingerprints and the same certificate.
    let waiter = tokio::spawn(async move {
        let served = watcher.changed().await;
        (served, watcher)
    });
    foo_store.set_roots(&read("roots.pem")).unwrap();
    let (served, mut watcher) = waiter.await.unwrap();
    let served = served.unwrap();
    assert_eq!(served.roots, fingerprints("roots.pem"));
    assert_eq!(served.certificate.as_ref().unwrap().serial, foo_serial);
    assert_eq!(foo.served(), served);

    // Onto ca2: the certificate first, then the roots; each announced.
    set(&mut foo_store, "foo-ca2").unwrap();
    let served = watcher.changed().await.unwrap();
    assert_ne!(served.certificate.as_ref().unwrap().serial, foo_serial);
    foo_store.set_roots(&read("ca2.crt.pem")).unwrap();
    assert_eq!(
        watcher.changed().await.unwrap().roots,
        fingerprints("ca2.crt.pem")
    );
    // bar, still on ca1 only, now refuses foo.
    assert_refused_peer(&connect(&bar, addr, target(FOO, FOO)).await.unwrap_err());

    drop(foo_store);
    assert!(matches!(watcher.changed().await, Err(Error::StoreClosed)));
}
