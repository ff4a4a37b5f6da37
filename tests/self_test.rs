//! `meshtls::fips::self_test()` passes in this build and reports every known-answer test. (That a
//! failing known answer stops the run and is named is a unit test in `src/fips/self_test.rs`, which
//! can feed the runner a wrong expected value.)

use meshtls::fips::{self_test, Build, SelfTestReport};

#[test]
fn self_test_passes_and_reports_every_kat() {
    let report = self_test().expect("self-test passes");
    assert_eq!(report.build, Build::current());
    let names: Vec<&str> = report.kats.iter().map(|k| k.name).collect();
    assert_eq!(names, SelfTestReport::KATS);
    // Each KAT ran objects of rows this build's provider offers (and, in a FIPS build, approves).
    for kat in &report.kats {
        assert!(!kat.covers.is_empty(), "{}", kat.name);
        for (kind, name) in kat.covers {
            let row = meshtls::policy::by_name(*kind, name)
                .unwrap_or_else(|| panic!("{}: no policy row {kind} {name}", kat.name));
            assert!(row.offered(), "{}: {name}", kat.name);
        }
    }
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
