//! Shared test (and bench) helpers: the certs/ fixtures, configs on a given provider, and an
//! in-memory handshake driver.
#![allow(dead_code)]

pub mod peer;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
    SupportedProtocolVersion,
};

/// foo's DNS identity, the SAN of `foo-ca1`.
pub const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";

pub fn cert_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("certs")
        .join(name)
}

/// The certificate chain of fixture `name` (e.g. `foo-ca1`).
pub fn chain(name: &str) -> Vec<CertificateDer<'static>> {
    let path = cert_path(&format!("{name}.chain.pem"));
    let certs: Vec<_> = CertificateDer::pem_file_iter(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!certs.is_empty(), "{} holds no certificate", path.display());
    certs
}

/// The private key of fixture `name`; `file` may name another encoding (e.g. `foo-ca1.sec1`).
pub fn key(file: &str) -> PrivateKeyDer<'static> {
    let path = cert_path(&format!("{file}.key.pem"));
    PrivateKeyDer::from_pem_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A root store holding `ca1` (or any fixture list).
pub fn roots(names: &[&str]) -> Arc<RootCertStore> {
    let mut store = RootCertStore::empty();
    for name in names {
        for cert in CertificateDer::pem_file_iter(cert_path(&format!("{name}.crt.pem"))).unwrap() {
            store.add(cert.unwrap()).unwrap();
        }
    }
    Arc::new(store)
}

/// The TLS versions a build may use.
pub fn versions() -> Vec<&'static SupportedProtocolVersion> {
    vec![
        &rustls::version::TLS13,
        #[cfg(feature = "tls12")]
        &rustls::version::TLS12,
    ]
}

/// A provider restricted to one suite and/or one group (by name), for pinning a negotiation.
pub fn narrowed(
    base: &CryptoProvider,
    suite: Option<rustls::CipherSuite>,
    group: Option<rustls::NamedGroup>,
) -> Arc<CryptoProvider> {
    let mut p = base.clone();
    if let Some(s) = suite {
        p.cipher_suites.retain(|cs| cs.suite() == s);
        assert!(!p.cipher_suites.is_empty(), "provider has no suite {s:?}");
    }
    if let Some(g) = group {
        p.kx_groups.retain(|kx| kx.name() == g);
        assert!(!p.kx_groups.is_empty(), "provider has no group {g:?}");
    }
    Arc::new(p)
}

/// Panics unless `p` is (a narrowing of) meshtls' provider: same RNG, key loader and verifiers, and
/// only our suites and groups. Guards against rustls's process-default provider sneaking in.
pub fn assert_ours(p: &CryptoProvider) {
    let ours = meshtls::provider();
    // RNG and key provider are zero-sized, so compare what they say they are, not addresses.
    assert_eq!(
        format!("{:?}", p.secure_random),
        format!("{:?}", ours.secure_random),
        "foreign RNG"
    );
    assert_eq!(
        format!("{:?}", p.key_provider),
        format!("{:?}", ours.key_provider),
        "foreign key provider"
    );
    assert!(std::ptr::eq(
        p.signature_verification_algorithms.all,
        ours.signature_verification_algorithms.all
    ));
    for s in &p.cipher_suites {
        assert!(
            ours.cipher_suites
                .iter()
                .any(|o| suite_ptr(o) == suite_ptr(s)),
            "foreign suite {:?}",
            s.suite()
        );
    }
    for g in &p.kx_groups {
        assert!(
            ours.kx_groups.iter().any(|o| std::ptr::addr_eq(*o, *g)),
            "foreign group {:?}",
            g.name()
        );
    }
}

fn suite_ptr(s: &rustls::SupportedCipherSuite) -> *const () {
    match s {
        rustls::SupportedCipherSuite::Tls13(t) => *t as *const _ as *const (),
        #[cfg(feature = "tls12")]
        rustls::SupportedCipherSuite::Tls12(t) => *t as *const _ as *const (),
        #[allow(unreachable_patterns)]
        _ => std::ptr::null(),
    }
}

/// [`server_config_on`] for (a narrowing of) our provider, asserted.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    identity: &str,
) -> Result<ServerConfig, rustls::Error> {
    assert_ours(&provider);
    server_config_on(provider, versions, identity)
}

/// [`client_config_on`] for (a narrowing of) our provider, asserted.
pub fn client_config(
    provider: Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    identity: &str,
) -> Result<ClientConfig, rustls::Error> {
    assert_ours(&provider);
    client_config_on(provider, versions, identity)
}

/// Mutual-auth server config on any provider: presents fixture `identity`, requires client certs
/// from `ca1`.
pub fn server_config_on(
    provider: Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    identity: &str,
) -> Result<ServerConfig, rustls::Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&["ca1"]), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain(identity), key(identity))
}

/// Mutual-auth client config on any provider: presents fixture `identity`, trusts `ca1`.
pub fn client_config_on(
    provider: Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    identity: &str,
) -> Result<ClientConfig, rustls::Error> {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(&["ca1"]), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(chain(identity), key(identity))
}

/// The SNI every in-memory handshake uses: the server's DNS SAN.
pub fn sni_for(identity: &str) -> ServerName<'static> {
    let dns = match identity {
        "p384-ca1" => "p384.ns1.serviceaccount.identity.linkerd.cluster.local",
        "rsa2048-ca1" => "rsa2048.ns1.serviceaccount.identity.linkerd.cluster.local",
        "rsa1024-ca1" => "rsa1024.ns1.serviceaccount.identity.linkerd.cluster.local",
        "ed25519-ca1" => "ed25519.ns1.serviceaccount.identity.linkerd.cluster.local",
        "sha1-ca1" => "sha1.ns1.serviceaccount.identity.linkerd.cluster.local",
        "bar-ca1" => "bar.ns1.serviceaccount.identity.linkerd.cluster.local",
        _ => FOO,
    };
    ServerName::try_from(dns).unwrap()
}

/// Moves all pending TLS bytes from `from` to `to`, through `filter`.
fn shuttle(
    from: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl Sized>>,
    to: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl Sized>>,
    filter: &mut dyn FnMut(Vec<u8>) -> Vec<u8>,
) -> Result<usize, rustls::Error> {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let n = buf.len();
    if n == 0 {
        return Ok(0);
    }
    let buf = filter(buf);
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
        to.process_new_packets()?;
    }
    Ok(n)
}

/// Which side failed a handshake, and how.
#[derive(Debug)]
pub enum Failed {
    Client(rustls::Error),
    Server(rustls::Error),
}

/// Runs a handshake in memory; `client_to_server`/`server_to_client` may rewrite the bytes in flight.
pub fn handshake_filtered(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    client_to_server: &mut dyn FnMut(Vec<u8>) -> Vec<u8>,
    server_to_client: &mut dyn FnMut(Vec<u8>) -> Vec<u8>,
) -> Result<(), Failed> {
    for _ in 0..32 {
        let a = shuttle(client, server, client_to_server).map_err(Failed::Server)?;
        let b = shuttle(server, client, server_to_client).map_err(Failed::Client)?;
        if a == 0 && b == 0 && !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        if a == 0 && b == 0 {
            break;
        }
    }
    panic!("handshake stalled without an error");
}

/// Runs a handshake in memory.
pub fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), Failed> {
    handshake_filtered(client, server, &mut |b| b, &mut |b| b)
}

/// Connections for `client_cfg`/`server_cfg`, SNI from the server identity.
pub fn pair(
    client_cfg: ClientConfig,
    server_cfg: ServerConfig,
    server_identity: &str,
) -> (ClientConnection, ServerConnection) {
    let client = ClientConnection::new(Arc::new(client_cfg), sni_for(server_identity)).unwrap();
    let server = ServerConnection::new(Arc::new(server_cfg)).unwrap();
    (client, server)
}

/// Sends `data` from `a` to `b` and checks it arrives intact.
pub fn exchange(a: &mut Connection, b: &mut Connection, data: &[u8]) {
    a.writer().write_all(data).unwrap();
    let mut wire = Vec::new();
    while a.wants_write() {
        a.write_tls(&mut wire).unwrap();
    }
    let mut rd = &wire[..];
    while !rd.is_empty() {
        b.read_tls(&mut rd).unwrap();
        b.process_new_packets().unwrap();
    }
    let mut got = vec![0u8; data.len()];
    b.reader().read_exact(&mut got).unwrap();
    assert_eq!(got, data);
}
