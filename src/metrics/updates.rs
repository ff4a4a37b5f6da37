//! The credential metrics: the certificate in force's notAfter, and the store's updates by kind
//! and result, with when each kind last succeeded.

use std::time::SystemTime;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::labels::{Outcome, Update, Updated, What};

#[derive(Debug)]
pub(super) struct Updates {
    not_after: Gauge,
    updates: Family<Updated, Counter>,
    last: Family<What, Gauge>,
}

// === impl Updates ===

impl Updates {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let this = Self {
            not_after: Gauge::default(),
            updates: Family::default(),
            last: Family::default(),
        };
        registry.register_with_unit(
            "certificate_not_after",
            "The notAfter of the certificate in force, as a UNIX time (0 before one is set)",
            Unit::Seconds,
            this.not_after.clone(),
        );
        registry.register(
            "credential_updates",
            "Updates of the credential store, by what they change (certificate, roots, bundle, \
             bundle_removal, all) and whether they were taken (ok) or refused, keeping the previous",
            this.updates.clone(),
        );
        registry.register_with_unit(
            "credential_last_update_timestamp",
            "When an update of each kind was last taken, as a UNIX time",
            Unit::Seconds,
            this.last.clone(),
        );
        this
    }

    /// An update of `what`: taken or refused. `not_after` is the certificate in force after it.
    pub(super) fn updated(&self, what: Update, taken: bool, not_after: Option<SystemTime>) {
        let result = if taken { Outcome::Ok } else { Outcome::Refused };
        self.updates.get_or_create(&Updated { what, result }).inc();
        if taken {
            self.last
                .get_or_create(&What { what })
                .set(unix(SystemTime::now()));
            self.certificate(not_after);
        }
    }

    /// The certificate in force (none: 0).
    pub(super) fn certificate(&self, not_after: Option<SystemTime>) {
        self.not_after.set(not_after.map_or(0, unix));
    }
}

/// Seconds since the UNIX epoch (negative before it).
fn unix(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}
