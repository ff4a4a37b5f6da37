//! The rules a mesh workload certificate must meet beyond chain verification: what the mesh
//! enforces on its own certificate ([`creds::Store`](crate::creds::Store)) and on a peer's (both
//! handshake sides), and what `meshtls check-cert` reports, from one function, [`check`].
//!
//! Chain verification (rustls-webpki) already refuses a CA:TRUE leaf, a leaf without serverAuth or
//! clientAuth in its EKU, an unknown critical extension and a certificate with trailing bytes; it
//! does not look at keyUsage or at how many identities a certificate carries. The rules here are:
//!
//! - every certificate is exactly one DER value (no bytes after it) and has no critical extension
//!   outside the ones webpki processes (keyUsage, subjectAltName, basicConstraints, nameConstraints,
//!   cRLDistributionPoints, extendedKeyUsage);
//! - the leaf is not a CA (basicConstraints CA:TRUE), its keyUsage, if present, has
//!   digitalSignature and neither keyCertSign nor cRLSign, and its EKU, if present, has both
//!   serverAuth and clientAuth (a workload certificate serves both sides of mesh TLS);
//! - the leaf carries an identity (a DNS or URI SAN), at most one URI SAN, and every URI SAN is a
//!   valid SPIFFE ID;
//! - every certificate after the leaf is a CA (basicConstraints CA:TRUE).

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_NAME_CONSTRAINTS,
    OID_X509_EXT_SUBJECT_ALT_NAME,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::identity::SpiffeId;

pub use crate::error::{LeafProblem, Position};

/// Every way `leaf` (DER) and `chain` (the certificates after it, DER, leaf excluded) break the
/// mesh's certificate rules (see the module docs); empty when they meet them all.
///
/// This does not verify signatures, validity dates or trust: that is chain verification's job
/// ([`TrustRoots::verify`](crate::creds::TrustRoots::verify)).
pub fn check<C: AsRef<[u8]>>(leaf: &[u8], chain: &[C]) -> Vec<LeafProblem> {
    let mut problems = Vec::new();
    if let Some(cert) = parse(Position::Leaf, leaf, &mut problems) {
        leaf_rules(&cert, &mut problems);
    }
    for (i, der) in chain.iter().enumerate() {
        let at = Position::Chain(i + 1);
        if let Some(cert) = parse(at, der.as_ref(), &mut problems) {
            if !cert.is_ca() {
                problems.push(LeafProblem::NotCa { at });
            }
        }
    }
    problems
}

/// [`check`], as a `Result`: the first problem, if any.
///
/// # Errors
///
/// The first [`LeafProblem`] [`check`] finds.
pub fn verify<C: AsRef<[u8]>>(leaf: &[u8], chain: &[C]) -> Result<(), LeafProblem> {
    match check(leaf, chain).into_iter().next() {
        None => Ok(()),
        Some(problem) => Err(problem),
    }
}

/// Parses one certificate, recording the problems common to every position.
fn parse<'a>(
    at: Position,
    der: &'a [u8],
    problems: &mut Vec<LeafProblem>,
) -> Option<X509Certificate<'a>> {
    let (rest, cert) = match X509Certificate::from_der(der) {
        Ok(parsed) => parsed,
        Err(e) => {
            problems.push(LeafProblem::Unparsable {
                at,
                reason: e.to_string(),
            });
            return None;
        }
    };
    if !rest.is_empty() {
        problems.push(LeafProblem::TrailingBytes {
            at,
            extra: rest.len(),
        });
    }
    let known = [
        &OID_X509_EXT_KEY_USAGE,
        &OID_X509_EXT_SUBJECT_ALT_NAME,
        &OID_X509_EXT_BASIC_CONSTRAINTS,
        &OID_X509_EXT_NAME_CONSTRAINTS,
        &OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
        &OID_X509_EXT_EXTENDED_KEY_USAGE,
    ];
    for ext in cert.extensions() {
        if ext.critical && !known.contains(&&ext.oid) {
            problems.push(LeafProblem::UnknownCriticalExtension {
                at,
                oid: ext.oid.to_id_string(),
            });
        }
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            problems.push(LeafProblem::BadExtension {
                at,
                oid: ext.oid.to_id_string(),
                reason: error.to_string(),
            });
        }
    }
    Some(cert)
}

/// The rules for the end-entity certificate.
fn leaf_rules(cert: &X509Certificate<'_>, problems: &mut Vec<LeafProblem>) {
    let mut identities = 0;
    let mut uris = 0;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) if bc.ca => problems.push(LeafProblem::LeafIsCa),
            ParsedExtension::KeyUsage(ku) => {
                if ku.key_cert_sign() {
                    problems.push(LeafProblem::LeafCaUsage {
                        usage: "keyCertSign",
                    });
                }
                if ku.crl_sign() {
                    problems.push(LeafProblem::LeafCaUsage { usage: "cRLSign" });
                }
                if !ku.digital_signature() {
                    problems.push(LeafProblem::NoDigitalSignature);
                }
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                if !eku.server_auth {
                    problems.push(LeafProblem::MissingUsage {
                        missing: "serverAuth",
                    });
                }
                if !eku.client_auth {
                    problems.push(LeafProblem::MissingUsage {
                        missing: "clientAuth",
                    });
                }
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(_) => identities += 1,
                        GeneralName::URI(uri) => {
                            identities += 1;
                            uris += 1;
                            if let Err(reason) = uri.parse::<SpiffeId>() {
                                problems.push(LeafProblem::BadUri {
                                    uri: (*uri).to_string(),
                                    reason,
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if identities == 0 {
        problems.push(LeafProblem::NoIdentity);
    }
    if uris > 1 {
        problems.push(LeafProblem::ManyUris { count: uris });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    fn chain(name: &str) -> Vec<Vec<u8>> {
        let path = format!("{}/certs/{name}", env!("CARGO_MANIFEST_DIR"));
        CertificateDer::pem_file_iter(path)
            .unwrap()
            .map(|c| c.unwrap().to_vec())
            .collect()
    }

    #[test]
    fn the_fixture_leaves_meet_the_rules() {
        for name in [
            "foo-ca1",
            "foo-int1",
            "spiffe-foo-ca1",
            "p384-ca1",
            "rsa2048-ca1",
            "ed25519-ca1",
            "bar-ca1",
        ] {
            let certs = chain(&format!("{name}.chain.pem"));
            assert_eq!(check(&certs[0], &certs[1..]), vec![], "{name}");
            assert_eq!(verify(&certs[0], &certs[1..]), Ok(()));
        }
    }

    #[test]
    fn a_ca_as_leaf_is_refused_and_a_leaf_as_intermediate_too() {
        let ca = chain("ca1.crt.pem").remove(0);
        let problems = check::<&[u8]>(&ca, &[]);
        assert!(problems.contains(&LeafProblem::LeafIsCa), "{problems:?}");
        assert!(problems.contains(&LeafProblem::LeafCaUsage {
            usage: "keyCertSign"
        }));
        assert!(problems.contains(&LeafProblem::NoIdentity));

        let foo = chain("foo-ca1.chain.pem").remove(0);
        let bar = chain("bar-ca1.chain.pem").remove(0);
        assert_eq!(
            check(&foo, &[bar]),
            vec![LeafProblem::NotCa {
                at: Position::Chain(1)
            }]
        );
    }

    #[test]
    fn no_san_is_no_identity() {
        let certs = chain("nosan-ca1.chain.pem");
        assert_eq!(verify(&certs[0], &certs[1..]), Err(LeafProblem::NoIdentity));
    }

    #[test]
    fn trailing_bytes_and_garbage() {
        let mut foo = chain("foo-ca1.chain.pem").remove(0);
        foo.extend_from_slice(&[0; 8]);
        assert_eq!(
            check::<&[u8]>(&foo, &[]),
            vec![LeafProblem::TrailingBytes {
                at: Position::Leaf,
                extra: 8
            }]
        );
        let problems = check::<&[u8]>(b"not a certificate", &[]);
        assert!(matches!(
            problems[..],
            [LeafProblem::Unparsable {
                at: Position::Leaf,
                ..
            }]
        ));
    }

    #[test]
    fn texts_name_the_certificate_and_the_rule() {
        let p = LeafProblem::NotCa {
            at: Position::Chain(2),
        };
        assert!(p.to_string().starts_with("chain[2]: not a CA"));
        let p = LeafProblem::MissingUsage {
            missing: "serverAuth",
        };
        assert!(p.to_string().contains("lacks serverAuth"));
    }
}
