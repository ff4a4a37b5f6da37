//! Mesh identities as strings: DNS-like names and SPIFFE IDs, parsed and validated.
//!
//! DNS names are compared ASCII-case-insensitively, so they are stored lower-cased; SPIFFE IDs are
//! compared exactly after the scheme and trust domain (which SPIFFE requires to be lower case) are
//! checked. Public as `meshtls::identity::{Name, Id, SpiffeId}`.

use std::fmt;
use std::str::FromStr;

use crate::error::InvalidId;

/// Longest DNS name accepted, in octets, without a trailing dot (RFC 1035 §2.3.4).
const MAX_DNS_LEN: usize = 253;
/// Longest DNS label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;
/// Longest SPIFFE ID (SPIFFE-ID §2.3).
const MAX_SPIFFE_LEN: usize = 2048;
/// Longest SPIFFE trust domain name (SPIFFE-ID §2.1).
const MAX_TRUST_DOMAIN_LEN: usize = 255;
const SPIFFE_SCHEME: &str = "spiffe://";

// === impl Name ===

/// A validated DNS name: ASCII, lower-cased, no trailing dot, labels of a-z, 0-9 and inner hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// The name as a string slice (lower case).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Name {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, InvalidId> {
        if s.is_empty() {
            return Err(InvalidId::Empty);
        }
        if s.len() > MAX_DNS_LEN {
            return Err(InvalidId::DnsTooLong(s.len()));
        }
        if s.ends_with('.') {
            return Err(InvalidId::TrailingDot);
        }
        let lower = s.to_ascii_lowercase();
        let mut last = "";
        for label in lower.split('.') {
            let ok = !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(InvalidId::BadLabel(label.to_string()));
            }
            last = label;
        }
        if last.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidId::Numeric(s.to_string()));
        }
        Ok(Name(lower))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// === impl Id ===

/// A workload's mesh identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// A DNS-like name, e.g. `foo.ns1.serviceaccount.identity.linkerd.cluster.local`.
    Dns(Name),
    /// A SPIFFE ID, e.g. `spiffe://cluster.local/ns/ns1/sa/foo`.
    Uri(SpiffeId),
}

impl FromStr for Id {
    type Err = InvalidId;

    /// Tries a DNS name first, then a SPIFFE URI. The error is the URI's when the string has a
    /// `scheme://`, the DNS name's otherwise.
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        match s.parse::<Name>() {
            Ok(name) => Ok(Id::Dns(name)),
            Err(dns_err) if !s.contains("://") => Err(dns_err),
            Err(_) => s.parse::<SpiffeId>().map(Id::Uri),
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Dns(name) => name.fmt(f),
            Id::Uri(uri) => uri.fmt(f),
        }
    }
}

impl From<Name> for Id {
    fn from(name: Name) -> Self {
        Id::Dns(name)
    }
}

// === impl SpiffeId ===

/// A SPIFFE ID: `spiffe://<trust domain>[/<segment>...]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId(String);

impl SpiffeId {
    /// The ID as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The trust domain, e.g. `cluster.local`.
    pub fn trust_domain(&self) -> &str {
        let rest = &self.0[SPIFFE_SCHEME.len()..];
        rest.split('/').next().unwrap_or(rest)
    }

    /// The path, e.g. `/ns/ns1/sa/foo`; empty for the ID of a trust domain itself
    /// (`spiffe://cluster.local`), which no workload certificate may carry (X509-SVID §2).
    pub fn path(&self) -> &str {
        &self.0[SPIFFE_SCHEME.len() + self.trust_domain().len()..]
    }
}

impl FromStr for SpiffeId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, InvalidId> {
        if s.is_empty() {
            return Err(InvalidId::Empty);
        }
        let rest = s.strip_prefix(SPIFFE_SCHEME).ok_or(InvalidId::NotSpiffe)?;
        if s.len() > MAX_SPIFFE_LEN {
            return Err(InvalidId::BadSpiffe("longer than 2048 bytes"));
        }
        if s.contains(['?', '#']) {
            return Err(InvalidId::BadSpiffe("has a query or fragment"));
        }
        let (domain, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        check_trust_domain(domain)?;
        if !path.is_empty() {
            let seg_ok = |b: u8| b.is_ascii_alphanumeric() || b"-._".contains(&b);
            for seg in path[1..].split('/') {
                if seg.is_empty() || seg == "." || seg == ".." || !seg.bytes().all(seg_ok) {
                    return Err(InvalidId::BadSpiffe(
                        "path segments must be non-empty a-z, A-Z, 0-9, '-', '.', '_' and not '.' or '..'",
                    ));
                }
            }
        }
        Ok(SpiffeId(s.to_string()))
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a trust domain name: 1 to 255 bytes of a-z, 0-9, '-', '.', '_' (SPIFFE-ID §2.1).
fn check_trust_domain(domain: &str) -> Result<(), InvalidId> {
    let domain_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b);
    if domain.is_empty() || !domain.bytes().all(domain_ok) {
        return Err(InvalidId::BadSpiffe(
            "trust domain must be non-empty a-z, 0-9, '-', '.', '_' (no port, no user info)",
        ));
    }
    if domain.len() > MAX_TRUST_DOMAIN_LEN {
        return Err(InvalidId::BadSpiffe("trust domain longer than 255 bytes"));
    }
    Ok(())
}

// === impl TrustDomain ===

/// A SPIFFE trust domain name, e.g. `cluster.local`: what a trust bundle is for and what an
/// authorization rule may allow as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrustDomain(String);

impl TrustDomain {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The trust domain of `id`.
    pub fn of(id: &SpiffeId) -> Self {
        TrustDomain(id.trust_domain().to_string())
    }
}

impl FromStr for TrustDomain {
    type Err = InvalidId;

    /// A bare name (`cluster.local`) or the trust domain's SPIFFE ID (`spiffe://cluster.local`).
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        let name = s.strip_prefix(SPIFFE_SCHEME).unwrap_or(s);
        check_trust_domain(name)?;
        Ok(TrustDomain(name.to_string()))
    }
}

impl fmt::Display for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        let id: Id = "Foo.NS1.serviceaccount.identity.linkerd.cluster.local"
            .parse()
            .unwrap();
        assert_eq!(
            id.to_string(),
            "foo.ns1.serviceaccount.identity.linkerd.cluster.local"
        );
        assert_eq!(id, id.to_string().parse().unwrap());
        assert!(matches!(id, Id::Dns(_)));
        assert_eq!("localhost".parse::<Name>().unwrap().as_str(), "localhost");
        assert_eq!("a-1.b".parse::<Name>().unwrap().as_str(), "a-1.b");

        let long = format!("{}.{}", "a".repeat(63), "b".repeat(63));
        assert!(long.parse::<Name>().is_ok());
        let too_long = vec!["a".repeat(63); 4].join(".") + ".bb";
        assert_eq!(
            too_long.parse::<Name>(),
            Err(InvalidId::DnsTooLong(too_long.len()))
        );
        assert!(too_long.len() > 253);
    }

    #[test]
    fn bad_dns_names() {
        let cases: &[(&str, InvalidId)] = &[
            ("", InvalidId::Empty),
            ("foo.ns1.", InvalidId::TrailingDot),
            ("foo..ns1", InvalidId::BadLabel(String::new())),
            ("-foo.ns1", InvalidId::BadLabel("-foo".into())),
            ("foo-.ns1", InvalidId::BadLabel("foo-".into())),
            ("fo_o.ns1", InvalidId::BadLabel("fo_o".into())),
            ("foo.ns 1", InvalidId::BadLabel("ns 1".into())),
            ("föö.ns1", InvalidId::BadLabel("föö".into())),
            (&"a".repeat(64), InvalidId::BadLabel("a".repeat(64))),
            ("127.0.0.1", InvalidId::Numeric("127.0.0.1".into())),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<Id>().as_ref(), Err(want), "{s:?}");
        }
    }

    #[test]
    fn spiffe_ids() {
        for s in [
            "spiffe://cluster.local/ns/ns1/sa/foo",
            "spiffe://example.org",
            "spiffe://a_b-c.d/X.y_z-1",
        ] {
            let id: Id = s.parse().unwrap();
            assert!(matches!(id, Id::Uri(_)), "{s}");
            assert_eq!(id.to_string(), s);
            assert_eq!(id, id.to_string().parse().unwrap());
        }
        let Id::Uri(u) = "spiffe://cluster.local/ns/ns1/sa/foo".parse().unwrap() else {
            panic!("not a URI")
        };
        assert_eq!(u.trust_domain(), "cluster.local");
        assert_eq!(u.path(), "/ns/ns1/sa/foo");
        let root: SpiffeId = "spiffe://cluster.local".parse().unwrap();
        assert_eq!((root.trust_domain(), root.path()), ("cluster.local", ""));
        // 255 bytes is the longest trust domain.
        let max = format!("spiffe://{}/ns", "a".repeat(255));
        assert!(max.parse::<SpiffeId>().is_ok());
        // Paths are case-sensitive.
        assert_ne!(
            "spiffe://td/ns/A".parse::<Id>().unwrap(),
            "spiffe://td/ns/a".parse::<Id>().unwrap()
        );
    }

    #[test]
    fn bad_spiffe_ids() {
        let long = format!("spiffe://td/{}", "a".repeat(2040));
        let long_domain = format!("spiffe://{}/ns", "a".repeat(256));
        for s in [
            long_domain.as_str(),
            "spiffe://",
            "spiffe://Cluster.local/ns",
            "spiffe://td:8080/ns",
            "spiffe://user@td/ns",
            "spiffe://td/",
            "spiffe://td//ns",
            "spiffe://td/ns/../sa",
            "spiffe://td/ns/./sa",
            "spiffe://td/ns?x=1",
            "spiffe://td/ns#frag",
            "spiffe://td/n%20s",
            long.as_str(),
        ] {
            assert!(
                matches!(s.parse::<Id>(), Err(InvalidId::BadSpiffe(_))),
                "{s:?}: {:?}",
                s.parse::<Id>()
            );
        }
        assert_eq!(
            "https://example.com/x".parse::<Id>(),
            Err(InvalidId::NotSpiffe)
        );
    }
}

#[cfg(test)]
mod trust_domain_tests {
    use super::*;

    #[test]
    fn trust_domains() {
        let td: TrustDomain = "cluster.local".parse().unwrap();
        assert_eq!(td, "spiffe://cluster.local".parse().unwrap());
        assert_eq!(td.to_string(), "cluster.local");
        let id: SpiffeId = "spiffe://cluster.local/ns/a".parse().unwrap();
        assert_eq!(TrustDomain::of(&id), td);
        for bad in ["", "Cluster.local", "td:80", "spiffe://", &"a".repeat(256)] {
            assert!(bad.parse::<TrustDomain>().is_err(), "{bad:?}");
        }
        assert!("a".repeat(255).parse::<TrustDomain>().is_ok());
    }
}
