//! The credentials in force as one value ([`Configs`]), and the rustls configs built from them.
//!
//! [`crate::creds`] publishes [`Configs`]; [`crate::client`] and [`crate::server`] read them and
//! build the rustls config they need with the functions here: a client's carries the identities it
//! accepts of the server, a server's carries its authorization policy, both their ALPN protocols,
//! so each side decides inside the handshake. A config is built once per credential update per
//! client target or server ([`Derived`]), not per connection. The arrows go one way (as in
//! Linkerd's `linkerd/meshtls`): the receiver makes clients and servers, and neither this module
//! nor they import `creds` back.
//!
//! Both sides speak TLS 1.3 only, as mesh proxies do. Resumption is off on both sides: mesh
//! connections are long-lived, and in a FIPS build a ticket key would be crypto outside what
//! rustls's `fips()` accounts for. So the client keeps no sessions, and the server has no ticketer
//! and resumes nothing ([`Unresumable`]); it still sends one session ticket after each full
//! handshake, a random identifier whose session it has already forgotten, because that ticket is
//! how a client learns that the server accepted its certificate (`crate::handshake::confirm`).
//! Key logging and secret extraction keep their off defaults; nothing here can turn them on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig, SignatureScheme};

use crate::authz;
use crate::creds::served::Served;
use crate::identity::ServerId;
use crate::trust::verifiers::{ClientCheck, ServerCheck};
use crate::trust::Trust;
use crate::Error;

/// The credentials in force, published together so clients and servers never mix two.
#[derive(Debug)]
pub(crate) struct Configs {
    /// The mesh roots and federated bundles.
    pub(crate) trust: Arc<Trust>,
    /// The workload's certificate and key; `None` until one is set (servers refuse handshakes).
    pub(crate) certified: Option<Arc<Certified>>,
    /// What the receiver reports of them.
    pub(crate) served: Arc<Served>,
    /// Whether [`Configs::warn_if_expired`] has said so already.
    pub(crate) warned: AtomicBool,
}

impl Configs {
    /// Logs, once per credential update, that the certificate in force has expired: every new
    /// handshake with it fails at the peer, and the identity controller has not replaced it.
    pub(crate) fn warn_if_expired(&self) {
        let Some(cert) = &self.served.certificate else {
            return;
        };
        if cert.not_after < SystemTime::now() && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                identities = ?cert.identities,
                serial = %cert.serial,
                "the certificate in force has expired; peers will refuse every new handshake \
                 until the identity controller sets a new one"
            );
        }
    }
}

/// The one certified key a workload presents, as server and as client.
#[derive(Debug)]
pub(crate) struct Certified(pub(crate) Arc<CertifiedKey>);

// === impl Certified ===

impl ResolvesServerCert for Certified {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        crate::handshake::hello(hello.server_name());
        Some(self.0.clone())
    }
}

impl ResolvesClientCert for Certified {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // Only offer the certificate if the server accepts a scheme our key can sign with.
        self.0.key.choose_scheme(sigschemes)?;
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client config on `configs` and `provider` (the groups and suites offered): the server must
/// prove one of `accept`; `alpn` offered.
pub(crate) fn client(
    configs: &Configs,
    provider: &Arc<CryptoProvider>,
    accept: Arc<[ServerId]>,
    alpn: &[Vec<u8>],
) -> Result<ClientConfig, Error> {
    let verifier = ServerCheck {
        trust: configs.trust.clone(),
        accept,
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(Error::config)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match &configs.certified {
        Some(cert) => builder.with_client_cert_resolver(cert.clone()),
        None => builder.with_no_client_auth(),
    };
    config.resumption = Resumption::disabled();
    config.alpn_protocols = alpn.to_vec();
    check_fips(config.fips())?;
    Ok(config)
}

/// A server config on `configs` and `provider` (the groups and suites accepted) presenting the workload's certificate, admitting clients by
/// `policy`; `alpn` accepted. `None` while there is no certificate.
pub(crate) fn server(
    configs: &Configs,
    provider: &Arc<CryptoProvider>,
    policy: Arc<authz::Shared>,
    alpn: &[Vec<u8>],
) -> Result<Option<ServerConfig>, Error> {
    let Some(cert) = &configs.certified else {
        return Ok(None);
    };
    let verifier = ClientCheck {
        trust: configs.trust.clone(),
        policy,
    };
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(Error::config)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(cert.clone());
    config.session_storage = Arc::new(Unresumable);
    config.send_tls13_tickets = 1;
    config.alpn_protocols = alpn.to_vec();
    check_fips(config.fips())?;
    Ok(Some(config))
}

/// A server session store that keeps nothing, so no session is ever resumed, but says it stored
/// each one, so that rustls still sends the client a (useless) session ticket after the handshake:
/// the one message by which a TLS 1.3 client learns that the server accepted it. rustls makes the
/// ticket a random identifier; the session, with its resumption secret, is dropped here at once.
#[derive(Debug)]
struct Unresumable;

impl StoresServerSessions for Unresumable {
    fn put(&self, _id: Vec<u8>, _session: Vec<u8>) -> bool {
        true
    }

    fn get(&self, _id: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn take(&self, _id: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// In the FIPS build, a config rustls does not consider FIPS is a bug or a module out of FIPS mode:
/// refuse it rather than serve with it.
fn check_fips(fips: bool) -> Result<(), Error> {
    if cfg!(feature = "fips") && !fips {
        return Err(Error::FipsModeOff {
            module: crate::fips::status().version_string,
        });
    }
    Ok(())
}

// === impl Derived ===

/// A rustls config derived from the credentials in force: built on the first connection after each
/// update and shared by every connection until the next.
#[derive(Debug)]
pub(crate) struct Derived<C> {
    /// (the credentials it was built from, the config).
    cache: Mutex<Option<(Arc<Configs>, C)>>,
}

impl<C: Clone> Derived<C> {
    pub(crate) fn new() -> Self {
        Self {
            cache: Mutex::new(None),
        }
    }

    /// The config for `configs`: the cached one while they are unchanged, else `build`'s.
    pub(crate) fn get(
        &self,
        configs: &Arc<Configs>,
        build: impl FnOnce(&Configs) -> Result<C, Error>,
    ) -> Result<C, Error> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((built_from, config)) = &*cache {
            if Arc::ptr_eq(built_from, configs) {
                return Ok(config.clone());
            }
        }
        let config = build(configs)?;
        *cache = Some((configs.clone(), config.clone()));
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::creds::TrustRoots;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    fn configs() -> Configs {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/certs/");
        let roots = std::fs::read(format!("{dir}roots.pem")).unwrap();
        let chain = CertificateDer::pem_file_iter(format!("{dir}foo-ca1.chain.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(format!("{dir}foo-ca1.key.pem")).unwrap();
        let key = crate::provider::sign::load(&key).unwrap();
        let trust = Arc::new(Trust::new(TrustRoots::from_pem(&roots).unwrap()));
        Configs {
            served: Arc::new(Served::of(&trust, None)),
            trust,
            certified: Some(Arc::new(Certified(Arc::new(CertifiedKey::new(chain, key))))),
            warned: AtomicBool::new(false),
        }
    }

    #[test]
    fn no_resumption_one_unusable_ticket_no_key_log_no_extraction_tls13_only() {
        let configs = configs();
        let id: ServerId = ServerId("foo.ns1".parse().unwrap());
        let ours = crate::provider();
        let client = client(&configs, &ours, Arc::from(vec![id]), &[b"h2".to_vec()]).unwrap();
        let policy = Arc::new(authz::Shared::default());
        let server = server(&configs, &ours, policy, &[]).unwrap().unwrap();

        assert_eq!(
            format!("{:?}", client.resumption),
            format!("{:?}", Resumption::disabled())
        );
        // One ticket, for a session the server has already forgotten.
        assert!(!server.ticketer.enabled());
        assert_eq!(server.send_tls13_tickets, 1);
        assert!(server.session_storage.put(vec![1; 32], b"session".to_vec()));
        assert_eq!(server.session_storage.get(&[1; 32]), None);
        assert_eq!(server.session_storage.take(&[1; 32]), None);
        assert_eq!(server.max_early_data_size, 0);
        assert!(!client.enable_early_data);
        assert!(!client.enable_secret_extraction && !server.enable_secret_extraction);
        assert!(!client.key_log.will_log("CLIENT_RANDOM"));
        assert!(!server.key_log.will_log("CLIENT_RANDOM"));
        assert!(client.client_auth_cert_resolver.has_certs());
        assert_eq!(client.alpn_protocols, vec![b"h2".to_vec()]);
        for ours in [client.crypto_provider(), server.crypto_provider()] {
            assert!(Arc::ptr_eq(ours, &crate::provider()));
        }
        assert_eq!(client.fips(), cfg!(feature = "fips"));
        assert_eq!(server.fips(), cfg!(feature = "fips"));
    }

    #[test]
    fn derived_configs_are_rebuilt_only_on_an_update() {
        let derived = Derived::<Arc<u32>>::new();
        let (a, b) = (Arc::new(configs()), Arc::new(configs()));
        let first = derived.get(&a, |_| Ok(Arc::new(1))).unwrap();
        let again = derived.get(&a, |_| Ok(Arc::new(2))).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*derived.get(&b, |_| Ok(Arc::new(3))).unwrap(), 3);
    }
}
