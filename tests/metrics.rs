//! The metrics (feature `metrics`) scraped in the Prometheus text format after handshakes over
//! loopback TCP, credential updates and detection verdicts: each count is exactly what the test
//! did. `cargo test --features metrics --test metrics`, and the regulated build's
//! `--no-default-features --features fips,metrics`.

mod mesh_support;
mod metrics_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mesh_support::*;
use meshtls::authz::{Policy, Rule};
use meshtls::detect::{detect, Detected};
use meshtls::fips::Validation;
use meshtls::metrics::Metrics;
use meshtls::policy::{self, Kind};
use meshtls::{creds, Negotiated};
use metrics_support::*;
use prometheus_client::registry::Registry;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

fn registered() -> (Registry, Metrics) {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    (registry, metrics)
}

/// The policy table's names of what a handshake negotiated: version, suite, group.
fn names(n: &Negotiated) -> (&'static str, &'static str, &'static str) {
    (
        policy::version(n.version.unwrap()).unwrap().name,
        policy::suite(n.suite.unwrap()).unwrap().name,
        policy::group(n.group.unwrap()).unwrap().name,
    )
}

fn established(side: &str, version: &str, suite: &str, group: &str) -> String {
    format!(
        r#"meshtls_handshakes_total{{side="{side}",version="{version}",suite="{suite}",group="{group}"}}"#
    )
}

fn failed(side: &str, reason: &str, alert: &str) -> String {
    format!(
        r#"meshtls_handshake_failures_total{{side="{side}",reason="{reason}",alert="{alert}"}}"#
    )
}

fn durations(side: &str, result: &str) -> String {
    format!(r#"meshtls_handshake_duration_seconds_count{{side="{side}",result="{result}"}}"#)
}

fn not_approved(side: &str) -> String {
    format!(r#"meshtls_handshakes_not_approved_total{{side="{side}"}}"#)
}

/// Whether this build runs on the FIPS module, whose provider offers only approved algorithms.
const FIPS: bool = cfg!(feature = "fips");

#[tokio::test]
async fn successful_handshakes_by_side_and_what_they_negotiated() {
    const N: usize = 3;
    let (registry, metrics) = registered();
    let (_foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, mut accepted) = serve(foo.server().with_metrics(metrics.clone())).await;
    let client = bar.new_client().with_metrics(metrics);
    let connect = client.new_client(target(FOO, FOO));
    let mut negotiated = None;
    for _ in 0..N {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (io, _) = tokio::time::timeout(STEP, connect.connect(tcp))
            .await
            .unwrap()
            .unwrap();
        // The server has recorded its handshake once `accept` returned.
        accepted.recv().await.unwrap().tls.unwrap();
        negotiated = Some(names(io.negotiated()));
    }
    let (version, suite, group) = negotiated.unwrap();
    let text = scrape(&registry);
    for side in ["client", "server"] {
        assert_eq!(
            must(&text, &established(side, version, suite, group)),
            N as f64
        );
        assert_eq!(must(&text, &durations(side, "ok")), N as f64);
        let unapproved = !approved(Kind::Suite, suite) || !approved(Kind::Group, group);
        let want = if unapproved { N as f64 } else { 0.0 };
        assert_eq!(must(&text, &not_approved(side)), want, "{group}/{suite}");
    }
    assert_eq!(version, "TLSv1.3");
    assert!(
        !text.contains("meshtls_handshake_failures_total{"),
        "{text}"
    );
}

#[tokio::test]
async fn failed_handshakes_by_reason_and_alert() {
    let (registry, metrics) = registered();
    let with = |server: meshtls::Server| server.with_metrics(metrics.clone());
    // A server trusting ca1 only, and clients of both CAs that trust the server.
    let (_s1, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (_s2, bar_ca2) = workload(BAR, BAR, "roots.pem", "bar-ca2");
    let (_s3, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (trusting, mut trusting_seen) = serve(with(foo.server())).await;

    // 1. A client certificate from a CA the server does not trust.
    let client = bar_ca2.new_client().with_metrics(metrics.clone());
    let tcp = TcpStream::connect(trusting).await.unwrap();
    let err = client.new_client(target(FOO, FOO)).connect(tcp).await;
    assert!(err.is_err());
    assert!(trusting_seen.recv().await.unwrap().tls.is_err());

    // 2. A verified client the server's policy does not allow.
    let policy = Policy::allow([Rule::Id(id(FOO_SPIFFE))]);
    let (strict, mut strict_seen) = serve(with(foo.server().with_policy(policy))).await;
    let client = bar.new_client().with_metrics(metrics.clone());
    let tcp = TcpStream::connect(strict).await.unwrap();
    assert!(client
        .new_client(target(FOO, FOO))
        .connect(tcp)
        .await
        .is_err());
    assert!(strict_seen.recv().await.unwrap().tls.is_err());

    // 3. A client that says nothing, to a server with a short deadline.
    let short = Duration::from_millis(200);
    let (hurried, mut hurried_seen) = serve(with(foo.server().with_handshake_timeout(short))).await;
    let silent = TcpStream::connect(hurried).await.unwrap();
    let seen = tokio::time::timeout(STEP, hurried_seen.recv())
        .await
        .unwrap();
    assert!(seen.unwrap().tls.is_err());
    drop(silent);

    // 4. A server that never answers, to a client with a short deadline.
    let mute = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = bar.new_client().with_handshake_timeout(short);
    let client = client.with_metrics(metrics.clone());
    let tcp = TcpStream::connect(mute.local_addr().unwrap())
        .await
        .unwrap();
    assert!(client
        .new_client(target(FOO, FOO))
        .connect(tcp)
        .await
        .is_err());

    // 5. A client offering only a key-exchange group no server has.
    let suite = offered_tls13_suites()[0].1;
    let roots = rustls_roots("ca1.crt.pem");
    let refused = handshake_with(trusting, FOO, roots, suite, &NO_SUCH_GROUP).await;
    assert!(refused.is_err());
    assert!(trusting_seen.recv().await.unwrap().tls.is_err());

    let text = scrape(&registry);
    let want = [
        (failed("server", "identity_refused", "unknown_ca"), 1.0),
        (failed("client", "alert_received", "unknown_ca"), 1.0),
        (
            failed("server", "authorization_refused", "access_denied"),
            1.0,
        ),
        (failed("client", "alert_received", "access_denied"), 1.0),
        (failed("server", "timeout", "none"), 1.0),
        (failed("client", "timeout", "none"), 1.0),
        (
            failed("server", "no_common_algorithm", "handshake_failure"),
            1.0,
        ),
        (durations("server", "failed"), 4.0),
        (durations("client", "failed"), 3.0),
    ];
    for (series, count) in want {
        assert_eq!(value(&text, &series), Some(count), "{series} in:\n{text}");
    }
    assert!(!text.contains("meshtls_handshakes_total{"), "{text}");
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as f64
}

fn updates(what: &str, result: &str) -> String {
    format!(r#"meshtls_credential_updates_total{{what="{what}",result="{result}"}}"#)
}

#[tokio::test]
async fn credential_updates_and_the_certificate_in_force() {
    let (registry, metrics) = registered();
    let (store, rx) = creds::watch(id(FOO), name(FOO), &read("roots.pem")).unwrap();
    let mut store = store.with_metrics(metrics);
    const NOT_AFTER: &str = "meshtls_certificate_not_after_seconds";
    assert_eq!(
        must(&scrape(&registry), NOT_AFTER),
        0.0,
        "no certificate yet"
    );

    let before = unix(SystemTime::now());
    set(&mut store, "foo-ca1").unwrap();
    let not_after = unix(rx.served().certificate.as_ref().unwrap().not_after);
    let text = scrape(&registry);
    assert_eq!(must(&text, NOT_AFTER), not_after);
    assert_eq!(must(&text, &updates("certificate", "ok")), 1.0);
    let last = r#"meshtls_credential_last_update_timestamp_seconds{what="certificate"}"#;
    assert!(must(&text, last) >= before);

    // Rotation to the other CA's certificate, then updates that are refused.
    set(&mut store, "foo-ca2").unwrap();
    assert!(set(&mut store, "bar-ca1").is_err(), "not our identity");
    assert!(store.set_roots(b"not PEM").is_err());
    assert!(
        store.set_roots(&read("ca1.crt.pem")).is_err(),
        "foo-ca2 needs ca2"
    );
    store.set_roots(&read("ca2.crt.pem")).unwrap();

    let text = scrape(&registry);
    let served = rx.served();
    let in_force = served.certificate.as_ref().unwrap();
    assert_eq!(in_force.identities, vec![id(FOO)]);
    assert_eq!(must(&text, NOT_AFTER), unix(in_force.not_after));
    assert_eq!(must(&text, &updates("certificate", "ok")), 2.0);
    assert_eq!(must(&text, &updates("certificate", "refused")), 1.0);
    assert_eq!(must(&text, &updates("roots", "refused")), 2.0);
    assert_eq!(must(&text, &updates("roots", "ok")), 1.0);
    assert!(value(&text, &updates("bundle", "ok")).is_none());
}

#[tokio::test]
async fn detect_verdicts_are_counted() {
    let (registry, metrics) = registered();
    let (_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let local = name(FOO);
    let short = Duration::from_millis(100);
    let mut verdicts = Vec::new();
    // A meshtls client's ClientHello for us, and one for another name.
    for sni in [FOO, BAR] {
        let (client_end, server_end) = tokio::io::duplex(64 * 1024);
        let connect = bar.new_client().new_client(target(sni, sni));
        let hello = tokio::spawn(async move { connect.connect(client_end).await.map(drop) });
        let (verdict, _io) = detect(server_end, &local, STEP).await.unwrap();
        hello.abort();
        verdicts.push(verdict);
    }
    // Plaintext, and nothing at all.
    let (mut client_end, server_end) = tokio::io::duplex(1024);
    client_end
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    verdicts.push(detect(server_end, &local, STEP).await.unwrap().0);
    let (_quiet, server_end) = tokio::io::duplex(1024);
    verdicts.push(detect(server_end, &local, short).await.unwrap().0);

    let passthru = Detected::Passthru { sni: name(BAR) };
    let want = [
        Detected::Terminate,
        passthru,
        Detected::NotTls,
        Detected::TimedOut,
    ];
    assert_eq!(verdicts, want);
    for verdict in &verdicts {
        metrics.detected(verdict);
    }
    metrics.detected(&Detected::Terminate);
    let text = scrape(&registry);
    for (verdict, count) in [
        ("terminate", 2.0),
        ("passthru", 1.0),
        ("not_tls", 1.0),
        ("timed_out", 1.0),
    ] {
        let series = format!(r#"meshtls_detect_verdicts_total{{verdict="{verdict}"}}"#);
        assert_eq!(must(&text, &series), count);
    }
    assert!(value(&text, r#"meshtls_detect_verdicts_total{verdict="no_sni"}"#).is_none());
}

/// Every TLS 1.3 suite with every group this build offers (the mesh server speaks TLS 1.3 only),
/// each pair once: the not-approved counter counts exactly the pairs the policy table does not
/// approve, which the regulated build has none of, and the default build has (X25519, its
/// hybrid, ChaCha20-Poly1305): there the counter can be seen to count.
#[tokio::test]
async fn not_approved_handshakes_over_every_suite_and_group() {
    let (registry, metrics) = registered();
    let (_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server().with_metrics(metrics)).await;
    let mut pairs = 0;
    let mut unapproved = 0;
    for (suite_name, suite) in offered_tls13_suites() {
        for (group_name, group) in offered_groups() {
            let roots = rustls_roots("ca1.crt.pem");
            handshake_with(addr, FOO, roots, suite, group)
                .await
                .unwrap_or_else(|e| panic!("{suite_name} {group_name}: {e}"));
            accepted.recv().await.unwrap().tls.unwrap();
            let text = scrape(&registry);
            let series = established("server", "TLSv1.3", suite_name, group_name);
            assert_eq!(must(&text, &series), 1.0);
            pairs += 1;
            if !approved(Kind::Suite, suite_name) || !approved(Kind::Group, group_name) {
                unapproved += 1;
            }
        }
    }
    let text = scrape(&registry);
    let counted = must(&text, &not_approved("server"));
    println!("{pairs} suite/group pairs, {counted} not approved");
    assert_eq!(counted, f64::from(unapproved));
    if FIPS {
        assert_eq!(
            counted, 0.0,
            "the FIPS build negotiated something not approved"
        );
        assert!(pairs >= 2 * 3, "AES-GCM x (P-256, P-384, the hybrid)");
    } else {
        assert!(counted > 0.0, "X25519 and ChaCha20 are counted");
    }
    assert_eq!(must(&text, &not_approved("client")), 0.0);
}

#[test]
fn the_info_gauge_carries_the_fips_status() {
    let (registry, _metrics) = registered();
    let text = scrape(&registry);
    let line = text
        .lines()
        .find(|l| l.starts_with("meshtls_info{"))
        .unwrap_or_else(|| panic!("no meshtls_info in:\n{text}"));
    assert!(line.ends_with("} 1"), "{line}");
    let status = meshtls::fips::status();
    let (validation, certificate) = match &status.validation {
        Validation::Certified { certificate } => ("certified", *certificate),
        Validation::Pending { .. } => ("pending", "none"),
        Validation::Unvalidated { .. } => ("unvalidated", "none"),
    };
    let offered = |kind| {
        let rows = policy::table()
            .iter()
            .filter(|r| r.kind == kind && r.offered());
        rows.map(|r| r.name).collect::<Vec<_>>().join(",")
    };
    let want = [
        ("build", status.build.to_string()),
        ("module", status.module.to_string()),
        ("module_version", status.version_string.clone()),
        ("fips_mode", status.fips_mode.to_string()),
        ("linkage", status.linkage.to_string()),
        ("validation", validation.to_string()),
        ("certificate", certificate.to_string()),
        ("suites", offered(Kind::Suite)),
        ("groups", offered(Kind::Group)),
    ];
    for (label, value) in want {
        let pair = format!(r#"{label}="{value}""#);
        assert!(line.contains(&pair), "{pair} not in {line}");
    }
    if cfg!(all(feature = "fips", not(feature = "non-fips"))) {
        assert!(line.contains(r#"build="fips""#) && line.contains(r#"fips_mode="true""#));
        let lower = line.to_lowercase();
        assert!(
            !lower.contains("chacha") && !lower.contains("x25519"),
            "{line}"
        );
    }
}
