//! Trust roots: the mesh's PEM bundle of trust anchors, and verification of chains against it.
//!
//! A bundle holds one or more anchors; during a root rotation it holds the old and the new at once.
//! Each way a bundle can be unusable has its own error, so an operator knows whether the file is
//! empty, is not PEM, or has a certificate that cannot anchor a chain.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::RootCertStore;

use super::{config, AnySanVerifier};
use crate::error::Whose;
use crate::identity::DerX509;
use crate::Error;

/// The mesh's trust anchors, with the verifiers built on them (our provider's algorithms only).
#[derive(Clone, Debug)]
pub struct TrustRoots {
    anchors: usize,
    server: Arc<AnySanVerifier>,
    client: Arc<dyn ClientCertVerifier>,
}

// === impl TrustRoots ===

impl TrustRoots {
    /// Parses a PEM bundle, refusing an empty bundle, malformed PEM and any certificate that
    /// cannot be a trust anchor.
    ///
    /// # Errors
    ///
    /// [`Error::RootsPem`] for malformed PEM, [`Error::RootsUnparsable`] (with its position) for a
    /// certificate that cannot anchor a chain, [`Error::RootsEmpty`] for a bundle without a
    /// certificate, [`Error::Config`] if rustls refuses the verifier built on them.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let cert = cert.map_err(|e| Error::RootsPem(Error::pem_reason(&e)))?;
            roots.add(cert).map_err(|e| Error::RootsUnparsable {
                index: i + 1,
                reason: Error::certificate_reason(&e),
            })?;
        }
        if roots.is_empty() {
            return Err(Error::RootsEmpty);
        }
        let anchors = roots.len();
        let roots = Arc::new(roots);
        Ok(Self {
            anchors,
            server: Arc::new(AnySanVerifier::new(roots.clone())),
            client: config::client_verifier(roots)?,
        })
    }

    /// How many anchors the bundle holds.
    pub fn len(&self) -> usize {
        self.anchors
    }

    /// Always false: an empty bundle is refused.
    pub fn is_empty(&self) -> bool {
        self.anchors == 0
    }

    /// Checks that the workload's own `leaf` chains through `chain` to an anchor now, for use both
    /// as a server and as a client certificate (as a mesh workload uses it), with signatures this
    /// build accepts.
    ///
    /// # Errors
    ///
    /// [`Error::Untrusted`] about [`Whose::Workload`] when it does not; the rustls error is its
    /// `source()`.
    pub fn verify(&self, leaf: &DerX509, chain: &[DerX509]) -> Result<(), Error> {
        let (leaf, chain) = ders(leaf, chain);
        let now = UnixTime::now();
        self.server
            .verify_chain(&leaf, &chain, now)
            .and_then(|()| self.client.verify_client_cert(&leaf, &chain, now).map(drop))
            .map_err(|e| Error::untrusted(Whose::Workload, e))
    }

    /// Checks that a peer's `leaf` chains through `chain` to an anchor now as a server certificate
    /// (serverAuth), whatever names it carries: what a client checks of the server it reached.
    ///
    /// # Errors
    ///
    /// [`Error::Untrusted`] about [`Whose::Peer`] when it does not; the rustls error is its
    /// `source()`.
    pub fn verify_server(&self, leaf: &DerX509, chain: &[DerX509]) -> Result<(), Error> {
        let (leaf, chain) = ders(leaf, chain);
        self.server
            .verify_chain(&leaf, &chain, UnixTime::now())
            .map_err(|e| Error::untrusted(Whose::Peer, e))
    }

    pub(crate) fn server_verifier(&self) -> Arc<AnySanVerifier> {
        self.server.clone()
    }

    pub(crate) fn client_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.client.clone()
    }
}

fn ders<'a>(
    leaf: &'a DerX509,
    chain: &'a [DerX509],
) -> (CertificateDer<'a>, Vec<CertificateDer<'a>>) {
    let chain = chain
        .iter()
        .map(|c| CertificateDer::from(c.0.as_slice()))
        .collect();
    (CertificateDer::from(leaf.0.as_slice()), chain)
}

/// Reads a PEM certificate chain, leaf first.
///
/// # Errors
///
/// [`Error::ChainPem`] when the PEM is malformed or holds no CERTIFICATE block.
pub fn chain_from_pem(pem: &[u8]) -> Result<(DerX509, Vec<DerX509>), Error> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::ChainPem(Error::pem_reason(&e)))?;
        certs.push(DerX509(cert.to_vec()));
    }
    if certs.is_empty() {
        return Err(Error::ChainPem("no CERTIFICATE block".into()));
    }
    let leaf = certs.remove(0);
    Ok((leaf, certs))
}

/// Reads a PEM private key (PKCS#8, SEC1 or PKCS#1) into DER for
/// [`Credentials::set_certificate`](crate::Credentials::set_certificate).
///
/// # Errors
///
/// [`Error::KeyPem`] when the PEM is malformed or holds no private-key block.
pub fn key_from_pem(pem: &[u8]) -> Result<Vec<u8>, Error> {
    use rustls::pki_types::PrivateKeyDer;
    let key =
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::KeyPem(Error::pem_reason(&e)))?;
    Ok(key.secret_der().to_vec())
}
