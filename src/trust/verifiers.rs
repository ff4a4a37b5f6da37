//! The two rustls verifiers the mesh runs: a client's check of the server, a server's check of the
//! client. Both run [`Trust::verify_peer`] and then their side's identity decision, and
//! [`record`](crate::handshake::record) what they decided for the caller driving the handshake.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::Trust;
use crate::authz::{self, Unauthenticated};
use crate::handshake::{record, Verdict};
use crate::identity::rules::{Identities, Role};
use crate::identity::{Id, ServerId};
use crate::Error;

fn algorithms() -> WebPkiSupportedAlgorithms {
    crate::provider().signature_verification_algorithms
}

/// [`Trust::verify_peer`], recording a refusal's reason for the caller driving the handshake.
fn checked(
    trust: &Trust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    role: Role,
) -> Result<Identities, rustls::Error> {
    trust
        .verify_peer(end_entity, intermediates, now, role)
        .map_err(|refusal| {
            let (tls, error) = *refusal;
            record(Verdict::Refused(error));
            tls
        })
}

/// A peer's TLS 1.2 handshake signature, with our provider's algorithms (both verifiers).
fn tls12_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify_tls12_signature(message, cert, dss, &algorithms())
}

/// A peer's TLS 1.3 handshake signature, with our provider's algorithms (both verifiers).
fn tls13_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify_tls13_signature(message, cert, dss, &algorithms())
}

// === impl ServerCheck ===

/// A client's check of the server: trusted for its identity, and proving one of `accept`.
#[derive(Debug)]
pub(crate) struct ServerCheck {
    pub(crate) trust: Arc<Trust>,
    pub(crate) accept: Arc<[ServerId]>,
}

impl ServerCertVerifier for ServerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ids = checked(&self.trust, end_entity, intermediates, now, Role::Server)?;
        if !ids
            .all()
            .iter()
            .any(|id| self.accept.iter().any(|a| a.0 == *id))
        {
            let expected: Vec<String> = self.accept.iter().map(|a| a.to_string()).collect();
            record(Verdict::Refused(Error::IdMismatch {
                expected: expected.join(" or "),
                found: ids.all().iter().map(Id::to_string).collect(),
            }));
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName,
            ));
        }
        record(Verdict::Proved(ids));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}

// === impl ClientCheck ===

/// A server's check of the client: trusted for its identity, and allowed by the policy in force.
#[derive(Debug)]
pub(crate) struct ClientCheck {
    pub(crate) trust: Arc<Trust>,
    pub(crate) policy: Arc<authz::Shared>,
}

impl ClientCertVerifier for ClientCheck {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.policy.current().unauthenticated() == Unauthenticated::Refuse
    }

    /// No CA names: a mesh workload has one certificate and sends it whatever the hints.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ids = checked(&self.trust, end_entity, intermediates, now, Role::Client)?;
        if let Err(refused) = self.policy.current().check(Some(ids.all())) {
            record(Verdict::Refused(Error::Unauthorized(refused)));
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        record(Verdict::Proved(ids));
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}
