//! Responses turned into credentials, and responses refused with the previous credentials kept,
//! on the repository's SVID fixtures (no agent needed; `tests/spire.rs` runs a real SPIRE).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use spiffe::{TrustDomain as SpiffeTd, X509Bundle, X509BundleSet, X509Svid};

use super::*;

const FOO: &str = "spiffe://cluster.local/ns/ns1/sa/foo";

fn certs(file: &str) -> Vec<CertificateDer<'static>> {
    let path = format!("{}/certs/{file}", env!("CARGO_MANIFEST_DIR"));
    CertificateDer::pem_file_iter(path)
        .expect("fixture exists")
        .map(|c| c.expect("fixture is PEM"))
        .collect()
}

/// The certificates of a PEM file, DER concatenated (as the Workload API sends them).
fn der(file: &str) -> Vec<u8> {
    certs(file).iter().flat_map(|c| c.to_vec()).collect()
}

fn svid(name: &str) -> X509Svid {
    let chain = der(&format!("{name}.chain.pem"));
    let path = format!("{}/certs/{name}.key.pem", env!("CARGO_MANIFEST_DIR"));
    let key = PrivateKeyDer::from_pem_file(path).expect("fixture key");
    X509Svid::parse_from_der(&chain, key.secret_der()).expect("an X509-SVID")
}

/// A bundle set of `(trust domain, CA file)` pairs.
fn bundles(pairs: &[(&str, &str)]) -> X509BundleSet {
    let mut set = X509BundleSet::new();
    for (domain, file) in pairs {
        let der = der(file);
        let td = SpiffeTd::new(domain).expect("a trust domain");
        set.add_bundle(X509Bundle::parse_from_der(td, &der).expect("a bundle"));
    }
    set
}

fn name() -> ServerName {
    "foo.ns1.svc.cluster.local".parse().unwrap()
}

fn config() -> Config {
    Config::new(name())
}

fn fingerprints(file: &str) -> Vec<creds::Fingerprint> {
    TrustRoots::from_der(certs(file))
        .unwrap()
        .fingerprints()
        .to_vec()
}

#[test]
fn a_response_becomes_the_stores_credentials() {
    let mut store = None;
    let set = bundles(&[
        ("cluster.local", "ca1.crt.pem"),
        ("other.example", "ca3.crt.pem"),
    ]);
    let rx = apply(&svid("spiffe-foo-ca1"), &set, &config(), &mut store)
        .unwrap()
        .expect("the first response makes the store");
    assert_eq!(rx.local_id().to_string(), FOO);
    let served = rx.served();
    let cert = served.certificate.as_ref().expect("a certificate");
    assert_eq!(cert.identities[0].to_string(), FOO);
    assert_eq!(served.roots, fingerprints("ca1.crt.pem"));
    let other: crate::identity::TrustDomain = "other.example".parse().unwrap();
    assert_eq!(served.bundles[&other], fingerprints("ca3.crt.pem"));
    assert_eq!(
        served.bundles.len(),
        1,
        "our own domain's bundle is the roots"
    );

    // The next response updates the same store, and returns no new receiver.
    let set = bundles(&[("cluster.local", "roots.pem")]);
    let again = apply(&svid("spiffe-foo-ca1"), &set, &config(), &mut store).unwrap();
    assert!(again.is_none());
    assert_eq!(rx.served().roots, fingerprints("roots.pem"));
    assert!(
        rx.served().bundles.is_empty(),
        "a bundle no longer sent is gone"
    );
}

#[test]
fn a_bad_response_is_refused_and_the_previous_credentials_kept() {
    let mut store = None;
    let good = bundles(&[("cluster.local", "ca1.crt.pem")]);
    let rx = apply(&svid("spiffe-foo-ca1"), &good, &config(), &mut store)
        .unwrap()
        .unwrap();
    let before = rx.served();

    // A bundle that did not sign the SVID.
    let wrong = bundles(&[("cluster.local", "ca2.crt.pem")]);
    let err = apply(&svid("spiffe-foo-ca1"), &wrong, &config(), &mut store).unwrap_err();
    assert!(matches!(err, Error::Untrusted { .. }), "{err}");
    // No bundle for our own trust domain.
    let none = bundles(&[("other.example", "ca3.crt.pem")]);
    let err = apply(&svid("spiffe-foo-ca1"), &none, &config(), &mut store).unwrap_err();
    assert!(matches!(err, Error::WorkloadApi { .. }), "{err}");
    // Another workload's SVID.
    let err = apply(&svid("spiffe-bar-ca1"), &good, &config(), &mut store).unwrap_err();
    assert!(matches!(err, Error::IdMismatch { .. }), "{err}");

    let after = rx.served();
    assert_eq!(after.roots, before.roots);
    let serial = |s: &creds::Served| s.certificate.as_ref().map(|c| c.serial.clone());
    assert_eq!(serial(&after), serial(&before));
}

#[test]
fn a_first_response_that_fails_makes_no_store() {
    let mut store = None;
    let wrong = bundles(&[("cluster.local", "ca3.crt.pem")]);
    assert!(apply(&svid("spiffe-foo-ca1"), &wrong, &config(), &mut store).is_err());
    assert!(store.is_none());
}

#[test]
fn the_picker_takes_our_id_or_none() {
    let svids = [
        Arc::new(svid("spiffe-bar-ca1")),
        Arc::new(svid("spiffe-foo-ca1")),
    ];
    assert_eq!(ById(FOO.into()).pick_svid(&svids), Some(1));
    assert_eq!(
        ById("spiffe://cluster.local/ns/x".into()).pick_svid(&svids),
        None
    );
}

#[tokio::test]
async fn an_unreachable_agent_is_not_ready_and_says_why() {
    let config = Config::new(name())
        .endpoint("unix:///nonexistent/meshtls-test/agent.sock")
        .backoff(Duration::from_millis(10), Duration::from_millis(20));
    let source = Source::spawn(config).unwrap();
    let mut waited = 0;
    while source.status().last_error.is_none() {
        assert!(waited < 1000, "no error reported: {:?}", source.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let status = source.status();
    assert!(
        !status.ready && !status.healthy && source.receiver().is_none(),
        "{status:?}"
    );
}

/// With metrics: each response is one update of everything (`what="all"`), and the source's
/// refusals and reconnects are counted as its status counts them.
#[cfg(feature = "metrics")]
#[test]
fn responses_and_the_stream_are_recorded() {
    use prometheus_client::encoding::text::encode;

    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::register(&mut registry);
    let config = config().metrics(metrics.clone());
    let mut store = None;
    let good = bundles(&[("cluster.local", "ca1.crt.pem")]);
    let wrong = bundles(&[("cluster.local", "ca2.crt.pem")]);
    apply(&svid("spiffe-foo-ca1"), &good, &config, &mut store).unwrap();
    apply(&svid("spiffe-foo-ca1"), &good, &config, &mut store).unwrap();
    let refused = apply(&svid("spiffe-foo-ca1"), &wrong, &config, &mut store).unwrap_err();

    let shared = Arc::new(Shared {
        status: Mutex::default(),
        metrics: Some(metrics),
    });
    shared.failed(&refused);
    Counts(shared.clone()).record_reconnect();
    shared.record(Event::Delivered);

    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    for line in [
        r#"meshtls_credential_updates_total{what="all",result="ok"} 2"#,
        r#"meshtls_credential_updates_total{what="all",result="refused"} 1"#,
        "meshtls_workload_api_rejected_total 1",
        "meshtls_workload_api_reconnects_total 1",
        "meshtls_workload_api_updates_total 1",
        "meshtls_workload_api_ready 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
    assert_eq!(shared.lock().rejected, 1);
}
