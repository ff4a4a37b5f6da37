//! What a [`Receiver`](super::Receiver) serves: the current certificate and the trust anchors, as
//! a value a readiness probe or an operator can read.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::identity::{Id, TrustDomain};
use crate::trust::{Fingerprint, Trust};

/// The credentials a workload serves right now.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// The certificate it presents, once one is set.
    pub certificate: Option<ServedCertificate>,
    /// The mesh roots' fingerprints, in bundle order.
    pub roots: Vec<Fingerprint>,
    /// The federated bundles' fingerprints, by trust domain.
    pub bundles: BTreeMap<TrustDomain, Vec<Fingerprint>>,
}

/// The certificate a workload presents.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServedCertificate {
    /// The identities it carries, in SAN order.
    pub identities: Vec<Id>,
    /// Its serial number, as colon-separated hex (`01:a2:...`).
    pub serial: String,
    /// Its notBefore time.
    pub not_before: SystemTime,
    /// Its notAfter time: when every new handshake with it starts to fail.
    pub not_after: SystemTime,
    /// When the identity controller said it would replace it (the `expiry` it was set with).
    pub expiry: SystemTime,
}

// === impl Served ===

impl Served {
    pub(crate) fn of(trust: &Trust, certificate: Option<ServedCertificate>) -> Self {
        Self {
            certificate,
            roots: trust.roots.fingerprints().to_vec(),
            bundles: trust
                .bundles
                .iter()
                .map(|(td, roots)| (td.clone(), roots.fingerprints().to_vec()))
                .collect(),
        }
    }

    /// Whether there is no certificate, or the one served expires within `margin` of `now` (or
    /// has expired): the condition a readiness probe reports.
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        self.certificate
            .as_ref()
            .map_or(true, |cert| cert.expires_within(margin, now))
    }
}

// === impl ServedCertificate ===

impl ServedCertificate {
    /// Whether it expires within `margin` of `now`, or has expired.
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        match self.not_after.duration_since(now) {
            Ok(left) => left <= margin,
            Err(_) => true,
        }
    }
}

/// A certificate time (seconds since the epoch, possibly before it) as a `SystemTime`.
pub(crate) fn system_time(unix: i64) -> SystemTime {
    let secs = Duration::from_secs(unix.unsigned_abs());
    if unix >= 0 {
        SystemTime::UNIX_EPOCH + secs
    } else {
        SystemTime::UNIX_EPOCH - secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_margins() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let cert = ServedCertificate {
            identities: vec![],
            serial: "01".into(),
            not_before: system_time(0),
            not_after: now + Duration::from_secs(60),
            expiry: now,
        };
        assert!(!cert.expires_within(Duration::from_secs(59), now));
        assert!(cert.expires_within(Duration::from_secs(60), now));
        assert!(cert.expires_within(Duration::ZERO, now + Duration::from_secs(61)));
        assert_eq!(
            system_time(-1),
            SystemTime::UNIX_EPOCH - Duration::from_secs(1)
        );
    }
}
