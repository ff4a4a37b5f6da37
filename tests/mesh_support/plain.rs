//! Plain rustls peers (not mesh workloads, which would refuse to load a bad certificate) that present
//! any fixture and report how their handshake ended, so a test can see the alert a meshtls peer sent.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

fn chain_and_key(name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/certs/");
    let chain = CertificateDer::pem_file_iter(format!("{dir}{name}.chain.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}{name}.key.pem")).unwrap();
    (chain, key)
}

/// Accepts any server certificate: the plain client is here to present its own.
#[derive(Debug)]
struct AnyServer;

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        meshtls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A plain TLS 1.3 server presenting fixture `cert` on loopback. Each connection's handshake
/// outcome (`Ok` or the rustls error, e.g. the alert the client sent) comes on the channel.
pub async fn server(
    cert: &str,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<Result<(), rustls::Error>>,
) {
    let (chain, key) = chain_and_key(cert);
    let config = rustls::ServerConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let result = acceptor.accept(tcp).await.map(drop).map_err(|e| {
                e.into_inner()
                    .and_then(|e| e.downcast::<rustls::Error>().ok())
                    .map_or(rustls::Error::General("I/O".into()), |e| *e)
            });
            let _ = tx.send(result);
        }
    });
    (addr, rx)
}

/// A plain TLS 1.3 client presenting fixture `cert` (or none) to `addr`. Returns how the
/// connection ended as seen by the client: the error of its handshake, or of its first read after
/// it (where a TLS 1.3 client learns that the server refused its certificate).
pub async fn client(cert: Option<&str>, addr: SocketAddr) -> Result<(), rustls::Error> {
    let builder = rustls::ClientConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer));
    let config = match cert {
        Some(cert) => {
            let (chain, key) = chain_and_key(cert);
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(addr).await.unwrap();
    let sni = rustls::pki_types::ServerName::try_from(
        "foo.ns1.serviceaccount.identity.linkerd.cluster.local",
    )
    .unwrap();
    let as_tls = |e: std::io::Error| {
        e.into_inner()
            .and_then(|e| e.downcast::<rustls::Error>().ok())
            .map_or(rustls::Error::General("I/O".into()), |e| *e)
    };
    let mut io = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(sni, tcp)
        .await
        .map_err(as_tls)?;
    let mut byte = [0u8; 1];
    match io.read(&mut byte).await {
        Ok(_) => Ok(()),
        Err(e) => Err(as_tls(e)),
    }
}

/// The alert a peer sent, from the rustls error it caused.
pub fn alert(result: &Result<(), rustls::Error>) -> Option<rustls::AlertDescription> {
    match result {
        Err(rustls::Error::AlertReceived(alert)) => Some(*alert),
        _ => None,
    }
}
