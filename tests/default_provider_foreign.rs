//! Another library's provider installed as rustls's process default (rustls's ring provider, as a
//! crate that installs its own would): `check` refuses to start, and `install` cannot replace it.
//! One test: the process default is global and cannot be uninstalled.

use meshtls::default_provider;
use meshtls::Error;
use rustls::crypto::CryptoProvider;

#[test]
fn a_foreign_default_is_refused() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .expect("nothing installed yet");

    let err = default_provider::check().expect_err("ring's provider is not ours");
    let Error::ForeignDefaultProvider { found } = &err else {
        panic!("not ForeignDefaultProvider: {err:?}");
    };
    assert!(found.starts_with("cipher suite "), "{found}");
    assert!(
        err.to_string()
            .starts_with("rustls's process-default crypto provider is not meshtls's (cipher suite"),
        "{err}"
    );

    let err = default_provider::install().expect_err("another default is installed");
    assert!(
        matches!(err, Error::ForeignDefaultProvider { .. }),
        "{err:?}"
    );
    // Still ring's: install did not pretend otherwise.
    let installed = CryptoProvider::get_default().unwrap();
    assert!(!default_provider::is_ours(installed));

    // Ours is unaffected: meshtls never reads the default.
    assert!(default_provider::is_ours(&meshtls::provider()));
}
