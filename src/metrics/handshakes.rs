//! The handshake metrics: counts of handshakes by what they negotiated or why they failed, their
//! durations, and the count of those that negotiated anything the FIPS module does not approve.

use std::io;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use super::labels::{BySide, Established, Failed, Finished, Side, Timed};
use crate::handshake::outcome::algorithm_name as name;
use crate::io::Negotiated;
use crate::policy::{self, Algorithm};

// The `version`/`suite`/`group` labels are `algorithm_name`'s: `none` when the handshake agreed
// none (no group: a TLS 1.2 RSA key exchange, which meshtls does not offer), `unknown` for a wire
// id outside the policy table (never, with meshtls's own provider).

/// The histogram's buckets: 0.5 ms doubling to about 8 s.
fn buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

#[derive(Debug)]
pub(super) struct Handshakes {
    established: Family<Established, Counter>,
    failed: Family<Failed, Counter>,
    duration: Family<Timed, Histogram, fn() -> Histogram>,
    not_approved: Family<BySide, Counter>,
}

// === impl Handshakes ===

impl Handshakes {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let this = Self {
            established: Family::default(),
            failed: Family::default(),
            duration: Family::new_with_constructor(buckets),
            not_approved: Family::default(),
        };
        registry.register(
            "handshakes",
            "TLS handshakes that finished, by side and the version, cipher suite and key-exchange \
             group negotiated",
            this.established.clone(),
        );
        registry.register(
            "handshake_failures",
            "TLS handshakes that failed, by side, reason and the TLS alert sent or received",
            this.failed.clone(),
        );
        registry.register_with_unit(
            "handshake_duration",
            "How long TLS handshakes took, by side and result (the client's includes waiting for \
             the server to accept it)",
            Unit::Seconds,
            this.duration.clone(),
        );
        registry.register(
            "handshakes_not_approved",
            "TLS handshakes that negotiated a version, suite or group the FIPS module does not \
             approve (by the policy table); always 0 in the regulated build",
            this.not_approved.clone(),
        );
        // Present from the start, so that a scrape shows the 0 the regulated build promises.
        for side in [Side::Client, Side::Server] {
            drop(this.not_approved.get_or_create(&BySide { side }));
        }
        this
    }

    pub(super) fn established(&self, side: Side, negotiated: &Negotiated, took: Duration) {
        let version = negotiated.version.map(policy::version);
        let suite = negotiated.suite.map(policy::suite);
        let group = negotiated.group.map(policy::group);
        let labels = Established {
            side,
            version: name(version),
            suite: name(suite),
            group: name(group),
        };
        self.established.get_or_create(&labels).inc();
        self.timed(side, Finished::Ok, took);
        if ![version, suite, group].into_iter().all(approved) {
            self.not_approved.get_or_create(&BySide { side }).inc();
        }
    }

    pub(super) fn failed(&self, side: Side, error: &io::Error, took: Duration) {
        let (reason, alert) = crate::handshake::outcome::classify(error);
        let labels = Failed {
            side,
            reason,
            alert,
        };
        self.failed.get_or_create(&labels).inc();
        self.timed(side, Finished::Failed, took);
    }

    fn timed(&self, side: Side, result: Finished, took: Duration) {
        self.duration
            .get_or_create(&Timed { side, result })
            .observe(took.as_secs_f64());
    }
}

/// Whether the policy table approves what was negotiated (nothing negotiated is nothing
/// unapproved; an id outside the table is not approved).
fn approved(row: Option<Option<&'static Algorithm>>) -> bool {
    match row {
        None => true,
        Some(row) => row.is_some_and(|row| row.approval.is_approved()),
    }
}
