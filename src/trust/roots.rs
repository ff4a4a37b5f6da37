//! One bundle of trust anchors (a PEM file of CA certificates) and chain verification against it.
//!
//! A bundle holds one or more anchors; during a root rotation it holds the old and the new at once.
//! Each way a bundle can be unusable has its own error, so an operator knows whether the file is
//! empty, is not PEM, or has a certificate that cannot anchor a chain.

use std::fmt;
use std::sync::Arc;

use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ParsedCertificate, VerifierBuilderError, WebPkiClientVerifier};
use rustls::RootCertStore;

use crate::error::Whose;
use crate::identity::DerX509;
use crate::Error;

/// A SHA-256 fingerprint of a trust anchor's DER certificate, shown as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A bundle of trust anchors, with the chain checks built on them (our provider's algorithms only).
#[derive(Clone)]
pub struct TrustRoots {
    store: Arc<RootCertStore>,
    fingerprints: Arc<[Fingerprint]>,
    /// webpki's client-certificate chain check (clientAuth usage) on these anchors.
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
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::RootsPem(Error::pem_reason(&e)))?;
        Self::from_der(certs)
    }

    /// A bundle of DER certificates (as the SPIFFE Workload API delivers them), refusing an empty
    /// bundle and any certificate that cannot be a trust anchor.
    ///
    /// # Errors
    ///
    /// As [`TrustRoots::from_pem`], but for PEM.
    pub fn from_der(
        certs: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Result<Self, Error> {
        let mut store = RootCertStore::empty();
        let mut fingerprints = Vec::new();
        for (i, cert) in certs.into_iter().enumerate() {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert);
            let mut fingerprint = [0; 32];
            fingerprint.copy_from_slice(digest.as_ref());
            store.add(cert).map_err(|e| Error::RootsUnparsable {
                index: i + 1,
                reason: Error::certificate_reason(&e),
            })?;
            fingerprints.push(Fingerprint(fingerprint));
        }
        if store.is_empty() {
            return Err(Error::RootsEmpty);
        }
        let store = Arc::new(store);
        let client = WebPkiClientVerifier::builder_with_provider(store.clone(), crate::provider())
            .allow_unauthenticated()
            .build()
            .map_err(|e| {
                Error::config(match e {
                    VerifierBuilderError::InvalidCrl(crl) => {
                        rustls::Error::InvalidCertRevocationList(crl)
                    }
                    other => rustls::Error::General(other.to_string()),
                })
            })?;
        Ok(Self {
            store,
            fingerprints: fingerprints.into(),
            client,
        })
    }

    /// How many anchors the bundle holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Always false: an empty bundle is refused.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// The SHA-256 fingerprints of the anchors, in bundle order.
    pub fn fingerprints(&self) -> &[Fingerprint] {
        &self.fingerprints
    }

    /// Checks that the workload's own `leaf` chains through `chain` to an anchor now, for use both
    /// as a server and as a client certificate (as a mesh workload uses it), with signatures this
    /// build accepts. Chain only: the mesh's certificate rules are
    /// [`identity::rules`](crate::identity::rules).
    ///
    /// # Errors
    ///
    /// [`Error::Untrusted`] about [`Whose::Workload`] when it does not; the rustls error is its
    /// `source()`.
    pub fn verify(&self, leaf: &DerX509, chain: &[DerX509]) -> Result<(), Error> {
        let (leaf, chain) = ders(leaf, chain);
        let now = UnixTime::now();
        self.verify_server_chain(&leaf, &chain, now)
            .and_then(|()| self.verify_client_chain(&leaf, &chain, now))
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
        self.verify_server_chain(&leaf, &chain, UnixTime::now())
            .map_err(|e| Error::untrusted(Whose::Peer, e))
    }

    /// The chain check for a server certificate: anchor, validity, signatures, serverAuth.
    pub(crate) fn verify_server_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        let algs = crate::provider().signature_verification_algorithms;
        verify_server_cert_signed_by_trust_anchor(&cert, &self.store, intermediates, now, algs.all)
    }

    /// The chain check for a client certificate: anchor, validity, signatures, clientAuth.
    pub(crate) fn verify_client_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        self.client
            .verify_client_cert(end_entity, intermediates, now)
            .map(drop)
    }
}

impl fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRoots")
            .field("fingerprints", &self.fingerprints)
            .finish()
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
