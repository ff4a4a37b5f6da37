//! Helpers for tests/metrics.rs: scraping a registry, a plain rustls client held to one suite and
//! one group, and a key-exchange group no server has.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use meshtls::policy::{self, Kind};
use prometheus_client::registry::Registry;
use rustls::crypto::{ActiveKeyExchange, CryptoProvider, SharedSecret, SupportedKxGroup};
use rustls::{NamedGroup, SupportedCipherSuite};
use tokio::net::TcpStream;

/// The registry in the Prometheus text format.
pub fn scrape(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

/// The value of `series` (name and labels, exactly as encoded) in `text`, if it is there.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

/// [`value`], which must be there.
pub fn must(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

/// The TLS 1.3 suites and the groups this build's provider offers, as (row name, object).
pub fn offered_tls13_suites() -> Vec<(&'static str, SupportedCipherSuite)> {
    meshtls::provider()
        .cipher_suites
        .iter()
        .filter(|s| s.tls13().is_some())
        .map(|s| (policy::suite(s.suite()).unwrap().name, *s))
        .collect()
}

/// The groups this build's provider offers, as (row name, object).
pub fn offered_groups() -> Vec<(&'static str, &'static dyn SupportedKxGroup)> {
    meshtls::provider()
        .kx_groups
        .iter()
        .map(|g| (policy::group(g.name()).unwrap().name, *g))
        .collect()
}

/// Whether the policy table approves the row of `kind` named `name`.
pub fn approved(kind: Kind, name: &str) -> bool {
    policy::by_name(kind, name).unwrap().approval.is_approved()
}

/// A plain TLS 1.3 client on our provider, offering only `suite` and `group`, verifying the
/// server against `roots` for SNI `sni`, without a client certificate. Returns its handshake's
/// result.
pub async fn handshake_with(
    addr: SocketAddr,
    sni: &str,
    roots: rustls::RootCertStore,
    suite: SupportedCipherSuite,
    group: &'static dyn SupportedKxGroup,
) -> std::io::Result<()> {
    let provider = CryptoProvider {
        cipher_suites: vec![suite],
        kx_groups: vec![group],
        ..meshtls::provider().as_ref().clone()
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    let sni = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(sni, tcp)
        .await
        .map(drop)
}

/// A key-exchange group with a private-use id (0xfe00) that no server implements: a client
/// offering only it has no group in common with any server.
#[derive(Debug)]
pub struct NoSuchGroup;

pub static NO_SUCH_GROUP: NoSuchGroup = NoSuchGroup;

const PRIVATE_USE: NamedGroup = NamedGroup::Unknown(0xfe00);

impl SupportedKxGroup for NoSuchGroup {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        Ok(Box::new(NoSuchShare([7; 32])))
    }

    fn name(&self) -> NamedGroup {
        PRIVATE_USE
    }
}

/// A key share of [`NoSuchGroup`]: bytes that are sent, and never completed.
struct NoSuchShare([u8; 32]);

impl ActiveKeyExchange for NoSuchShare {
    fn complete(self: Box<Self>, _peer: &[u8]) -> Result<SharedSecret, rustls::Error> {
        Err(rustls::Error::General("a group no server has".into()))
    }

    fn pub_key(&self) -> &[u8] {
        &self.0
    }

    fn group(&self) -> NamedGroup {
        PRIVATE_USE
    }
}
