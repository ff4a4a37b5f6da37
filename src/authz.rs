//! Which clients a server lets in: an authorization [`Policy`], applied inside the handshake.
//!
//! A server is built with a policy ([`Server::with_policy`](crate::Server::with_policy)) and can
//! swap it at run time ([`Server::set_policy`](crate::Server::set_policy)); the next handshake
//! uses the new one. A client whose verified identity no rule allows fails the handshake with the
//! `access_denied` alert, and `accept` returns [`Error::Unauthorized`](crate::Error::Unauthorized)
//! with the [`Refused`] reason, for the proxy's logs. A client without a certificate, when the
//! policy refuses those, gets `certificate_required`.
//!
//! Rules match the identities the client's certificate proves (a certificate verified against a
//! federated bundle proves only its SPIFFE ID, see [`crate::trust`]). Prefixes and suffixes match
//! whole path segments and whole DNS labels: `spiffe://td/ns/a` allows `spiffe://td/ns/a/sa/x` but
//! not `spiffe://td/ns/ab`; `ns1.svc` allows `foo.ns1.svc` but not `foons1.svc`.

use std::fmt;
use std::sync::{Arc, RwLock};

pub use crate::error::Refused;
use crate::identity::{Id, Name, SpiffeId, TrustDomain};

/// One kind of client a [`Policy`] allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Exactly this identity.
    Id(Id),
    /// Every SPIFFE ID of this trust domain.
    TrustDomain(TrustDomain),
    /// SPIFFE IDs equal to this one or under its path, segment by segment.
    SpiffePrefix(SpiffeId),
    /// DNS identities equal to this name or ending in `.` and this name, label by label.
    DnsSuffix(Name),
    /// Any client with a verified identity.
    AnyIdentity,
}

/// Whether clients that send no certificate may connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unauthenticated {
    /// They connect, with no client identity (what a mesh that lets policy decide later wants).
    Allow,
    /// The handshake requires a certificate; without one it fails with `certificate_required`.
    Refuse,
}

/// A server's authorization policy: the rules that allow clients, and what to do with clients that
/// send no certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Rule>,
    unauthenticated: Unauthenticated,
}

// === impl Rule ===

impl Rule {
    /// Whether this rule allows `id`.
    pub fn allows(&self, id: &Id) -> bool {
        match (self, id) {
            (Rule::AnyIdentity, _) => true,
            (Rule::Id(want), id) => want == id,
            (Rule::TrustDomain(td), Id::Uri(uri)) => td.as_str() == uri.trust_domain(),
            (Rule::SpiffePrefix(prefix), Id::Uri(uri)) => under(uri.as_str(), prefix.as_str(), '/'),
            (Rule::DnsSuffix(suffix), Id::Dns(name)) => {
                let name = name.as_str();
                name == suffix.as_str()
                    || name
                        .strip_suffix(suffix.as_str())
                        .is_some_and(|head| head.ends_with('.'))
            }
            _ => false,
        }
    }
}

/// `s` is `prefix`, or `prefix` followed by `sep` and more.
fn under(s: &str, prefix: &str, sep: char) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(sep))
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Id(id) => write!(f, "identity {id}"),
            Rule::TrustDomain(td) => write!(f, "trust domain {td}"),
            Rule::SpiffePrefix(p) => write!(f, "SPIFFE IDs under {p}"),
            Rule::DnsSuffix(s) => write!(f, "DNS identities under {s}"),
            Rule::AnyIdentity => f.write_str("any verified identity"),
        }
    }
}

// === impl Policy ===

impl Policy {
    /// Clients with an identity some rule in `rules` allows; clients without a certificate are
    /// refused.
    pub fn allow(rules: impl IntoIterator<Item = Rule>) -> Self {
        Self {
            rules: rules.into_iter().collect(),
            unauthenticated: Unauthenticated::Refuse,
        }
    }

    /// What a server without a policy of its own does: any client with a verified identity, and
    /// clients without a certificate too.
    pub fn open() -> Self {
        Self {
            rules: vec![Rule::AnyIdentity],
            unauthenticated: Unauthenticated::Allow,
        }
    }

    /// This policy, with `unauthenticated` deciding about clients that send no certificate.
    pub fn with_unauthenticated(self, unauthenticated: Unauthenticated) -> Self {
        Self {
            unauthenticated,
            ..self
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What happens to clients that send no certificate.
    pub fn unauthenticated(&self) -> Unauthenticated {
        self.unauthenticated
    }

    /// Whether a client proving `identities` may connect (`None`: it sent no certificate).
    ///
    /// # Errors
    ///
    /// The [`Refused`] reason when it may not.
    pub fn check(&self, identities: Option<&[Id]>) -> Result<(), Refused> {
        match identities {
            None => match self.unauthenticated {
                Unauthenticated::Allow => Ok(()),
                Unauthenticated::Refuse => Err(Refused::Unauthenticated),
            },
            Some(ids) if ids.iter().any(|id| self.rules.iter().any(|r| r.allows(id))) => Ok(()),
            Some(ids) => Err(Refused::NotAllowed {
                identities: ids.to_vec(),
            }),
        }
    }
}

impl Default for Policy {
    /// [`Policy::open`].
    fn default() -> Self {
        Policy::open()
    }
}

// === impl Shared ===

/// A server's current policy, swapped at run time; read once per handshake.
#[derive(Debug, Default)]
pub(crate) struct Shared(RwLock<Arc<Policy>>);

impl Shared {
    pub(crate) fn new(policy: Policy) -> Self {
        Self(RwLock::new(Arc::new(policy)))
    }

    /// The policy in force. A writer that panicked left a whole `Arc` behind, so the value is
    /// still one policy, never a torn one.
    pub(crate) fn current(&self) -> Arc<Policy> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set(&self, policy: Policy) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        s.parse().unwrap()
    }

    #[test]
    fn rules_match_whole_segments_and_labels() {
        let prefix = Rule::SpiffePrefix("spiffe://td/ns/a".parse().unwrap());
        assert!(prefix.allows(&id("spiffe://td/ns/a")));
        assert!(prefix.allows(&id("spiffe://td/ns/a/sa/x")));
        assert!(!prefix.allows(&id("spiffe://td/ns/ab")));
        assert!(!prefix.allows(&id("spiffe://td2/ns/a")));
        let domain = Rule::TrustDomain("td".parse().unwrap());
        assert!(domain.allows(&id("spiffe://td/x")));
        assert!(!domain.allows(&id("spiffe://td.evil/x")));
        assert!(!domain.allows(&id("td")));
        let suffix = Rule::DnsSuffix("ns1.svc".parse().unwrap());
        assert!(suffix.allows(&id("foo.ns1.svc")));
        assert!(suffix.allows(&id("ns1.svc")));
        assert!(!suffix.allows(&id("foons1.svc")));
        assert!(!suffix.allows(&id("spiffe://ns1.svc/x")));
        let exact = Rule::Id(id("spiffe://td/a"));
        assert!(exact.allows(&id("spiffe://td/a")));
        assert!(!exact.allows(&id("spiffe://td/a/b")));
    }

    #[test]
    fn policies_decide_with_reasons() {
        let policy = Policy::allow([Rule::TrustDomain("td".parse().unwrap())]);
        assert_eq!(policy.check(Some(&[id("spiffe://td/a")])), Ok(()));
        assert_eq!(policy.check(None), Err(Refused::Unauthenticated));
        let other = [id("spiffe://other/a")];
        let refused = policy.check(Some(&other)).unwrap_err();
        assert_eq!(
            refused,
            Refused::NotAllowed {
                identities: other.to_vec()
            }
        );
        assert!(refused.to_string().contains("spiffe://other/a"));
        let open = policy.with_unauthenticated(Unauthenticated::Allow);
        assert_eq!(open.check(None), Ok(()));
        assert_eq!(Policy::default().check(Some(&other)), Ok(()));
        assert!(Policy::allow([]).check(Some(&other)).is_err());
    }
}
