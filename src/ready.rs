//! Whether this workload is ready to serve mesh traffic: the answer a readiness probe gives, with
//! every unmet condition named.
//!
//! [`Readiness`] checks, in this order:
//! - in the FIPS build (feature `fips`): that the module is in FIPS mode, and that the start-up
//!   self-test ran and passed (its cached result: a probe never reruns it);
//! - that a certificate is served, has not expired, and is not within the margin of its notAfter
//!   (default [`DEFAULT_MARGIN`]);
//! - with feature `spiffe`, when a Workload API source is given: that it has delivered credentials.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let roots = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/ca1.crt.pem"))?;
//! # let id: meshtls::Id = "foo.ns1.serviceaccount.identity.linkerd.cluster.local".parse()?;
//! # let name: meshtls::ServerName = "foo.ns1.serviceaccount.identity.linkerd.cluster.local".parse()?;
//! let (_store, rx) = meshtls::creds::watch(id, name, &roots)?;
//! let report = meshtls::ready::Readiness::new(&rx).check(std::time::SystemTime::now());
//! assert!(!report.ready);
//! assert_eq!(report.unmet, [meshtls::ready::Unmet::NoCertificate]);
//! assert_eq!(report.to_string(), "not ready: no certificate is loaded");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::creds::Receiver;
use crate::error::text::rfc3339;
use crate::fips::SelfTestReport;
#[cfg(feature = "spiffe")]
use crate::workload_api::Source;
use crate::Error;

/// How close to its notAfter a certificate may be before the workload is not ready: 5 minutes.
/// An identity controller renews well before that (Linkerd's at 70% of the lifetime, SPIRE's at
/// half); a certificate this close to expiry means renewal has failed.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The readiness conditions of one workload. Cheap to build per probe.
#[derive(Clone, Debug)]
pub struct Readiness<'a> {
    receiver: &'a Receiver,
    margin: Duration,
    #[cfg(feature = "spiffe")]
    source: Option<&'a Source>,
}

/// What [`Readiness::check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Whether every condition is met (`unmet` is empty).
    pub ready: bool,
    /// The conditions not met, in the order they are checked.
    pub unmet: Vec<Unmet>,
}

/// A readiness condition that is not met. Its `Display` is a phrase naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmet {
    /// FIPS build: the module does not report FIPS mode.
    FipsModeOff {
        /// The module's version string.
        module: String,
    },
    /// FIPS build: the start-up self-test has not run in this process.
    SelfTestNotRun,
    /// FIPS build: the start-up self-test failed.
    SelfTestFailed {
        /// Its error, in words.
        reason: String,
    },
    /// No certificate has been set on the store.
    NoCertificate,
    /// The certificate served has expired: every new handshake with it fails.
    CertificateExpired {
        /// Its notAfter.
        not_after: SystemTime,
    },
    /// The certificate served expires within the margin.
    CertificateExpiresSoon {
        /// Its notAfter.
        not_after: SystemTime,
        /// The margin it is within.
        margin: Duration,
    },
    /// Feature `spiffe`: the Workload API source has not delivered credentials yet.
    WorkloadApiNotDelivered,
}

// === impl Readiness ===

impl<'a> Readiness<'a> {
    /// The conditions of the workload whose credentials `receiver` reads, with the
    /// [`DEFAULT_MARGIN`].
    pub fn new(receiver: &'a Receiver) -> Self {
        Self {
            receiver,
            margin: DEFAULT_MARGIN,
            #[cfg(feature = "spiffe")]
            source: None,
        }
    }

    /// These conditions, with a certificate within `margin` of its notAfter counting as unmet.
    pub fn margin(self, margin: Duration) -> Self {
        Self { margin, ..self }
    }

    /// These conditions, and that `source` has delivered credentials (feature `spiffe`).
    #[cfg(feature = "spiffe")]
    pub fn source(self, source: &'a Source) -> Self {
        Self {
            source: Some(source),
            ..self
        }
    }

    /// Checks every condition at `now` (pass `SystemTime::now()`; a test passes a time of its
    /// choosing). Reads cached state only: the FIPS mode flag, the start-up self-test's result,
    /// what the receiver serves, the source's status.
    pub fn check(&self, now: SystemTime) -> Report {
        let mut unmet = Vec::new();
        if cfg!(feature = "fips") {
            let status = crate::fips::status();
            unmet.extend(fips_unmet(
                status.fips_mode,
                status.version_string,
                crate::fips::startup_self_test(),
            ));
        }
        let served = self.receiver.served();
        unmet.extend(certificate_unmet(
            served.certificate.as_ref().map(|c| c.not_after),
            self.margin,
            now,
        ));
        #[cfg(feature = "spiffe")]
        if let Some(source) = self.source {
            if !source.status().ready {
                unmet.push(Unmet::WorkloadApiNotDelivered);
            }
        }
        Report::of(unmet)
    }
}

/// The FIPS conditions: the module's mode, and the start-up self-test's result if it ran.
fn fips_unmet(
    fips_mode: bool,
    module: String,
    self_test: Option<&Result<SelfTestReport, Error>>,
) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    if !fips_mode {
        unmet.push(Unmet::FipsModeOff { module });
    }
    match self_test {
        None => unmet.push(Unmet::SelfTestNotRun),
        Some(Err(error)) => unmet.push(Unmet::SelfTestFailed {
            reason: error.to_string(),
        }),
        Some(Ok(_)) => {}
    }
    unmet
}

/// The certificate condition, for a certificate with `not_after` (`None`: none served).
fn certificate_unmet(
    not_after: Option<SystemTime>,
    margin: Duration,
    now: SystemTime,
) -> Option<Unmet> {
    let not_after = match not_after {
        None => return Some(Unmet::NoCertificate),
        Some(not_after) => not_after,
    };
    match not_after.duration_since(now) {
        Err(_) => Some(Unmet::CertificateExpired { not_after }),
        Ok(left) if left <= margin => Some(Unmet::CertificateExpiresSoon { not_after, margin }),
        Ok(_) => None,
    }
}

// === impl Report ===

impl Report {
    fn of(unmet: Vec<Unmet>) -> Self {
        Self {
            ready: unmet.is_empty(),
            unmet,
        }
    }
}

impl fmt::Display for Report {
    /// `ready`, or `not ready: ` and each unmet condition, separated by `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ready {
            return f.write_str("ready");
        }
        f.write_str("not ready: ")?;
        for (i, unmet) in self.unmet.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{unmet}")?;
        }
        Ok(())
    }
}

// === impl Unmet ===

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmet::FipsModeOff { module } => write!(f, "the module ({module}) is not in FIPS mode"),
            Unmet::SelfTestNotRun => f.write_str("the start-up self-test has not run"),
            Unmet::SelfTestFailed { reason } => {
                write!(f, "the start-up self-test failed: {reason}")
            }
            Unmet::NoCertificate => f.write_str("no certificate is loaded"),
            Unmet::CertificateExpired { not_after } => {
                write!(f, "the certificate expired at {}", date(*not_after))
            }
            Unmet::CertificateExpiresSoon { not_after, margin } => write!(
                f,
                "the certificate expires at {}, within the margin of {}s",
                date(*not_after),
                margin.as_secs()
            ),
            Unmet::WorkloadApiNotDelivered => {
                f.write_str("the Workload API source has not delivered credentials")
            }
        }
    }
}

/// `at` as an RFC 3339 date (a time before 1970 as 1970).
fn date(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(rustls::pki_types::UnixTime::since_unix_epoch(since))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_conditions_are_named_when_unmet() {
        let failed = Err(Error::SelfTestFailed {
            kat: "gcm_seal",
            detail: "wrong tag",
        });
        let unmet = fips_unmet(false, "AWS-LC FIPS 3.1.0".into(), Some(&failed));
        assert_eq!(unmet.len(), 2);
        assert!(
            matches!(&unmet[0], Unmet::FipsModeOff { module } if module == "AWS-LC FIPS 3.1.0")
        );
        assert!(
            matches!(&unmet[1], Unmet::SelfTestFailed { reason } if reason.contains("gcm_seal"))
        );
        assert_eq!(
            fips_unmet(true, String::new(), None),
            [Unmet::SelfTestNotRun]
        );
        let report = Report::of(unmet);
        assert!(!report.ready);
        assert!(report.to_string().starts_with("not ready: the module (AWS-LC FIPS 3.1.0) is not in FIPS mode; the start-up self-test failed: "));
    }

    #[test]
    fn certificate_margins() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let margin = Duration::from_secs(60);
        let at = |secs| now + Duration::from_secs(secs);
        assert_eq!(
            certificate_unmet(None, margin, now),
            Some(Unmet::NoCertificate)
        );
        assert_eq!(certificate_unmet(Some(at(61)), margin, now), None);
        assert_eq!(
            certificate_unmet(Some(at(60)), margin, now),
            Some(Unmet::CertificateExpiresSoon {
                not_after: at(60),
                margin
            })
        );
        assert_eq!(
            certificate_unmet(Some(now), margin, at(1)),
            Some(Unmet::CertificateExpired { not_after: now })
        );
        assert_eq!(Report::of(vec![]).to_string(), "ready");
    }
}
