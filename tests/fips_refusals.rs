//! FIPS.md §6: secret extraction (`enable_secret_extraction`, `dangerous_extract_secrets`, what kTLS
//! uses) is outside what rustls's `fips()` checks, so the provider refuses it itself: in the FIPS
//! build `extract_keys` fails for every AES-GCM suite and record keys never leave the module.
//!
//! Shown with real handshakes over tokio loopback, one per suite the provider offers, on configs
//! built with `meshtls::provider()` and secret extraction turned on at both ends. In the FIPS build
//! extraction fails at both ends while `fips()` still says true (which is why the refusal must be
//! the provider's). In the default build it succeeds, and the two ends hold the same keys.

mod mesh_support;

use std::sync::Arc;

use mesh_support::*;
use rustls::pki_types::ServerName;
use rustls::{
    ConnectionTrafficSecrets, ExtractedSecrets, SignatureAlgorithm, SupportedCipherSuite,
    SupportedProtocolVersion,
};
use tokio::net::{TcpListener, TcpStream};

const RSA: &str = "rsa2048.ns1.serviceaccount.identity.linkerd.cluster.local";

/// The suite's protocol version, and the fixture (and its name) a server for it presents: an ECDSA
/// certificate unless the suite is a TLS 1.2 ECDHE-RSA one.
fn setup(
    suite: SupportedCipherSuite,
) -> (
    &'static SupportedProtocolVersion,
    &'static str,
    &'static str,
) {
    if suite.tls13().is_some() || suite.usable_for_signature_algorithm(SignatureAlgorithm::ECDSA) {
        (suite.version(), "foo-ca1", FOO)
    } else {
        (suite.version(), "rsa2048-ca1", RSA)
    }
}

/// A provider offering only `suite`.
fn only(suite: SupportedCipherSuite) -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = (*meshtls::provider()).clone();
    provider.cipher_suites = vec![suite];
    Arc::new(provider)
}

/// Handshakes on `suite` with secret extraction enabled at both ends, and extracts at both ends:
/// (the client's result, the server's result, whether the client and server configs say `fips()`).
async fn handshake_and_extract(
    suite: SupportedCipherSuite,
) -> (
    Result<ExtractedSecrets, rustls::Error>,
    Result<ExtractedSecrets, rustls::Error>,
    bool,
) {
    let (version, cert, dns) = setup(suite);
    let (chain, key) = rustls_chain_and_key(cert);
    let mut server = rustls::ServerConfig::builder_with_provider(only(suite))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    server.enable_secret_extraction = true;
    server.send_tls13_tickets = 0;

    let roots = rustls_roots("ca1.crt.pem");
    let mut client = rustls::ClientConfig::builder_with_provider(only(suite))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.enable_secret_extraction = true;
    let fips = client.fips() && server.fips();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let accept = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.expect("server handshake");
        tls.into_inner().1.dangerous_extract_secrets()
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from(dns).unwrap(), tcp)
        .await
        .expect("client handshake");
    assert_eq!(
        tls.get_ref().1.negotiated_cipher_suite().map(|s| s.suite()),
        Some(suite.suite())
    );
    let client_secrets = tls.into_inner().1.dangerous_extract_secrets();
    (client_secrets, accept.await.unwrap(), fips)
}

/// A record key's variant, key bytes and IV bytes.
fn parts(secrets: &ConnectionTrafficSecrets) -> (&'static str, Vec<u8>, Vec<u8>) {
    match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => {
            ("AES-128-GCM", key.as_ref().to_vec(), iv.as_ref().to_vec())
        }
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => {
            ("AES-256-GCM", key.as_ref().to_vec(), iv.as_ref().to_vec())
        }
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => (
            "ChaCha20-Poly1305",
            key.as_ref().to_vec(),
            iv.as_ref().to_vec(),
        ),
        _ => panic!("a record-protection algorithm this provider does not offer"),
    }
}

#[tokio::test]
async fn secret_extraction_is_refused_in_the_fips_build_only() {
    let suites = meshtls::provider().cipher_suites.clone();
    assert!(!suites.is_empty());
    for suite in suites {
        let name = suite.suite();
        let (client, server, fips) = handshake_and_extract(suite).await;
        if cfg!(feature = "fips") {
            // rustls itself would allow it: the configs still say FIPS.
            assert!(fips, "{name:?}: the configs should report fips()");
            for (side, result) in [("client", client), ("server", server)] {
                let err = result.err().unwrap_or_else(|| {
                    panic!("{name:?}: {side} extracted record keys in the FIPS build")
                });
                assert_eq!(
                    err,
                    rustls::Error::General("operation not supported".into()),
                    "{name:?} {side}"
                );
            }
        } else {
            let client = client.unwrap_or_else(|e| panic!("{name:?} client: {e}"));
            let server = server.unwrap_or_else(|e| panic!("{name:?} server: {e}"));
            // Each direction's keys are the same at both ends.
            assert_eq!(parts(&client.tx.1), parts(&server.rx.1), "{name:?}");
            assert_eq!(parts(&client.rx.1), parts(&server.tx.1), "{name:?}");
            assert_ne!(parts(&client.tx.1), parts(&client.rx.1), "{name:?}");
        }
    }
}
