//! The client's server-certificate check: chain to the mesh roots, ignoring the DNS-SAN match.
//!
//! A mesh client sends the server's *name* as SNI but requires the server's *identity*, which may be
//! a SPIFFE URI that no DNS-name check could match. So the handshake verifies only the chain (trust
//! anchor, validity, signatures, serverAuth usage) with our provider's algorithms, and
//! [`crate::client`] checks the identity when the handshake is done.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// Verifies a server chain against the roots, whatever name it is for.
#[derive(Debug)]
pub(crate) struct AnySanVerifier {
    roots: Arc<RootCertStore>,
    algs: WebPkiSupportedAlgorithms,
}

// === impl AnySanVerifier ===

impl AnySanVerifier {
    pub(crate) fn new(roots: Arc<RootCertStore>) -> Self {
        let algs = crate::provider().signature_verification_algorithms;
        Self { roots, algs }
    }

    /// The chain check alone: `end_entity` chains through `intermediates` to a root at `now`, with
    /// signatures we accept and a serverAuth usage.
    pub(crate) fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algs.all,
        )
    }
}

/// A peer certificate that breaks [`crate::leaf::check`], as the rustls error a handshake fails with.
pub(crate) fn leaf_rules(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<(), Error> {
    crate::leaf::verify(end_entity, intermediates).map_err(|problem| {
        Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
            Arc::new(problem),
        )))
    })
}

impl ServerCertVerifier for AnySanVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.verify_chain(end_entity, intermediates, now)?;
        leaf_rules(end_entity, intermediates)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
