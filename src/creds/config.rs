//! The rustls configurations the mesh uses, built only on our provider.
//!
//! Both sides speak TLS 1.3 only, as mesh proxies do. Resumption is off on both sides (no session
//! cache, no tickets): mesh connections are long-lived, and in a FIPS build a ticket key would be
//! crypto outside what rustls's `fips()` accounts for. Key logging and secret extraction keep their
//! off defaults; nothing here can turn them on.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{
    ClientHello, NoServerSessionStorage, ResolvesServerCert, VerifierBuilderError,
    WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use super::verify::AnySanVerifier;
use crate::Error;

/// The one certified key a workload presents, as server and as client.
#[derive(Debug)]
pub(crate) struct Certified(pub(crate) Arc<CertifiedKey>);

// === impl Certified ===

impl ResolvesServerCert for Certified {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
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

/// A client config: chain verified by `verifier`, with `cert` as the client certificate if given.
pub(crate) fn client(
    verifier: Arc<AnySanVerifier>,
    cert: Option<Arc<Certified>>,
) -> Result<ClientConfig, Error> {
    let builder = ClientConfig::builder_with_provider(crate::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(Error::config)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match cert {
        Some(cert) => builder.with_client_cert_resolver(cert),
        None => builder.with_no_client_auth(),
    };
    config.resumption = Resumption::disabled();
    check_fips(config.fips())?;
    Ok(config)
}

/// The server's client-certificate check: optional, but a certificate that is sent must chain to
/// `roots` (with clientAuth usage).
pub(crate) fn client_verifier(
    roots: Arc<RootCertStore>,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    WebPkiClientVerifier::builder_with_provider(roots, crate::provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| {
            Error::config(match e {
                VerifierBuilderError::InvalidCrl(crl) => {
                    rustls::Error::InvalidCertRevocationList(crl)
                }
                other => rustls::Error::General(other.to_string()),
            })
        })
}

/// A server config presenting `cert`, checking client certificates with `verifier` and then with
/// the mesh's certificate rules ([`crate::leaf::check`]).
pub(crate) fn server(
    verifier: Arc<dyn ClientCertVerifier>,
    cert: Arc<Certified>,
) -> Result<ServerConfig, Error> {
    let mut config = ServerConfig::builder_with_provider(crate::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(Error::config)?
        .with_client_cert_verifier(Arc::new(LeafRules(verifier)))
        .with_cert_resolver(cert);
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    check_fips(config.fips())?;
    Ok(config)
}

/// A client-certificate verifier that also applies [`crate::leaf::check`] to a chain the wrapped verifier accepted.
#[derive(Debug)]
struct LeafRules(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for LeafRules {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.0.verify_client_cert(end_entity, intermediates, now)?;
        super::verify::leaf_rules(end_entity, intermediates)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    fn roots() -> Arc<RootCertStore> {
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/roots.pem")).unwrap();
        let mut store = RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            store.add(cert.unwrap()).unwrap();
        }
        Arc::new(store)
    }

    fn certified() -> Arc<Certified> {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/certs/");
        let chain = CertificateDer::pem_file_iter(format!("{dir}foo-ca1.chain.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(format!("{dir}foo-ca1.key.pem")).unwrap();
        let key = crate::provider::sign::load(&key).unwrap();
        Arc::new(Certified(Arc::new(CertifiedKey::new(chain, key))))
    }

    #[test]
    fn no_resumption_no_tickets_no_key_log_no_extraction_tls13_only() {
        let roots = roots();
        let verifier = Arc::new(AnySanVerifier::new(roots.clone()));
        let client = client(verifier, Some(certified())).unwrap();
        let server = server(client_verifier(roots).unwrap(), certified()).unwrap();

        assert_eq!(
            format!("{:?}", client.resumption),
            format!("{:?}", Resumption::disabled())
        );
        assert!(!server.session_storage.can_cache());
        assert!(!server.ticketer.enabled());
        assert_eq!(server.send_tls13_tickets, 0);
        assert_eq!(server.max_early_data_size, 0);
        assert!(!client.enable_early_data);
        assert!(!client.enable_secret_extraction && !server.enable_secret_extraction);
        assert!(!client.key_log.will_log("CLIENT_RANDOM"));
        assert!(!server.key_log.will_log("CLIENT_RANDOM"));
        assert!(client.client_auth_cert_resolver.has_certs());
        for ours in [client.crypto_provider(), server.crypto_provider()] {
            assert!(Arc::ptr_eq(ours, &crate::provider()));
        }
        assert_eq!(client.fips(), cfg!(feature = "fips"));
        assert_eq!(server.fips(), cfg!(feature = "fips"));
    }
}
