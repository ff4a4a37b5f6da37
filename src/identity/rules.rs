//! The rules a mesh workload certificate must meet beyond chain verification, in one place: what
//! the store enforces on the workload's own certificate, what both handshake sides enforce on the
//! peer's (inside the rustls verifiers, so a refused peer gets an alert), and what
//! `meshtls check-cert` reports. They follow X509-SVID (§4, §5) and apply to DNS-identity
//! certificates too, except where a rule is about SPIFFE IDs.
//!
//! Chain verification (rustls-webpki) already refuses a CA:TRUE leaf, an EKU without the usage the
//! side needs, an unknown critical extension and a certificate with trailing bytes; it does not
//! look at keyUsage or at how many identities a certificate carries. The rules are:
//!
//! - every certificate is exactly one DER value (no bytes after it) and has no critical extension
//!   outside the ones webpki processes (keyUsage, subjectAltName, basicConstraints, nameConstraints,
//!   cRLDistributionPoints, extendedKeyUsage);
//! - the leaf is not a CA (basicConstraints, if present, says CA:FALSE; absent means CA:FALSE, RFC
//!   5280 §4.2.1.9); it has a keyUsage with digitalSignature and with neither keyCertSign nor
//!   cRLSign (X509-SVID §4.3: a leaf without keyUsage does not set digitalSignature);
//! - its extendedKeyUsage, if present, has what the [`Role`] needs: serverAuth for a server,
//!   clientAuth for a client, both for a workload's own certificate (it serves both sides);
//! - the leaf carries an identity (a DNS or URI SAN); every URI SAN is a valid SPIFFE ID with a
//!   path (a leaf never carries a trust domain's own ID, X509-SVID §2), and there is at most one
//!   (X509-SVID §2: exactly one URI SAN in an SVID);
//! - every certificate after the leaf is a CA (basicConstraints CA:TRUE).

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_NAME_CONSTRAINTS,
    OID_X509_EXT_SUBJECT_ALT_NAME,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Id, Name, SpiffeId};

pub use crate::error::{LeafProblem, Position};

/// What a leaf certificate is checked for: which extendedKeyUsage it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A server's certificate, checked by a client: needs serverAuth.
    Server,
    /// A client's certificate, checked by a server: needs clientAuth.
    Client,
    /// A workload's own certificate, which it presents as server and as client: needs both.
    Workload,
}

impl Role {
    fn needs_server_auth(self) -> bool {
        matches!(self, Role::Server | Role::Workload)
    }

    fn needs_client_auth(self) -> bool {
        matches!(self, Role::Client | Role::Workload)
    }
}

/// The identities a certificate that meets the rules carries, in SAN order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identities {
    ids: Vec<Id>,
}

impl Identities {
    /// Every DNS and URI identity, in SAN order.
    pub fn all(&self) -> &[Id] {
        &self.ids
    }

    /// The SPIFFE ID, if the certificate has one (the rules allow at most one).
    pub fn spiffe(&self) -> Option<&SpiffeId> {
        self.ids.iter().find_map(|id| match id {
            Id::Uri(uri) => Some(uri),
            Id::Dns(_) => None,
        })
    }

    /// Only the SPIFFE ID: what a certificate verified against a federated trust domain's bundle
    /// proves (that domain's CA vouches for its own SPIFFE IDs, never for mesh DNS names).
    pub(crate) fn spiffe_only(self) -> Self {
        Identities {
            ids: self
                .ids
                .into_iter()
                .filter(|id| matches!(id, Id::Uri(_)))
                .collect(),
        }
    }
}

/// Every way `leaf` (DER) and `chain` (the certificates after it, DER, leaf excluded) break the
/// mesh's certificate rules (see the module docs); empty when they meet them all.
///
/// This does not verify signatures, validity dates or trust: that is chain verification's job
/// ([`TrustRoots::verify`](crate::creds::TrustRoots::verify)).
pub fn check<C: AsRef<[u8]>>(leaf: &[u8], chain: &[C], role: Role) -> Vec<LeafProblem> {
    inspect(leaf, chain, role).1
}

/// The identities of `leaf` if it and `chain` meet every rule for `role`.
///
/// # Errors
///
/// The first [`LeafProblem`] [`check`] finds.
pub fn identities<C: AsRef<[u8]>>(
    leaf: &[u8],
    chain: &[C],
    role: Role,
) -> Result<Identities, LeafProblem> {
    match read(leaf, chain, role) {
        (ids, None) => Ok(ids),
        (_, Some(problem)) => Err(problem),
    }
}

/// The identities `leaf` carries, whatever the rules say, and the first rule it and `chain` break:
/// for a verifier that picks the anchors by identity and reports a broken chain first.
pub(crate) fn read<C: AsRef<[u8]>>(
    leaf: &[u8],
    chain: &[C],
    role: Role,
) -> (Identities, Option<LeafProblem>) {
    let (ids, problems) = inspect(leaf, chain, role);
    (Identities { ids }, problems.into_iter().next())
}

/// One pass over the certificates: the leaf's identities and every rule broken.
fn inspect<C: AsRef<[u8]>>(leaf: &[u8], chain: &[C], role: Role) -> (Vec<Id>, Vec<LeafProblem>) {
    let mut problems = Vec::new();
    let mut ids = Vec::new();
    if let Some(cert) = parse(Position::Leaf, leaf, &mut problems) {
        ids = leaf_rules(&cert, role, &mut problems);
    }
    for (i, der) in chain.iter().enumerate() {
        let at = Position::Chain(i + 1);
        if let Some(cert) = parse(at, der.as_ref(), &mut problems) {
            if !cert.is_ca() {
                problems.push(LeafProblem::NotCa { at });
            }
        }
    }
    (ids, problems)
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

/// The rules for the end-entity certificate; returns its identities in SAN order.
fn leaf_rules(cert: &X509Certificate<'_>, role: Role, problems: &mut Vec<LeafProblem>) -> Vec<Id> {
    let mut ids = Vec::new();
    let mut uris = 0;
    let mut key_usage = false;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) if bc.ca => problems.push(LeafProblem::LeafIsCa),
            ParsedExtension::KeyUsage(ku) => {
                key_usage = true;
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
                if role.needs_server_auth() && !eku.server_auth {
                    problems.push(LeafProblem::MissingUsage {
                        missing: "serverAuth",
                    });
                }
                if role.needs_client_auth() && !eku.client_auth {
                    problems.push(LeafProblem::MissingUsage {
                        missing: "clientAuth",
                    });
                }
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        // A DNS SAN that is no mesh name (a wildcard, say) is no identity.
                        GeneralName::DNSName(dns) => {
                            if let Ok(name) = dns.parse::<Name>() {
                                ids.push(Id::Dns(name));
                            }
                        }
                        GeneralName::URI(uri) => {
                            uris += 1;
                            match uri.parse::<SpiffeId>() {
                                Ok(id) if id.path().is_empty() => {
                                    problems.push(LeafProblem::NoPath {
                                        uri: id.to_string(),
                                    })
                                }
                                Ok(id) => ids.push(Id::Uri(id)),
                                Err(reason) => problems.push(LeafProblem::BadUri {
                                    uri: (*uri).to_string(),
                                    reason,
                                }),
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !key_usage {
        problems.push(LeafProblem::NoKeyUsage);
    }
    if ids.is_empty() && uris == 0 {
        problems.push(LeafProblem::NoIdentity);
    }
    if uris > 1 {
        problems.push(LeafProblem::ManyUris { count: uris });
    }
    ids
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
            assert_eq!(
                check(&certs[0], &certs[1..], Role::Workload),
                vec![],
                "{name}"
            );
            assert!(identities(&certs[0], &certs[1..], Role::Workload).is_ok());
        }
    }

    #[test]
    fn a_ca_as_leaf_is_refused_and_a_leaf_as_intermediate_too() {
        let ca = chain("ca1.crt.pem").remove(0);
        let problems = check::<&[u8]>(&ca, &[], Role::Workload);
        assert!(problems.contains(&LeafProblem::LeafIsCa), "{problems:?}");
        assert!(problems.contains(&LeafProblem::LeafCaUsage {
            usage: "keyCertSign"
        }));
        assert!(problems.contains(&LeafProblem::NoIdentity));

        let foo = chain("foo-ca1.chain.pem").remove(0);
        let bar = chain("bar-ca1.chain.pem").remove(0);
        assert_eq!(
            check(&foo, &[bar], Role::Workload),
            vec![LeafProblem::NotCa {
                at: Position::Chain(1)
            }]
        );
    }

    #[test]
    fn no_san_is_no_identity() {
        let certs = chain("nosan-ca1.chain.pem");
        assert_eq!(
            identities(&certs[0], &certs[1..], Role::Client),
            Err(LeafProblem::NoIdentity)
        );
    }

    #[test]
    fn trailing_bytes_and_garbage() {
        let mut foo = chain("foo-ca1.chain.pem").remove(0);
        foo.extend_from_slice(&[0; 8]);
        assert_eq!(
            check::<&[u8]>(&foo, &[], Role::Workload),
            vec![LeafProblem::TrailingBytes {
                at: Position::Leaf,
                extra: 8
            }]
        );
        let problems = check::<&[u8]>(b"not a certificate", &[], Role::Workload);
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
