//! The probe's server-certificate verifier.

use std::sync::Mutex;

use meshtls::creds::TrustRoots;
use meshtls::DerX509;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Checks the chain if roots were given, else accepts it for the report; handshake signatures are
/// always verified with the provider's algorithms, and the scheme the server signed with is kept
/// for the report.
#[derive(Debug)]
pub(super) struct Verifier {
    roots: Option<TrustRoots>,
    scheme: Mutex<Option<SignatureScheme>>,
}

impl Verifier {
    /// A verifier that checks chains against `roots`, or (without) accepts them for the report.
    pub(super) fn new(roots: Option<TrustRoots>) -> Self {
        Self {
            roots,
            scheme: Mutex::new(None),
        }
    }

    fn record(&self, scheme: SignatureScheme) {
        if let Ok(mut seen) = self.scheme.lock() {
            *seen = Some(scheme);
        }
    }

    /// The signature scheme the server signed its handshake with, once it has.
    pub(super) fn scheme(&self) -> Option<SignatureScheme> {
        self.scheme.lock().ok().and_then(|s| *s)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let leaf = DerX509(end_entity.to_vec());
        let chain: Vec<DerX509> = intermediates.iter().map(|c| DerX509(c.to_vec())).collect();
        match roots.verify_server(&leaf, &chain) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(meshtls::Error::Untrusted { source, .. }) => Err(source),
            Err(e) => Err(rustls::Error::General(e.to_string())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(dss.scheme);
        let algs = meshtls::provider().signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(dss.scheme);
        let algs = meshtls::provider().signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        meshtls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
