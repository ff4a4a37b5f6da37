//! Prints the crypto module's FIPS status, then runs one mutual-TLS handshake over loopback TCP with
//! meshtls' provider on both ends (identities from `certs/`), and prints what was negotiated.
//!
//! `cargo run --example handshake` (default build) or
//! `cargo run --example handshake --no-default-features --features fips` (regulated build).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned,
};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SERVER_ID: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";

fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs")
}

fn chain(name: &str) -> Res<Vec<CertificateDer<'static>>> {
    Ok(
        CertificateDer::pem_file_iter(certs().join(format!("{name}.chain.pem")))?
            .collect::<Result<_, _>>()?,
    )
}

fn key(name: &str) -> Res<PrivateKeyDer<'static>> {
    Ok(PrivateKeyDer::from_pem_file(
        certs().join(format!("{name}.key.pem")),
    )?)
}

fn roots() -> Res<Arc<RootCertStore>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(certs().join("ca1.crt.pem"))? {
        roots.add(cert?)?;
    }
    Ok(Arc::new(roots))
}

fn main() -> Res<()> {
    // Fail closed: a FIPS build whose module is not in FIPS mode stops here.
    let status = meshtls::fips::check()?;
    println!("module:     {} ({})", status.version_string, status.module);
    println!(
        "build:      {} (FIPS mode: {}, linkage: {})",
        status.build, status.fips_mode, status.linkage
    );
    println!("validation: {}", status.validation);

    let provider = meshtls::provider();
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots()?, provider.clone()).build()?;
    let server_cfg = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(chain("foo-ca1")?, key("foo-ca1")?)?;
    let client_cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots()?)
        .with_client_auth_cert(chain("bar-ca1")?, key("bar-ca1")?)?;
    println!(
        "provider:   fips()={}, client fips()={}",
        provider.fips(),
        client_cfg.fips()
    );

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = std::thread::spawn(move || -> Res<String> {
        let (tcp, _) = listener.accept()?;
        let mut tls = StreamOwned::new(ServerConnection::new(Arc::new(server_cfg))?, tcp);
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf)?;
        tls.write_all(b"pong")?;
        tls.conn.send_close_notify();
        tls.flush()?;
        let peer = tls.conn.peer_certificates().map_or(0, |c| c.len());
        Ok(format!(
            "server got {:?} from a client presenting {peer} certificate(s)",
            String::from_utf8_lossy(&buf)
        ))
    });

    let tcp = TcpStream::connect(addr)?;
    let conn = ClientConnection::new(Arc::new(client_cfg), ServerName::try_from(SERVER_ID)?)?;
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(b"ping!")?;
    let mut reply = String::new();
    tls.read_to_string(&mut reply)?;
    println!("{}", server.join().map_err(|_| "server thread panicked")??);
    println!("client got {reply:?} from {SERVER_ID} on {addr}");
    println!(
        "negotiated: {:?}, {:?}, {:?}",
        tls.conn.protocol_version().ok_or("no version")?,
        tls.conn
            .negotiated_cipher_suite()
            .ok_or("no suite")?
            .suite(),
        tls.conn
            .negotiated_key_exchange_group()
            .ok_or("no group")?
            .name(),
    );
    Ok(())
}
