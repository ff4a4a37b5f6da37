//! `meshtls::workload_api` against a real SPIRE server and agent started on this machine
//! (`tests/spire_support`): SVIDs for two workloads and mutual TLS between them (the example
//! `examples/spire.rs`), SVID rotation and X.509 authority rotation under continuous handshakes, an
//! agent killed and restarted, and federation with a second trust domain, including refusals.
//!
//! Every wait here is a readiness wait with a generous bound; nothing asserts on time.

#[path = "../examples/spire.rs"]
#[allow(dead_code)]
mod example;
mod spire_support;

use std::future::Future;
use std::io;
use std::time::{Duration, Instant, SystemTime};

use meshtls::creds::{self, Fingerprint};
use meshtls::ready::{Readiness, Unmet};
use meshtls::workload_api::{Source, Status};
use meshtls::{Credentials, Error};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{AlertDescription, CertificateError};
use spire_support::ca::TestCa;
use spire_support::load::{self, handshake_once, spiffe, Load, Serials, SERVER_NAME};
use spire_support::{Entry, Spire, READY};

const FOO: &str = "spiffe://a.test/foo";
const BAR: &str = "spiffe://a.test/bar";

/// The X509-SVID lifetime in the rotation test: SPIRE renews at half-life (its SVIDs' notBefore is
/// backdated by 10 s), so each workload gets a new SVID every few seconds.
const ROTATING_TTL: u32 = 20;

/// Concurrent clients of a continuous load.
const CLIENTS: usize = 3;

/// Runs blocking harness code (SPIRE commands, readiness polls) on this runtime thread.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Waits until `ready()` holds, polling; panics with `what` after `bound` (a hang, not slowness).
async fn until(what: &str, bound: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + bound;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `future`, or a panic naming `what` if it hangs.
async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(READY, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: hung for {READY:?}"),
    }
}

/// A source's credentials (it is ready).
fn rx(source: &Source) -> creds::Receiver {
    source.receiver().expect("the source is ready")
}

/// SHA-256 fingerprints of the certificates in `pem`, computed here, not by meshtls.
fn fingerprints(pem: &[u8]) -> Vec<Fingerprint> {
    CertificateDer::pem_slice_iter(pem)
        .map(|c| {
            let c = c.expect("PEM certificates");
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &c);
            Fingerprint(digest.as_ref().try_into().expect("32 bytes"))
        })
        .collect()
}

/// The meshtls error inside a handshake's `io::Error`.
fn mesh_error(e: &io::Error) -> Option<&Error> {
    e.get_ref()?.downcast_ref::<Error>()
}

/// Whether `e` is our side refusing the peer's certificate as issued by no anchor we hold for it.
fn refused_unknown_issuer(e: &io::Error) -> bool {
    matches!(
        mesh_error(e),
        Some(Error::Untrusted {
            source: rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            ..
        })
    )
}

/// Whether `e` is the peer's alert saying it knows no CA for our certificate.
fn alerted_unknown_ca(e: &io::Error) -> bool {
    let alert = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
    matches!(
        alert,
        Some(rustls::Error::AlertReceived(AlertDescription::UnknownCA))
    )
}

/// A workload serving a leaf for `id` that `ca` signed, trusting `ca` only. Its store checked the
/// leaf: it chains to `ca` and meets the X509-SVID rules.
fn forged_workload(ca: &mut TestCa, id: &str) -> creds::Receiver {
    let (cert, key) = ca.issue(id).expect("a forged leaf");
    let (leaf, chain) = creds::chain_from_pem(&cert).expect("the forged chain");
    let key = creds::key_from_pem(&key).expect("its key");
    let (mut store, forged) = creds::watch(
        id.parse().expect("an identity"),
        SERVER_NAME.parse().expect("a name"),
        &ca.cert_pem().expect("the CA"),
    )
    .expect("a workload trusting the CA");
    let expiry = SystemTime::now() + Duration::from_secs(3600);
    store
        .set_certificate(leaf, chain, key, expiry)
        .expect("the forged leaf chains to the CA and meets the rules");
    // The receiver keeps the credentials the store last published.
    drop(store);
    forged
}

/// The statuses of `sources`.
fn statuses(sources: [&Source; 2]) -> [Status; 2] {
    sources.map(Source::status)
}

/// The example's two workloads on one agent: each gets its own SVID (same uid selector, picked by
/// SPIFFE ID), they talk mutual TLS with each other's identities proven, and each trusts exactly
/// the server's bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workloads_get_svids_and_talk_mtls() {
    let spire = blocking(|| Spire::with_workloads("a.test", &[FOO, BAR], None))
        .expect("a SPIRE server and agent serving foo and bar");
    let endpoint = spire.endpoint("agent");
    let (foo_id, bar_id) = (spiffe(FOO), spiffe(BAR));
    let foo = example::workload(&endpoint, &foo_id)
        .await
        .expect("foo gets its SVID");
    let bar = example::workload(&endpoint, &bar_id)
        .await
        .expect("bar gets its SVID");

    let (client_seen, server_seen) = bounded("talk", example::talk(&foo, &bar, &foo_id))
        .await
        .expect("bar talks mutual TLS to foo");
    assert_eq!(client_seen, BAR, "foo's server saw bar's SPIFFE ID");
    assert_eq!(server_seen, FOO, "bar's client verified foo's SPIFFE ID");

    let bundle = blocking(|| spire.bundle_pem()).expect("the server's bundle");
    for (source, id) in [(&foo, FOO), (&bar, BAR)] {
        let status = source.status();
        // `healthy` is `source_is_healthy_once_ready`'s subject.
        assert!(status.ready, "{id}: {status:?}");
        assert!(status.updates >= 1, "{id}: {status:?}");
        assert_eq!(status.rejected, 0, "{id}: {status:?}");
        let rx = rx(source);
        assert_eq!(rx.local_id().to_string(), id);
        let served = rx.served();
        let cert = served.certificate.as_ref().expect("an SVID is served");
        let ids: Vec<String> = cert.identities.iter().map(ToString::to_string).collect();
        assert_eq!(ids, [id], "the served SVID is {id}'s");
        assert_eq!(
            served.roots,
            fingerprints(bundle.as_bytes()),
            "{id} trusts exactly the server's bundle"
        );
        assert!(served.bundles.is_empty(), "no federation: {served:?}");
        // Readiness with the source: delivered, and the SVID outside the margin is ready; a
        // margin longer than the SVID's life names it.
        let now = SystemTime::now();
        let report = Readiness::new(&rx)
            .source(source)
            .margin(Duration::from_secs(1))
            .check(now);
        assert!(report.ready && report.unmet.is_empty(), "{id}: {report}");
        let year = Duration::from_secs(365 * 24 * 3600);
        let report = Readiness::new(&rx).source(source).margin(year).check(now);
        assert!(
            !report.ready && matches!(report.unmet[..], [Unmet::CertificateExpiresSoon { .. }]),
            "{id}: {report}"
        );
    }
}

/// `Status::healthy` says "the Workload API stream is up and its last response had a usable SVID":
/// once the source is ready, with the agent up and nothing else happening, it must say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_is_healthy_once_ready() {
    let spire =
        blocking(|| Spire::with_workloads("a.test", &[FOO], None)).expect("SPIRE serving foo");
    let foo = load::workload(&spire.endpoint("agent"), &spiffe(FOO))
        .await
        .expect("foo's SVID");
    let healthy = async {
        while !foo.status().healthy {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // The SVID lives an hour: no second response comes to correct a stale first verdict.
    let waited = tokio::time::timeout(Duration::from_secs(15), healthy).await;
    let status = foo.status();
    assert!(
        waited.is_ok() && status.healthy,
        "ready but never healthy: {status:?}"
    );
    assert_eq!((status.updates, status.stream_errors), (1, 0), "{status:?}");
}

/// Short-lived SVIDs renewed by the agent while clients handshake continuously: every handshake
/// succeeds, and each workload's served SVID (by serial) changes at least twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svid_rotation_under_continuous_handshakes_has_no_failures() {
    let spire = blocking(|| Spire::with_workloads("a.test", &[FOO, BAR], Some(ROTATING_TTL)))
        .expect("SPIRE serving short-lived SVIDs to foo and bar");
    let endpoint = spire.endpoint("agent");
    let (foo_id, bar_id) = (spiffe(FOO), spiffe(BAR));
    let foo = load::workload(&endpoint, &foo_id)
        .await
        .expect("foo's SVID");
    let bar = load::workload(&endpoint, &bar_id)
        .await
        .expect("bar's SVID");
    let (foo_rx, bar_rx) = (rx(&foo), rx(&bar));
    let serials = [Serials::watch(&foo_rx), Serials::watch(&bar_rx)];
    let before = statuses([&foo, &bar]);

    let load = Load::start(&foo_rx, &bar_rx, &foo_id, &bar_id, CLIENTS).await;
    load.more(20).await.expect("handshakes start");
    until("both SVIDs rotated twice", 2 * READY, || {
        serials.iter().all(|s| s.rotations() >= 2)
    })
    .await;
    load.more(20).await.expect("handshakes on the latest SVIDs");
    let report = load.stop().await;

    let rotations = serials.iter().map(Serials::rotations).min().unwrap_or(0);
    let (handshakes, failures) = (report.handshakes, report.failures);
    eprintln!("rotation: {handshakes} handshakes, {failures} failures, {rotations} rotations");
    assert_eq!(failures, 0, "failed handshakes: {:?}", report.errors);
    assert!(handshakes > 0);
    assert!(
        rotations >= 2,
        "serials: {:?}",
        serials.each_ref().map(Serials::serials)
    );
    for ((source, before), id) in [&foo, &bar].iter().zip(&before).zip([FOO, BAR]) {
        let now = source.status();
        assert!(
            now.updates >= before.updates + 2,
            "{id}: {before:?} -> {now:?}"
        );
        assert_eq!(now.rejected, 0, "{id}: {now:?}");
        assert!(now.healthy, "{id}: {now:?}");
    }
}

/// The server's X.509 CA rotated the SPIRE way (prepare, activate, taint the old, revoke it) while
/// clients handshake continuously: both workloads trust both CAs before either SVID moves, both
/// SVIDs end up issued by the new CA (the leaves' authority key IDs), the old CA leaves both
/// bundles, and no handshake fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_rotation_prepare_activate_taint_has_no_failed_handshakes() {
    let spire = blocking(|| Spire::with_workloads("a.test", &[FOO, BAR], None))
        .expect("SPIRE serving foo and bar");
    let endpoint = spire.endpoint("agent");
    let (foo_id, bar_id) = (spiffe(FOO), spiffe(BAR));
    let foo = load::workload(&endpoint, &foo_id)
        .await
        .expect("foo's SVID");
    let bar = load::workload(&endpoint, &bar_id)
        .await
        .expect("bar's SVID");
    let rxs = [rx(&foo), rx(&bar)];
    let roots = || rxs.each_ref().map(|rx| rx.served().roots.len());
    let old = blocking(|| spire.authorities())
        .expect("the server's authorities")
        .active
        .expect("an active authority");

    let load = Load::start(&rxs[0], &rxs[1], &foo_id, &bar_id, CLIENTS).await;
    load.more(30).await.expect("handshakes start");
    let old_issuers = (Some(old.clone()), Some(old.clone()));
    assert_eq!(load.issuers(), old_issuers, "both SVIDs are from {old}");
    assert_eq!(roots(), [1, 1]);

    // 1. Prepare: the new CA joins the bundle; both workloads trust both.
    let new = blocking(|| spire.authority("prepare", None)).expect("prepare");
    until("both sources trust the prepared CA", READY, || {
        roots() == [2, 2]
    })
    .await;
    load.more(30)
        .await
        .expect("handshakes with the prepared CA");
    // 2. Activate: the new CA signs from now on.
    let activated = blocking(|| spire.authority("activate", Some(&new))).expect("activate");
    assert_eq!(activated, new);
    load.more(30).await.expect("handshakes after activate");
    // 3. Taint the old CA: the agent renews every SVID it signed.
    blocking(|| spire.authority("taint", Some(&old))).expect("taint");
    let new_issuers = (Some(new.clone()), Some(new.clone()));
    until("both SVIDs issued by the new CA", READY, || {
        load.issuers() == new_issuers
    })
    .await;
    load.more(30).await.expect("handshakes on the new CA");
    // 4. Revoke the old CA: it leaves the bundle.
    blocking(|| spire.authority("revoke", Some(&old))).expect("revoke");
    until("both sources dropped the old CA", READY, || {
        roots() == [1, 1]
    })
    .await;
    load.more(30).await.expect("handshakes after revoke");
    let report = load.stop().await;

    let (handshakes, failures) = (report.handshakes, report.failures);
    eprintln!(
        "authority rotation: {handshakes} handshakes, {failures} failures, authority {old} -> {new}"
    );
    assert_eq!(failures, 0, "failed handshakes: {:?}", report.errors);
    assert!(handshakes > 0);
    assert_ne!(old, new);
    let shown = blocking(|| spire.authorities()).expect("the server's authorities");
    assert_eq!(shown.active.as_deref(), Some(new.as_str()), "{shown:?}");
    let bundle = blocking(|| spire.bundle_pem()).expect("the server's bundle");
    for rx in &rxs {
        assert_eq!(rx.served().roots, fingerprints(bundle.as_bytes()));
    }
    // Not asserted: `rejected` == 0. While it renews the tainted SVIDs, the agent sometimes answers
    // "no identity issued" for a moment; the source refuses that withdrawal and keeps serving (no
    // handshake failed), and counts it.
    eprintln!("authority rotation: {:?}", statuses([&foo, &bar]));
}

/// The agent killed under continuous handshakes: the sources see the stream fail and go unhealthy,
/// handshakes go on with the last SVIDs; a restarted agent (new join token, same socket) delivers
/// new SVIDs, the sources take them and become healthy, and no handshake fails throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_agent_keeps_last_svid_serving_and_restart_resumes_updates() {
    let mut spire = blocking(|| Spire::with_workloads("a.test", &[FOO, BAR], None))
        .expect("SPIRE serving foo and bar");
    let endpoint = spire.endpoint("agent");
    let (foo_id, bar_id) = (spiffe(FOO), spiffe(BAR));
    let foo = load::workload(&endpoint, &foo_id)
        .await
        .expect("foo's SVID");
    let bar = load::workload(&endpoint, &bar_id)
        .await
        .expect("bar's SVID");
    let rxs = [rx(&foo), rx(&bar)];
    let serials = || {
        rxs.each_ref()
            .map(|rx| rx.served().certificate.clone().map(|c| c.serial))
    };
    let load = Load::start(&rxs[0], &rxs[1], &foo_id, &bar_id, CLIENTS).await;
    load.more(30).await.expect("handshakes start");
    let before = statuses([&foo, &bar]);
    let served_before = serials();

    blocking(|| spire.kill_agent("agent")).expect("kill the agent");
    until("both sources notice the agent is gone", READY, || {
        statuses([&foo, &bar])
            .iter()
            .zip(&before)
            .all(|(now, before)| now.stream_errors > before.stream_errors && !now.healthy)
    })
    .await;
    load.more(100)
        .await
        .expect("handshakes go on with the last SVIDs");
    let down = statuses([&foo, &bar]);
    assert_eq!(
        serials(),
        served_before,
        "nothing new came while the agent was down"
    );
    for status in &down {
        assert!(!status.healthy && status.last_error.is_some(), "{status:?}");
    }

    blocking(|| {
        spire.start_agent("agent")?;
        spire.wait_for_svids("agent", &[FOO, BAR])
    })
    .expect("the agent restarts and serves foo and bar again");
    until("both sources take SVIDs from the new agent", READY, || {
        statuses([&foo, &bar])
            .iter()
            .zip(&down)
            .all(|(now, down)| now.updates > down.updates && now.healthy)
    })
    .await;
    let served_after = serials();
    load.more(50).await.expect("handshakes on the new SVIDs");
    let report = load.stop().await;

    let (handshakes, failures) = (report.handshakes, report.failures);
    let after = statuses([&foo, &bar]);
    eprintln!("agent restart: {handshakes} handshakes, {failures} failures; {after:?}");
    assert_eq!(failures, 0, "failed handshakes: {:?}", report.errors);
    for ((before, now), (old, new)) in before
        .iter()
        .zip(&after)
        .zip(served_before.iter().zip(&served_after))
    {
        assert_ne!(old, new, "the new agent issued new SVIDs");
        assert!(now.reconnects > before.reconnects, "{before:?} -> {now:?}");
        // `rejected` may have grown: the fresh agent answers "no identity issued" until its first
        // sync with the server, a withdrawal the source refuses, keeping the credentials in force
        // (no handshake failed).
    }
}

const A_FOO: &str = "spiffe://a.test/foo";
const A_LONELY: &str = "spiffe://a.test/lonely";
const B_BAR: &str = "spiffe://b.test/bar";

/// Two trust domains with each other's bundles: a.test/foo and b.test/bar (federated both ways)
/// talk in both directions. a.test/lonely (an entry without `-federatesWith`, on an agent of its
/// own) refuses bar as client and as server (unknown issuer), and foo refuses a leaf claiming
/// b.test/bar that a.test's own CA signed: a b.test ID verifies against b.test's bundle only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_peer_is_authorized_only_against_its_own_bundle() {
    // a.test's CA is signed by a CA this test holds, so it can sign what SPIRE never would.
    let mut a_ca = TestCa::new("a.test upstream").expect("a test CA (openssl)");
    let (a, b) = blocking(|| {
        let mut a = Spire::start_with("a.test", Some(a_ca.upstream()))?;
        let mut b = Spire::start("b.test")?;
        Spire::federate(&a, &b)?;
        // Agent a1 serves foo, federated with b.test; a2 serves lonely, not federated.
        a.create_entry(&Entry::new(A_FOO, "a1").federates_with("b.test"))?;
        a.create_entry(&Entry::new(A_LONELY, "a2"))?;
        b.create_entry(&Entry::new(B_BAR, "b1").federates_with("a.test"))?;
        a.start_agent("a1")?;
        a.start_agent("a2")?;
        b.start_agent("b1")?;
        a.wait_for_svids("a1", &[A_FOO])?;
        a.wait_for_svids("a2", &[A_LONELY])?;
        b.wait_for_svids("b1", &[B_BAR])?;
        spire_support::Result::Ok((a, b))
    })
    .expect("two federated SPIRE trust domains");
    let (foo_id, lonely_id, bar_id) = (spiffe(A_FOO), spiffe(A_LONELY), spiffe(B_BAR));
    let foo = load::workload(&a.endpoint("a1"), &foo_id)
        .await
        .expect("foo");
    let lonely = load::workload(&a.endpoint("a2"), &lonely_id)
        .await
        .expect("lonely");
    let bar = load::workload(&b.endpoint("b1"), &bar_id)
        .await
        .expect("bar");
    let (foo_rx, lonely_rx, bar_rx) = (rx(&foo), rx(&lonely), rx(&bar));

    let (a_pem, b_pem) = blocking(|| spire_support::Result::Ok((a.bundle_pem()?, b.bundle_pem()?)))
        .expect("both bundles");
    let (a_roots, b_roots) = (
        fingerprints(a_pem.as_bytes()),
        fingerprints(b_pem.as_bytes()),
    );
    assert_eq!(a_roots, fingerprints(&a_ca.cert_pem().expect("the CA")));
    let bundle =
        |rx: &creds::Receiver, td: &str| rx.served().bundles.get(&td.parse().expect("td")).cloned();
    assert_eq!(foo_rx.served().roots, a_roots);
    assert_eq!(bundle(&foo_rx, "b.test"), Some(b_roots.clone()));
    assert_eq!(bar_rx.served().roots, b_roots);
    assert_eq!(bundle(&bar_rx, "a.test"), Some(a_roots.clone()));
    assert!(
        lonely_rx.served().bundles.is_empty(),
        "{:?}",
        lonely_rx.served()
    );

    // Federated both ways: each side proves its identity to the other.
    for (server, client, server_id, client_id) in [
        (&foo_rx, &bar_rx, &foo_id, B_BAR),
        (&bar_rx, &foo_rx, &bar_id, A_FOO),
    ] {
        let outcome = bounded(
            "federated handshake",
            handshake_once(server, client, server_id),
        )
        .await;
        let client_saw = outcome.client.expect("the client accepts the server").peer;
        let server_saw = outcome.server.expect("the server accepts the client").peer;
        assert_eq!(
            (client_saw.as_str(), server_saw.as_str()),
            (server_id.as_str(), client_id)
        );
    }

    // lonely has no b.test bundle: it refuses bar as a client ...
    let outcome = bounded(
        "bar -> lonely",
        handshake_once(&lonely_rx, &bar_rx, &lonely_id),
    )
    .await;
    let refused = outcome.server.expect_err("lonely refuses bar");
    assert!(
        refused_unknown_issuer(&refused),
        "lonely's server: {refused:?}"
    );
    let alerted = outcome.client.expect_err("bar's connect fails");
    assert!(alerted_unknown_ca(&alerted), "bar's client: {alerted:?}");
    // ... and as a server.
    let outcome = bounded(
        "lonely -> bar",
        handshake_once(&bar_rx, &lonely_rx, &bar_id),
    )
    .await;
    let refused = outcome.client.expect_err("lonely refuses bar");
    assert!(
        refused_unknown_issuer(&refused),
        "lonely's client: {refused:?}"
    );
    let alerted = outcome.server.expect_err("bar's accept fails");
    assert!(alerted_unknown_ca(&alerted), "bar's server: {alerted:?}");

    // A certificate claiming spiffe://b.test/bar, signed by a.test's CA: foo checks a b.test ID
    // against b.test's bundle only, so a.test's CA cannot vouch for it.
    let forged = forged_workload(&mut a_ca, B_BAR);
    let outcome = bounded("forged -> foo", handshake_once(&foo_rx, &forged, &foo_id)).await;
    let refused = outcome
        .server
        .expect_err("foo refuses the forged b.test client");
    assert!(
        refused_unknown_issuer(&refused),
        "foo's server: {refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("bundle of trust domain b.test"),
        "{refused}"
    );
    let alerted = outcome
        .client
        .expect_err("the forged client's connect fails");
    assert!(alerted_unknown_ca(&alerted), "forged client: {alerted:?}");
    drop((a, b));
}

/// SPIFFE (X509-SVID §5, Trust Domain and Bundle §4): an SVID is validated against the bundle of
/// the trust domain its SPIFFE ID names. A workload that has no bundle for b.test has no way to
/// validate a b.test SVID and must refuse it, even one signed by its own trust domain's CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_id_signed_by_own_ca_is_refused_without_its_bundle() {
    let mut a_ca = TestCa::new("a.test upstream").expect("a test CA (openssl)");
    let spire = blocking(|| {
        let mut a = Spire::start_with("a.test", Some(a_ca.upstream()))?;
        a.create_entry(&Entry::new(A_LONELY, "agent"))?;
        a.start_agent("agent")?;
        a.wait_for_svids("agent", &[A_LONELY])?;
        spire_support::Result::Ok(a)
    })
    .expect("SPIRE for a.test under the test CA");
    let lonely_id = spiffe(A_LONELY);
    let lonely = load::workload(&spire.endpoint("agent"), &lonely_id)
        .await
        .expect("lonely");
    let lonely_rx = rx(&lonely);
    assert!(lonely_rx.served().bundles.is_empty());
    let forged = forged_workload(&mut a_ca, B_BAR);
    let outcome = bounded(
        "forged -> lonely",
        handshake_once(&lonely_rx, &forged, &lonely_id),
    )
    .await;
    let refused = outcome
        .server
        .map(|seen| seen.peer)
        .expect_err("lonely accepted a b.test ID on a.test's CA");
    assert!(refused_unknown_issuer(&refused), "{refused:?}");
    let reason = mesh_error(&refused).map(Error::to_string);
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("trust domain b.test, for which there is no bundle")),
        "{reason:?}"
    );
}
