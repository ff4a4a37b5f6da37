//! rustls's process default, with nothing else installing one: `check` passes before and after
//! `install`, which installs ours (once; again is a no-op). The process default is global, so this
//! binary has one test, in order; the foreign case is `tests/default_provider_foreign.rs`.

use meshtls::default_provider;
use rustls::crypto::CryptoProvider;

#[test]
fn nothing_installed_then_ours() {
    assert!(CryptoProvider::get_default().is_none());
    default_provider::check().expect("no default installed: nothing to fall back to");

    default_provider::install().expect("ours installs");
    let installed = CryptoProvider::get_default().expect("a default now");
    assert!(default_provider::is_ours(installed));
    // The copy rustls holds is the build's provider, component for component.
    assert_eq!(installed.fips(), meshtls::provider().fips());
    assert_eq!(installed.fips(), cfg!(feature = "fips"));
    let names =
        |p: &CryptoProvider| -> Vec<_> { p.cipher_suites.iter().map(|s| s.suite()).collect() };
    assert_eq!(names(installed), names(&meshtls::provider()));

    default_provider::check().expect("ours is installed");
    default_provider::install().expect("installing ours again is a no-op");

    // A config built on the default, as a library that takes none does, runs on ours.
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    assert!(default_provider::is_ours(config.crypto_provider()));
    assert_eq!(config.fips(), cfg!(feature = "fips"));
}
