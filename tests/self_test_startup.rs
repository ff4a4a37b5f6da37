//! Credential setup runs the self-test once before the first configuration in the FIPS build (and
//! not in the default build). Its own test binary, so nothing else in the process ran it first.

#[test]
fn watch_runs_the_startup_self_test_in_the_fips_build_only() {
    assert!(
        meshtls::fips::startup_self_test().is_none(),
        "nothing ran it yet"
    );
    let roots = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/roots.pem")).unwrap();
    let id = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
    meshtls::creds::watch(id.parse().unwrap(), id.parse().unwrap(), &roots).unwrap();

    let ran = meshtls::fips::startup_self_test();
    assert_eq!(
        ran.is_some(),
        cfg!(feature = "fips"),
        "run in the FIPS build only"
    );
    if let Some(result) = ran {
        let report = result.as_ref().expect("start-up self-test passed");
        let names: Vec<_> = report.kats.iter().map(|k| k.name).collect();
        assert_eq!(names, meshtls::fips::SelfTestReport::KATS);
        println!("{report}");
    }
}
