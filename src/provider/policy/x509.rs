//! A certificate's algorithms judged by the policy table: its public key (type, curve, size) and its
//! signature algorithm, compared byte for byte with the DER `AlgorithmIdentifier`s the provider's
//! verifiers declare (the comparison webpki itself makes), so a certificate this reports as fine is
//! one the TLS stack has a verifier for, and the other way round.

use rustls::pki_types::SignatureVerificationAlgorithm;
use x509_parser::asn1_rs::Any;
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::row::{Algorithm, Kind};
use super::table::ROWS;
use crate::error::text::oid_name as name_of;
use crate::Error;

/// What [`certificate`] found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CertAlgorithms {
    /// The public key, e.g. `ECDSA P-256`, `RSA 2048 bits`, `EC on curve secp521r1`.
    pub key: String,
    /// The key-type row the key matches, if any row does.
    pub key_row: Option<&'static Algorithm>,
    /// Why this build refuses the key, if it does.
    pub key_problem: Option<String>,
    /// The signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature: String,
    /// Why this build cannot verify the signature, if it cannot.
    pub signature_problem: Option<String>,
}

/// Judges the public key and the signature algorithm of the DER certificate `der`.
///
/// # Errors
///
/// [`Error::CertParse`] if `der` is not an X.509 certificate.
pub fn certificate(der: &[u8]) -> Result<CertAlgorithms, Error> {
    let parts = Parts::parse(der)?;
    let (key, key_row, key_problem) = judge_key(&parts.cert, parts.spki_alg);
    let signature = name_of(&parts.cert.signature_algorithm.algorithm);
    let signature_problem = (!verifiers().any(|v| v.signature_alg_id().as_ref() == parts.sig_alg))
        .then(|| format!("{signature} signatures are not verified by this build"));
    Ok(CertAlgorithms {
        key,
        key_row,
        key_problem,
        signature,
        signature_problem,
    })
}

/// Whether this build can verify `cert`'s signature with `issuer`'s key: `None` if a verifier of
/// this build takes that key type and that signature algorithm, else the problem.
///
/// Only the algorithms are compared; the signature itself is checked by chain verification.
pub fn issued_by(cert: &[u8], issuer: &[u8]) -> Option<String> {
    let (cert, issuer) = match (Parts::parse(cert), Parts::parse(issuer)) {
        (Ok(c), Ok(i)) => (c, i),
        (Err(e), _) | (_, Err(e)) => return Some(e.to_string()),
    };
    let usable = verifiers().any(|v| {
        v.public_key_alg_id().as_ref() == issuer.spki_alg
            && v.signature_alg_id().as_ref() == cert.sig_alg
    });
    (!usable).then(|| {
        let (key, ..) = judge_key(&issuer.cert, issuer.spki_alg);
        format!(
            "no verifier in this build takes {} signatures made with a {key} key",
            name_of(&cert.cert.signature_algorithm.algorithm)
        )
    })
}

/// A parsed certificate with the raw contents of its two `AlgorithmIdentifier`s.
struct Parts<'a> {
    cert: X509Certificate<'a>,
    /// Contents of `subjectPublicKeyInfo.algorithm`.
    spki_alg: &'a [u8],
    /// Contents of `Certificate.signatureAlgorithm`.
    sig_alg: &'a [u8],
}

impl<'a> Parts<'a> {
    fn parse(der: &'a [u8]) -> Result<Self, Error> {
        let bad = |what: &str| Error::CertParse(format!("not an X.509 certificate ({what})"));
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| bad(&e.to_string()))?;
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        let (_, outer) = Any::from_der(der).map_err(|_| bad("outer SEQUENCE"))?;
        let (rest, _tbs) = Any::from_der(outer.data).map_err(|_| bad("tbsCertificate"))?;
        let (_, sig_alg) = Any::from_der(rest).map_err(|_| bad("signatureAlgorithm"))?;
        // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey }
        let (_, spki) =
            Any::from_der(cert.tbs_certificate.subject_pki.raw).map_err(|_| bad("SPKI"))?;
        let (_, spki_alg) = Any::from_der(spki.data).map_err(|_| bad("SPKI algorithm"))?;
        Ok(Self {
            spki_alg: spki_alg.data,
            sig_alg: sig_alg.data,
            cert,
        })
    }
}

/// Every certificate verifier this build's provider offers (the key rows' verifiers).
fn verifiers() -> impl Iterator<Item = &'static dyn SignatureVerificationAlgorithm> {
    ROWS.iter()
        .filter(|r| r.kind == Kind::Key && r.offered())
        .flat_map(|r| r.verifiers().iter().copied())
}

fn judge_key(
    cert: &X509Certificate<'_>,
    spki_alg: &[u8],
) -> (String, Option<&'static Algorithm>, Option<String>) {
    let row = ROWS.iter().find(|r| {
        r.kind == Kind::Key
            && r.offered()
            && r.verifiers()
                .iter()
                .any(|v| v.public_key_alg_id().as_ref() == spki_alg)
    });
    let spki = cert.public_key();
    let rsa_bits = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(bit_length(rsa.modulus)),
        _ => None,
    };
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| name_of(&oid));
    let description = match (rsa_bits, row, curve) {
        (Some(bits), _, _) => format!("RSA {bits} bits"),
        (None, Some(row), _) => row.name.to_string(),
        (None, None, Some(curve)) => {
            format!("{} on curve {curve}", name_of(&spki.algorithm.algorithm))
        }
        (None, None, None) => name_of(&spki.algorithm.algorithm),
    };
    let problem = match (row, rsa_bits) {
        (None, _) => Some(format!(
            "{description} keys are not supported by this build"
        )),
        (Some(row), Some(bits)) => row.rsa_bits().and_then(|(min, max)| {
            (bits < min || bits > max)
                .then(|| format!("RSA key of {bits} bits: this build accepts {min} to {max} bits"))
        }),
        (Some(_), None) => None,
    };
    (description, row, problem)
}

/// The bit length of a big-endian unsigned integer.
fn bit_length(be: &[u8]) -> usize {
    let digits = match be.iter().position(|&b| b != 0) {
        Some(first) => &be[first..],
        None => return 0,
    };
    digits.len() * 8 - digits[0].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/certs/{name}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read(path).expect("fixture");
        crate::creds::chain_from_pem(&pem).expect("PEM").0 .0
    }

    #[test]
    fn the_test_pki_is_accepted() {
        let leaf = fixture("foo-ca1.chain.pem");
        let got = certificate(&leaf).expect("parses");
        assert_eq!(got.key_problem, None, "{got:?}");
        assert_eq!(got.signature_problem, None, "{got:?}");
        assert!(got.key_row.is_some(), "{got:?}");
        let root = fixture("ca1.crt.pem");
        assert_eq!(issued_by(&leaf, &root), None);
        assert_eq!(issued_by(&root, &root), None);
    }

    #[test]
    fn weak_keys_and_sha1_signatures_are_problems() {
        let rsa1024 = certificate(&fixture("rsa1024-ca1.chain.pem")).expect("parses");
        assert_eq!(rsa1024.key, "RSA 1024 bits");
        assert!(rsa1024.key_problem.is_some(), "{rsa1024:?}");
        let sha1 = certificate(&fixture("sha1-ca1.chain.pem")).expect("parses");
        assert!(sha1.signature_problem.is_some(), "{sha1:?}");
        for ok in [
            "p384-ca1.chain.pem",
            "ed25519-ca1.chain.pem",
            "rsa2048-ca1.chain.pem",
        ] {
            let got = certificate(&fixture(ok)).expect("parses");
            assert_eq!(
                (got.key_problem, got.signature_problem),
                (None, None),
                "{ok}"
            );
        }
    }

    #[test]
    fn algorithms_are_named_by_oid_registry() {
        use x509_parser::oid_registry::{
            OID_NIST_EC_P521, OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519, OID_SIG_ED448,
        };
        assert_eq!(name_of(&OID_SIG_ED448), "ed448");
        assert_eq!(name_of(&OID_SIG_ED25519), "ed25519");
        assert_eq!(name_of(&OID_NIST_EC_P521), "secp521r1");
        assert_eq!(name_of(&OID_SIG_ECDSA_WITH_SHA512), "ecdsa-with-SHA512");
        let unknown = x509_parser::asn1_rs::Oid::from(&[1, 2, 3, 4]).expect("oid");
        assert_eq!(name_of(&unknown), "1.2.3.4");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(certificate(b"junk"), Err(Error::CertParse(_))));
        assert!(issued_by(b"junk", b"junk").is_some());
    }
}
