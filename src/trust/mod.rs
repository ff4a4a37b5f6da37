//! Whom the mesh trusts: the mesh's roots, bundles per SPIFFE trust domain (federation), and the
//! check of a peer's certificate that both handshake sides run inside rustls.
//!
//! A certificate's trust anchors follow from its identity (X509-SVID §5, SPIFFE Federation): a
//! certificate whose SPIFFE ID is in trust domain T verifies only against T's bundle when one is
//! set, and then proves only that SPIFFE ID (T's CA does not vouch for mesh DNS names). Every other
//! certificate (DNS identities, and SPIFFE IDs of a domain without a bundle of its own) verifies
//! against the mesh roots. So a CA that is trusted for one domain can never issue identities of
//! another.
//!
//! The check is the chain against the anchors the certificate's identity selects, then the mesh's
//! certificate rules ([`crate::identity::rules`]), from one parse of the leaf. Its errors are chosen for the alert rustls sends (RFC 8446 §6.2): a broken
//! usage rule is `unsupported_certificate`, a bad identity `bad_certificate`, an unknown issuer
//! `unknown_ca`; the caller gets our typed error beside it.

use std::collections::BTreeMap;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::CertificateError;

use crate::error::{LeafProblem, Whose};
use crate::identity::rules::{self, Identities, Role};
use crate::identity::TrustDomain;
use crate::Error;

mod roots;
pub(crate) mod verifiers;

pub use roots::{Fingerprint, TrustRoots};

/// The mesh roots and the federated bundles, as one value published with the credentials.
#[derive(Clone, Debug)]
pub(crate) struct Trust {
    pub(crate) roots: TrustRoots,
    pub(crate) bundles: BTreeMap<TrustDomain, TrustRoots>,
}

/// A peer refused: the rustls error the handshake fails with (it picks the alert) and our
/// description of it. Boxed: a refusal is the rare path, and the pair is large.
pub(crate) type Refusal = Box<(rustls::Error, Error)>;

// === impl Trust ===

impl Trust {
    /// Trust in `roots` alone, no federation.
    pub(crate) fn new(roots: TrustRoots) -> Self {
        Self {
            roots,
            bundles: BTreeMap::new(),
        }
    }

    /// The anchors for a certificate with `ids`, and the trust domain whose bundle they are (`None`
    /// for the mesh roots).
    fn anchors_for(&self, ids: &Identities) -> (&TrustRoots, Option<&TrustDomain>) {
        let bundle = ids.spiffe().and_then(|id| {
            self.bundles
                .iter()
                .find(|(td, _)| td.as_str() == id.trust_domain())
        });
        match bundle {
            Some((td, roots)) => (roots, Some(td)),
            None => (&self.roots, None),
        }
    }

    /// The check of a peer's certificate in `role`: the rules, then the chain against the anchors
    /// its identity selects. Returns the identities it proves.
    pub(crate) fn verify_peer(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        role: Role,
    ) -> Result<Identities, Refusal> {
        let (ids, problem) = rules::read(end_entity, intermediates, role);
        let (anchors, domain) = self.anchors_for(&ids);
        let checked = match role {
            Role::Server => anchors.verify_server_chain(end_entity, intermediates, now),
            Role::Client => anchors.verify_client_chain(end_entity, intermediates, now),
            Role::Workload => anchors
                .verify_server_chain(end_entity, intermediates, now)
                .and_then(|()| anchors.verify_client_chain(end_entity, intermediates, now)),
        };
        let whose = match role {
            Role::Workload => Whose::Workload,
            Role::Server | Role::Client => Whose::Peer,
        };
        checked.map_err(|e| Box::new((e.clone(), untrusted(whose, e, domain))))?;
        if let Some(problem) = problem {
            let tls = rustls::Error::InvalidCertificate(alert_for(&problem));
            return Err(Box::new((tls, problem.into())));
        }
        Ok(match domain {
            Some(_) => ids.spiffe_only(),
            None => ids,
        })
    }

    /// The check of the workload's own certificate: what [`Trust::verify_peer`] is for a peer, for
    /// both usages, now.
    pub(crate) fn verify_own(
        &self,
        leaf: &[u8],
        chain: &[CertificateDer<'_>],
    ) -> Result<Identities, Error> {
        let leaf = CertificateDer::from(leaf);
        self.verify_peer(&leaf, chain, UnixTime::now(), Role::Workload)
            .map_err(|refusal| refusal.1)
    }
}

/// [`Error::Untrusted`], saying which bundle the chain was checked against.
fn untrusted(whose: Whose, source: rustls::Error, domain: Option<&TrustDomain>) -> Error {
    match (Error::untrusted(whose, source), domain) {
        (
            Error::Untrusted {
                whose,
                reason,
                source,
            },
            Some(td),
        ) => Error::Untrusted {
            whose,
            reason: format!("{reason} (checked against the bundle of trust domain {td})"),
            source,
        },
        (error, _) => error,
    }
}

/// The rustls error, and so the alert, for a certificate that breaks the mesh's rules.
pub(crate) fn alert_for(problem: &LeafProblem) -> CertificateError {
    match problem {
        LeafProblem::Unparsable { .. }
        | LeafProblem::TrailingBytes { .. }
        | LeafProblem::BadExtension { .. } => CertificateError::BadEncoding,
        LeafProblem::UnknownCriticalExtension { .. } => {
            CertificateError::UnhandledCriticalExtension
        }
        LeafProblem::NoIdentity
        | LeafProblem::ManyUris { .. }
        | LeafProblem::BadUri { .. }
        | LeafProblem::NoPath { .. } => CertificateError::NotValidForName,
        // Usage: CA bits, keyUsage, extendedKeyUsage, a non-CA issuer.
        _ => CertificateError::InvalidPurpose,
    }
}
