//! `meshtls::fips::self_test()` passes in this build and reports every known-answer test.

use meshtls::fips::{self_test, Build, SelfTestReport};

#[test]
fn self_test_passes_and_reports_every_kat() {
    let report = self_test().expect("self-test passes");
    assert_eq!(report.build, Build::current());
    let names: Vec<&str> = report.kats.iter().map(|k| k.name).collect();
    assert_eq!(names, SelfTestReport::KATS);
    assert_eq!(
        report.total(),
        report
            .kats
            .iter()
            .map(|k| k.duration)
            .sum::<std::time::Duration>()
    );
    let shown = report.to_string();
    assert!(shown.starts_with(&format!("self-test passed (build={}", Build::current())));
    for name in SelfTestReport::KATS {
        assert!(shown.contains(name), "{shown}");
    }
    println!("{report}");
}

#[test]
fn self_test_failure_names_the_kat() {
    let e = meshtls::Error::SelfTestFailed {
        kat: "ecdh-p256",
        detail: "shared secret",
    };
    let msg = e.to_string();
    assert!(
        msg.contains("ecdh-p256") && msg.contains("shared secret"),
        "{msg}"
    );
}
