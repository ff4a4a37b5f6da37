//! The readiness answer ([`meshtls::ready`]) on workloads made with the public API, at times of
//! the test's choosing (never waiting on the clock), and the handshake log: one `tracing` event
//! per handshake on each side, captured by a subscriber of this test's own.
//! `cargo test --test readiness`, and the regulated build's
//! `--no-default-features --features fips --test readiness`.

mod mesh_support;

use std::time::{Duration, SystemTime};

use mesh_support::*;
use meshtls::creds;
use meshtls::ready::{Readiness, Unmet, DEFAULT_MARGIN};

/// The notAfter of the certificate `rx` serves.
fn not_after(rx: &creds::Receiver) -> SystemTime {
    rx.served()
        .certificate
        .as_ref()
        .expect("a certificate")
        .not_after
}

#[test]
fn a_workload_without_a_certificate_is_not_ready() {
    let (_store, rx) = creds::watch(id(FOO), name(FOO), &read("roots.pem")).unwrap();
    let report = Readiness::new(&rx).check(SystemTime::now());
    assert!(!report.ready);
    // In the FIPS build the module's conditions are met: only the certificate is missing.
    assert_eq!(report.unmet, [Unmet::NoCertificate]);
    assert_eq!(report.to_string(), "not ready: no certificate is loaded");
}

#[test]
fn a_valid_certificate_is_ready() {
    let (_store, rx) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let report = Readiness::new(&rx).check(SystemTime::now());
    assert!(report.ready, "{report}");
    assert!(report.unmet.is_empty());
    assert_eq!(report.to_string(), "ready");
}

#[test]
fn a_certificate_within_the_margin_is_named() {
    let (_store, rx) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let not_after = not_after(&rx);
    let soon = not_after - Duration::from_secs(60);

    let report = Readiness::new(&rx).check(soon);
    assert!(!report.ready);
    assert_eq!(
        report.unmet,
        [Unmet::CertificateExpiresSoon {
            not_after,
            margin: DEFAULT_MARGIN
        }]
    );
    let text = report.to_string();
    assert!(
        text.starts_with("not ready: the certificate expires at "),
        "{text}"
    );
    assert!(text.ends_with(", within the margin of 300s"), "{text}");

    // A smaller margin: a minute left is enough.
    let report = Readiness::new(&rx)
        .margin(Duration::from_secs(30))
        .check(soon);
    assert!(report.ready, "{report}");

    // Past notAfter: expired, whatever the margin.
    let after = not_after + Duration::from_secs(1);
    let report = Readiness::new(&rx).margin(Duration::ZERO).check(after);
    assert_eq!(report.unmet, [Unmet::CertificateExpired { not_after }]);
    assert!(report
        .to_string()
        .starts_with("not ready: the certificate expired at "));
}

/// The FIPS build: the module is in FIPS mode and the start-up self-test (run by `creds::watch`)
/// passed, so readiness names no FIPS condition. Neither can be made to fail from the public API
/// in a process that is honestly in FIPS mode; the library's unit test
/// `ready::tests::fips_conditions_are_named_when_unmet` shows them named when unmet.
#[cfg(feature = "fips")]
#[test]
fn the_fips_conditions_are_met() {
    let (_store, rx) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    assert!(meshtls::fips::status().fips_mode);
    assert!(matches!(meshtls::fips::startup_self_test(), Some(Ok(_))));
    let report = Readiness::new(&rx).check(SystemTime::now());
    assert!(report.ready, "{report}");
}

mod log {
    //! The handshake log: a subscriber of this test's own records the events of target
    //! `meshtls::handshake`. The tests run on tokio's current-thread runtime, so the server's
    //! spawned tasks emit on the thread whose default subscriber is the capture.

    use std::collections::BTreeMap;
    use std::fmt;
    use std::sync::{Arc, Mutex};

    use meshtls::policy;
    use meshtls::{AlpnProtocols, Negotiated};
    use tokio::net::TcpStream;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id as SpanId, Record};
    use tracing::{Level, Metadata, Subscriber};

    use super::mesh_support::*;

    const TARGET: &str = "meshtls::handshake";

    /// One captured event: its level and its fields, as text.
    #[derive(Clone, Debug)]
    struct Event {
        level: Level,
        fields: BTreeMap<String, String>,
    }

    impl Event {
        fn get(&self, field: &str) -> Option<&str> {
            self.fields.get(field).map(String::as_str)
        }
    }

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Event>>>);

    impl Capture {
        fn take(&self) -> Vec<Event> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    struct Fields<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for Fields<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().into(), value.into());
        }

        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.insert(field.name().into(), format!("{value:?}"));
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == TARGET
        }

        fn new_span(&self, _: &Attributes<'_>) -> SpanId {
            SpanId::from_u64(1)
        }

        fn record(&self, _: &SpanId, _: &Record<'_>) {}

        fn record_follows_from(&self, _: &SpanId, _: &SpanId) {}

        fn event(&self, event: &tracing::Event<'_>) {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().push(Event {
                level: *event.metadata().level(),
                fields,
            });
        }

        fn enter(&self, _: &SpanId) {}

        fn exit(&self, _: &SpanId) {}
    }

    /// The one event of `side` among `events`.
    fn of<'a>(events: &'a [Event], side: &str) -> &'a Event {
        let mut found = events.iter().filter(|e| e.get("side") == Some(side));
        let event = found
            .next()
            .unwrap_or_else(|| panic!("no {side} event: {events:?}"));
        assert!(found.next().is_none(), "two {side} events: {events:?}");
        event
    }

    /// Asserts `event`'s fields named in `want`, and that it has exactly those and `others`.
    fn assert_fields(event: &Event, want: &[(&str, &str)], others: &[&str]) {
        for (field, value) in want {
            assert_eq!(event.get(field), Some(*value), "{field} of {event:?}");
        }
        let mut names: Vec<&str> = want
            .iter()
            .map(|(f, _)| *f)
            .chain(others.iter().copied())
            .collect();
        names.sort_unstable();
        let have: Vec<&str> = event.fields.keys().map(String::as_str).collect();
        assert_eq!(have, names, "{event:?}");
    }

    /// The policy table's names of what a handshake negotiated: version, suite, group.
    fn names(n: &Negotiated) -> [&'static str; 3] {
        [
            policy::version(n.version.unwrap()).unwrap().name,
            policy::suite(n.suite.unwrap()).unwrap().name,
            policy::group(n.group.unwrap()).unwrap().name,
        ]
    }

    #[tokio::test]
    async fn one_event_per_handshake_on_each_side() {
        let capture = Capture::default();
        let _default = tracing::subscriber::set_default(capture.clone());

        let (_foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
        let (_bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
        let server = foo.server().with_alpn(vec![b"h2".to_vec()]);
        let (addr, mut accepted) = serve(server).await;
        let mut to_foo = target(FOO, FOO);
        to_foo.alpn = Some(AlpnProtocols(vec![b"h2".to_vec()]));
        let io = connect(&bar, addr, to_foo).await.unwrap();
        accepted.recv().await.unwrap().tls.unwrap();
        let [version, suite, group] = names(io.negotiated());

        let events = capture.take();
        assert_eq!(events.len(), 2, "{events:?}");
        let common = [
            ("sni", FOO),
            ("version", version),
            ("suite", suite),
            ("group", group),
            ("alpn", "h2"),
            ("result", "ok"),
            ("message", "handshake"),
        ];
        for (side, peer) in [("server", BAR), ("client", FOO)] {
            let event = of(&events, side);
            assert_eq!(event.level, Level::DEBUG);
            let mut want = vec![("side", side), ("peer", peer)];
            want.extend(common);
            assert_fields(event, &want, &["duration_ms"]);
            let ms: f64 = event.get("duration_ms").unwrap().parse().unwrap();
            assert!(ms >= 0.0 && ms < STEP.as_secs_f64() * 1e3, "{ms}");
        }
    }

    #[tokio::test]
    async fn a_refused_client_is_a_warning_on_both_sides() {
        let capture = Capture::default();
        let _default = tracing::subscriber::set_default(capture.clone());

        // The server trusts only ca1; the client's certificate is signed by ca2.
        let (_foo_store, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
        let (_bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca2");
        let (addr, mut accepted) = serve(foo.server()).await;
        connect(&bar, addr, target(FOO, FOO)).await.unwrap_err();
        accepted.recv().await.unwrap().tls.unwrap_err();

        let events = capture.take();
        assert_eq!(events.len(), 2, "{events:?}");
        let none = [
            ("peer", "none"),
            ("sni", FOO),
            ("version", "none"),
            ("suite", "none"),
            ("group", "none"),
            ("alpn", "none"),
            ("result", "failed"),
            ("message", "handshake"),
        ];
        for (side, reason) in [("server", "identity_refused"), ("client", "alert_received")] {
            let event = of(&events, side);
            assert_eq!(event.level, Level::WARN, "{event:?}");
            let mut want = vec![("side", side), ("reason", reason), ("alert", "unknown_ca")];
            want.extend(none);
            assert_fields(event, &want, &["duration_ms", "error"]);
        }
        let server_error = of(&events, "server").get("error").unwrap();
        assert!(server_error.contains("peer"), "{server_error}");
    }

    #[tokio::test]
    async fn a_plain_disconnect_stays_at_debug() {
        let capture = Capture::default();
        let _default = tracing::subscriber::set_default(capture.clone());

        let (_foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
        let (addr, mut accepted) = serve(foo.server()).await;
        drop(TcpStream::connect(addr).await.unwrap());
        accepted.recv().await.unwrap().tls.unwrap_err();

        let events = capture.take();
        assert_eq!(events.len(), 1, "{events:?}");
        let event = of(&events, "server");
        assert_eq!(event.level, Level::DEBUG, "{event:?}");
        assert_fields(
            event,
            &[
                ("side", "server"),
                ("peer", "none"),
                ("sni", "none"),
                ("result", "failed"),
                ("reason", "closed"),
                ("alert", "none"),
            ],
            &[
                "version",
                "suite",
                "group",
                "alpn",
                "duration_ms",
                "error",
                "message",
            ],
        );
    }
}
