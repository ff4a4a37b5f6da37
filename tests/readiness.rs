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
