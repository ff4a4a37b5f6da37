//! The lowest layer: plain tokio-rustls on `meshtls::provider()`, no mesh API. Both configs name
//! the provider (`builder_with_provider`); the handshake runs, the connection reports the build's
//! `fips()`, and no rustls process default is installed.

mod mesh_support;

use std::sync::Arc;

use mesh_support::*;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

#[tokio::test]
async fn tls_connector_on_our_provider() {
    let (chain, key) = rustls_chain_and_key("foo-ca1");
    let server = rustls::ServerConfig::builder_with_provider(meshtls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(meshtls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls_roots("roots.pem"))
        .with_no_client_auth();
    assert_eq!(client.fips(), cfg!(feature = "fips"));

    let (c, s) = tokio::io::duplex(64 * 1024);
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let served = tokio::spawn(async move {
        let mut io = acceptor.accept(s).await.unwrap();
        let mut buf = [0; 4];
        io.read_exact(&mut buf).await.unwrap();
        io.write_all(&buf).await.unwrap();
        io.shutdown().await.unwrap();
    });
    let connector = TlsConnector::from(Arc::new(client));
    let name = ServerName::try_from(FOO).unwrap();
    let mut io = tokio::time::timeout(STEP, connector.connect(name, c))
        .await
        .expect("handshake hung")
        .unwrap();
    io.write_all(b"ping").await.unwrap();
    let mut back = Vec::new();
    io.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"ping");
    served.await.unwrap();

    let (_, conn) = io.get_ref();
    assert_eq!(conn.fips(), cfg!(feature = "fips"));
    let suite = conn.negotiated_cipher_suite().unwrap().suite();
    assert!(meshtls::provider()
        .cipher_suites
        .iter()
        .any(|s| s.suite() == suite));
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
