//! Whom the mesh trusts: the mesh's roots, bundles per SPIFFE trust domain (federation), and the
//! check of a peer's certificate that both handshake sides run inside rustls.
//!
//! A certificate's trust anchors follow from its identity (X509-SVID §5, SPIFFE Federation): a
//! certificate whose SPIFFE ID is in trust domain T verifies only against T's bundle when one is
//! set, and then proves only that SPIFFE ID (T's CA does not vouch for mesh DNS names). Every other
//! certificate (DNS identities, and SPIFFE IDs of a domain without a bundle of its own) verifies
//! against the mesh roots, unless the mesh roots are one trust domain's bundle (`RootsScope`):
//! credentials from the SPIFFE Workload API are, and then a SPIFFE ID of a domain with no bundle
//! has nothing to verify against and is refused. So a CA that is trusted for one domain can never
//! issue identities of another.
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
    pub(crate) scope: RootsScope,
}

/// Whose identities the mesh roots vouch for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RootsScope {
    /// The mesh's (as in Linkerd): DNS identities, and SPIFFE IDs of every trust domain that has
    /// no bundle of its own.
    Mesh,
    /// Trust domain T's bundle (as the Workload API serves it): DNS identities and T's SPIFFE
    /// IDs. A SPIFFE ID of another domain verifies only against that domain's bundle; without
    /// one it is refused (X509-SVID §5).
    #[cfg_attr(not(feature = "spiffe"), allow(dead_code))]
    TrustDomain(TrustDomain),
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
            scope: RootsScope::Mesh,
        }
    }

    /// The anchors for a certificate with `ids`, and the trust domain whose bundle they are (`None`
    /// for the mesh roots). `Err` names the trust domain of a SPIFFE ID nothing here vouches for.
    fn anchors_for<'a>(
        &self,
        ids: &'a Identities,
    ) -> Result<(&TrustRoots, Option<&TrustDomain>), &'a str> {
        let Some(domain) = ids.spiffe().map(|id| id.trust_domain()) else {
            return Ok((&self.roots, None));
        };
        if let Some((td, roots)) = self.bundles.iter().find(|(td, _)| td.as_str() == domain) {
            return Ok((roots, Some(td)));
        }
        match &self.scope {
            RootsScope::TrustDomain(ours) if ours.as_str() != domain => Err(domain),
            RootsScope::Mesh | RootsScope::TrustDomain(_) => Ok((&self.roots, None)),
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
        let whose = match role {
            Role::Workload => Whose::Workload,
            Role::Server | Role::Client => Whose::Peer,
        };
        let (anchors, domain) = self.anchors_for(&ids).map_err(|td| {
            let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
            let error = Error::Untrusted {
                whose,
                reason: format!(
                    "its SPIFFE ID is in trust domain {td}, for which there is no bundle"
                ),
                source: tls.clone(),
            };
            Box::new((tls, error))
        })?;
        let checked = match role {
            Role::Server => anchors.verify_server_chain(end_entity, intermediates, now),
            Role::Client => anchors.verify_client_chain(end_entity, intermediates, now),
            Role::Workload => anchors
                .verify_server_chain(end_entity, intermediates, now)
                .and_then(|()| anchors.verify_client_chain(end_entity, intermediates, now)),
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
