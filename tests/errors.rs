//! Error texts people can read: PEM labels as text, "the workload's certificate" vs "the peer's
//! certificate", times as RFC 3339 dates, no `Debug` output, and the rustls error kept as
//! `source()` (issue 9, item 5).

mod mesh_support;

use std::error::Error as _;

use mesh_support::*;
use meshtls::creds::{self, chain_from_pem, key_from_pem, TrustRoots};
use meshtls::{Credentials, DerX509, Error, Whose};
use rustls::CertificateError;

/// Fails if `text` shows what only `Debug` or raw fields would: byte arrays, struct or tuple
/// syntax, UNIX seconds, rustls's "invalid peer certificate" prefix.
fn assert_readable(text: &str) {
    for leak in [
        "[4",
        "[6",
        "[7",
        "{ ",
        "Context",
        "OtherError",
        "Other(",
        "Some(",
        "(UNIX)",
        "seconds ago",
        "invalid peer certificate",
        "unexpected error:",
    ] {
        assert!(!text.contains(leak), "{leak:?} in {text:?}");
    }
}

/// The rustls error an [`Error`] carries as its `source()`.
fn rustls_source(e: &Error) -> &rustls::Error {
    e.source()
        .and_then(|s| s.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("no rustls source: {e:?}"))
}

fn truncated(file: &str) -> Vec<u8> {
    let mut pem = read(file);
    let end = pem.windows(5).rposition(|w| w == b"-----").unwrap();
    let start = pem[..end].windows(5).rposition(|w| w == b"-----").unwrap();
    pem.truncate(start); // drop the whole END line
    pem
}

fn watch_err(roots: &[u8]) -> Error {
    creds::watch(id(FOO), name(FOO), roots)
        .map(|_| ())
        .unwrap_err()
}

/// A store trusting only ca1, and what `set_certificate` says about fixture `cert`.
fn refused(cert: &str) -> Error {
    let (mut store, _rx) = creds::watch(id(FOO), name(FOO), &read("ca1.crt.pem")).unwrap();
    let (leaf, chain) = leaf_and_chain(cert);
    store
        .set_certificate(leaf, chain, key_der(cert), in_a_day())
        .unwrap_err()
}

#[test]
fn pem_errors_name_labels_as_text() {
    let cases = [
        (
            watch_err(&truncated("ca1.crt.pem")),
            "trust roots: malformed PEM: missing \"-----END CERTIFICATE-----\"",
        ),
        (
            chain_from_pem(&truncated("foo-ca1.chain.pem")).unwrap_err(),
            "certificate chain: missing \"-----END CERTIFICATE-----\"; expected PEM CERTIFICATE blocks, leaf first",
        ),
        (
            key_from_pem(&truncated("foo-ca1.key.pem")).unwrap_err(),
            "private key: missing \"-----END PRIVATE KEY-----\"; expected one PEM PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block",
        ),
        (
            key_from_pem(&truncated("foo-ca1.sec1.key.pem")).unwrap_err(),
            "private key: missing \"-----END EC PRIVATE KEY-----\"; expected one PEM PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block",
        ),
        (
            key_from_pem(b"").unwrap_err(),
            "private key: no PEM section found; expected one PEM PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block",
        ),
    ];
    for (err, want) in cases {
        assert_eq!(err.to_string(), want, "{err:?}");
        assert_readable(&err.to_string());
    }

    let junk = b"-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n";
    let err = chain_from_pem(junk).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("certificate chain: the text between BEGIN and END is not valid base64"),
        "{text}"
    );
    assert!(matches!(watch_err(junk), Error::RootsPem(ref r) if r.contains("not valid base64")));
}

#[test]
fn the_workloads_own_certificate_is_named_so() {
    let err = refused("foo-ca2");
    let Error::Untrusted { whose, reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*whose, Whose::Workload);
    assert!(
        reason.starts_with("it is not issued by any of the trust roots"),
        "{reason}"
    );
    assert_eq!(
        err.to_string(),
        format!("the workload's certificate does not verify to the trust roots: {reason}")
    );
    assert_readable(&err.to_string());
    assert_eq!(
        rustls_source(&err),
        &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );

    // TrustRoots::verify is about the workload's own certificate too.
    let roots = TrustRoots::from_pem(&read("ca1.crt.pem")).unwrap();
    let (leaf, chain) = leaf_and_chain("foo-ca2");
    let err = roots.verify(&leaf, &chain).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the workload's certificate does not verify"),
        "{err}"
    );
    // verify_server checks a server as a client would: the peer's.
    let err = roots.verify_server(&leaf, &chain).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Untrusted {
                whose: Whose::Peer,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("the peer's certificate does not verify"),
        "{err}"
    );
}

#[test]
fn times_are_rfc3339_dates() {
    let err = refused("expired-ca1");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the workload's certificate does not verify to the trust roots: it expired at \
             2002-01-01T00:00:00Z (checked at 20"
        ),
        "{text}"
    );
    assert!(text.ends_with("Z)"), "{text}");
    assert_readable(&text);
    assert!(matches!(
        rustls_source(&err),
        rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. })
    ));

    let err = refused("notyet-ca1");
    let text = err.to_string();
    assert!(
        text.contains("it is not valid before 2095-01-01T00:00:00Z (checked at 20"),
        "{text}"
    );
    assert_readable(&text);
    assert!(matches!(
        rustls_source(&err),
        rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext { .. })
    ));
}

#[test]
fn no_debug_output_in_display() {
    // A CA certificate installed as the workload's leaf: webpki's CaUsedAsEndEntity, which rustls
    // passes on as `Other(OtherError(..))`.
    for ca in ["ca1", "int1"] {
        let (mut store, _rx) = creds::watch(id(FOO), name(FOO), &read("ca1.crt.pem")).unwrap();
        let leaf = DerX509(
            chain_from_pem(&read(&format!("{ca}.crt.pem")))
                .unwrap()
                .0
                 .0,
        );
        let err = store
            .set_certificate(leaf, vec![], key_der(ca), in_a_day())
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(
            text,
            "the workload's certificate does not verify to the trust roots: it is a CA certificate \
             (basicConstraints CA:TRUE) presented as an end-entity certificate",
            "{ca}: {err:?}"
        );
        assert_readable(&text);
        let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = rustls_source(&err)
        else {
            panic!("{err:?}");
        };
        assert!(matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ));
    }

    // Signed with ECDSA-SHA1: the algorithm by name, not its DER bytes.
    let err = refused("sha1-ca1");
    assert_eq!(
        err.to_string(),
        "the workload's certificate does not verify to the trust roots: it is signed with \
         ecdsa-with-SHA1 (1.2.840.10045.4.1), which this build does not accept"
    );

    // A chain missing its intermediate.
    let (mut store, _rx) = creds::watch(id(FOO), name(FOO), &read("ca1.crt.pem")).unwrap();
    let (leaf, _int1) = leaf_and_chain("foo-int1");
    let text = store
        .set_certificate(leaf, vec![], key_der("foo-int1"), in_a_day())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("unknown issuer; is an intermediate missing"),
        "{text}"
    );
    assert_readable(&text);

    // A leaf that is not DER: x509-parser's `Parsing Error: NomError(Eof)` before.
    let (mut store, _rx) = creds::watch(id(FOO), name(FOO), &read("ca1.crt.pem")).unwrap();
    let err = store
        .set_certificate(
            DerX509(b"not a cert".to_vec()),
            vec![],
            key_der("foo-ca1"),
            in_a_day(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "certificate does not parse: not well-formed DER X.509"
    );

    // A trust anchor that is not DER: rustls's `invalid peer certificate: BadEncoding` before.
    let mut bundle = read("ca1.crt.pem");
    bundle.extend_from_slice(
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    let err = watch_err(&bundle);
    assert_eq!(
        err.to_string(),
        "trust roots: certificate #2 in the bundle is not a usable trust anchor: it is not a \
         well-formed DER X.509 certificate"
    );
}

/// Checks a handshake error is the peer's certificate, from an unknown issuer, said so in words.
fn assert_peer_unknown_issuer(err: &std::io::Error) {
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err:?}");
    let mesh = mesh_error(err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(
        matches!(
            mesh,
            Error::Untrusted {
                whose: Whose::Peer,
                ..
            }
        ),
        "{mesh:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the peer's certificate does not verify to the trust roots: it is not issued by any \
             of the trust roots"
        ),
        "{text}"
    );
    assert_readable(&text);
    assert_eq!(
        rustls_source(mesh),
        &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

/// In a handshake, the refused certificate is the peer's, on either side.
#[tokio::test]
async fn the_peers_certificate_in_a_handshake() {
    // bar trusts only ca1; foo presents its ca2 certificate.
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca2");
    let (_c, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");

    // bar's client refuses foo's server certificate...
    let (foo_addr, _accepted) = serve(foo.server()).await;
    let err = connect(&bar, foo_addr, target(FOO, FOO)).await.unwrap_err();
    assert_peer_unknown_issuer(&err);

    // ...and bar's server refuses foo's client certificate.
    let (bar_addr, mut accepted) = serve(bar.server()).await;
    let _ = connect(&foo, bar_addr, target(BAR, BAR)).await;
    assert_peer_unknown_issuer(&accepted.recv().await.unwrap().tls.unwrap_err());
}
