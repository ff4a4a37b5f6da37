//! Trust roots: the mesh's PEM bundle of trust anchors.
//!
//! A bundle holds one or more anchors; during a root rotation it holds the old and the new at once.
//! Each way a bundle can be unusable has its own error, so an operator knows whether the file is
//! empty, is not PEM, or has a certificate that cannot anchor a chain.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::Error;

/// Parses `pem` into a root store, refusing an empty bundle and any unusable certificate.
pub(crate) fn parse(pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(|e| Error::RootsPem(e.to_string()))?;
        roots.add(cert).map_err(|e| Error::RootsUnparsable {
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    if roots.is_empty() {
        return Err(Error::RootsEmpty);
    }
    Ok(roots)
}
