//! Reading a workload's certificate chain and private key from PEM.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::identity::DerX509;
use crate::Error;

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
    let key =
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::KeyPem(Error::pem_reason(&e)))?;
    Ok(key.secret_der().to_vec())
}
