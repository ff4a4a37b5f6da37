//! Prometheus metrics (feature `metrics`): handshakes, credentials, detection verdicts and the
//! FIPS status, on [`prometheus_client`], registered into the caller's registry.
//!
//! [`Metrics::register`] registers everything below and returns a [`Metrics`] (cheap to clone);
//! attach it to what records: [`Server::with_metrics`](crate::Server::with_metrics) and
//! [`NewClient::with_metrics`](crate::NewClient::with_metrics) record every handshake of that
//! server (and its clones) or of every client it makes, [`Store::with_metrics`] every update of
//! that store, `workload_api::Config::metrics` (with feature `spiffe`) the source's stream and
//! the store it feeds, and [`Metrics::detected`] a [`detect`](crate::detect::detect) verdict.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let roots = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/ca1.crt.pem"))?;
//! # let id: meshtls::Id = "foo.ns1.serviceaccount.identity.linkerd.cluster.local".parse()?;
//! # let name: meshtls::ServerName = "foo.ns1.serviceaccount.identity.linkerd.cluster.local".parse()?;
//! let mut registry = prometheus_client::registry::Registry::default();
//! let metrics = meshtls::metrics::Metrics::register(&mut registry);
//! let (store, rx) = meshtls::creds::watch(id, name, &roots)?;
//! let store = store.with_metrics(metrics.clone());
//! let server = rx.server().with_metrics(metrics.clone());
//! let client = rx.new_client().with_metrics(metrics);
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry)?;
//! assert!(text.contains(r#"meshtls_handshakes_not_approved_total{side="server"} 0"#));
//! # drop((store, server, client));
//! # Ok(())
//! # }
//! ```
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `meshtls_info` (gauge, 1) | `build`, `module`, `module_version`, `fips_mode`, `linkage`, `validation`, `certificate`, `suites`, `groups` | [`crate::fips::status()`] and the suites and groups offered |
//! | `meshtls_handshakes_total` | `side`, `version`, `suite`, `group` | handshakes that finished, by the policy table's names of what they negotiated |
//! | `meshtls_handshake_failures_total` | `side`, `reason`, `alert` | handshakes that failed |
//! | `meshtls_handshake_duration_seconds` (histogram) | `side`, `result` (`ok`, `failed`) | from `accept`/`connect` to its end (a client's includes its [`Confirmation`](crate::Confirmation)) |
//! | `meshtls_handshakes_not_approved_total` | `side` | finished handshakes that negotiated a version, suite or group the policy table does not mark FIPS-approved: always 0 in the regulated build, which offers none |
//! | `meshtls_certificate_not_after_seconds` (gauge) | | the certificate in force's notAfter, UNIX time (0: none) |
//! | `meshtls_credential_updates_total` | `what` (`certificate`, `roots`, `bundle`, `bundle_removal`, `all`), `result` (`ok`, `refused`) | the store's updates |
//! | `meshtls_credential_last_update_timestamp_seconds` (gauge) | `what` | when an update of that kind was last taken |
//! | `meshtls_detect_verdicts_total` | `verdict` (`terminate`, `passthru`, `no_sni`, `not_tls`, `timed_out`) | [`Metrics::detected`] |
//! | `meshtls_workload_api_{ready,healthy}` (gauges), `meshtls_workload_api_{updates,rejected,stream_errors,reconnects}_total` | | feature `spiffe`: the source's `workload_api::Status`, as it changes |
//!
//! `side` is `client` or `server`. `reason` is `timeout`, `alert_received` (the peer's alert),
//! `alert_sent` (a protocol error of the peer's), `identity_refused` (its certificate: chain, the
//! mesh's certificate rules, identity), `authorization_refused` (the server's policy),
//! `no_common_algorithm`, `no_credentials` (a server without a certificate yet), `closed` (the
//! peer closed or reset the connection) or `other`; `alert` is the RFC 8446 name of the alert
//! sent or received, `none`, or `unnamed`. Every label value is from such a fixed set: no SNI, no
//! identity, nothing else a peer chooses, so a peer cannot grow the number of series.
//!
//! A handshake is recorded when `accept` or `connect` returns; one whose future the caller drops
//! before that (its own timeout, say) is not recorded.
//!
//! Recording costs a few counter increments and a lookup in a small map per handshake (the
//! `metrics` bench measures it against a handshake without). Without the feature none of this is
//! compiled and `prometheus-client` is not a dependency.
//!
//! [`Store::with_metrics`]: crate::creds::Store::with_metrics

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::detect::Detected;
use crate::io::Negotiated;

mod handshakes;
mod info;
mod labels;
#[cfg(feature = "spiffe")]
mod stream;
mod updates;

pub(crate) use labels::{Side, Update};

use labels::Verdict;

// === impl Metrics ===

/// meshtls's metrics, registered in a [`Registry`]. Clones record into the same metrics.
#[derive(Clone, Debug)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    handshakes: handshakes::Handshakes,
    updates: updates::Updates,
    detected: Family<labels::Detected, Counter>,
    #[cfg(feature = "spiffe")]
    stream: stream::Stream,
}

impl Metrics {
    /// Registers meshtls's metrics in `registry`, under the prefix `meshtls_` (see the module
    /// docs for each), and returns the handle to record into them.
    ///
    /// Register once per registry: a second call registers every metric again, and the registry
    /// then encodes each name twice.
    pub fn register(registry: &mut Registry) -> Self {
        let registry = registry.sub_registry_with_prefix("meshtls");
        info::register(registry);
        let handshakes = handshakes::Handshakes::register(registry);
        let updates = updates::Updates::register(registry);
        let detected = Family::default();
        registry.register(
            "detect_verdicts",
            "What ClientHello detection said of inbound connections",
            Family::clone(&detected),
        );
        #[cfg(feature = "spiffe")]
        let stream = stream::Stream::register(registry);
        Self(Arc::new(Inner {
            handshakes,
            updates,
            detected,
            #[cfg(feature = "spiffe")]
            stream,
        }))
    }

    /// Counts a verdict of [`crate::detect::detect`] (or [`crate::detect::parse_sni`], as the
    /// caller maps it).
    pub fn detected(&self, detected: &Detected) {
        let verdict = match detected {
            Detected::Terminate => Verdict::Terminate,
            Detected::Passthru { .. } => Verdict::Passthru,
            Detected::NoSni => Verdict::NoSni,
            Detected::NotTls => Verdict::NotTls,
            Detected::TimedOut => Verdict::TimedOut,
        };
        self.0
            .detected
            .get_or_create(&labels::Detected { verdict })
            .inc();
    }

    /// A handshake on `side` that finished after `took`, having negotiated `negotiated`.
    pub(crate) fn established(&self, side: Side, negotiated: &Negotiated, took: Duration) {
        self.0.handshakes.established(side, negotiated, took);
    }

    /// A handshake on `side` that failed with `error` after `took`.
    pub(crate) fn failed(&self, side: Side, error: &io::Error, took: Duration) {
        self.0.handshakes.failed(side, error, took);
    }

    /// A credential update of `what`, `taken` or refused; `not_after` is that of the certificate
    /// in force after it.
    pub(crate) fn updated(&self, what: Update, taken: bool, not_after: Option<SystemTime>) {
        self.0.updates.updated(what, taken, not_after);
    }

    /// The certificate in force when a store is attached.
    pub(crate) fn certificate(&self, not_after: Option<SystemTime>) {
        self.0.updates.certificate(not_after);
    }

    /// The Workload API source's metrics (feature `spiffe`).
    #[cfg(feature = "spiffe")]
    pub(crate) fn workload_api(&self) -> &stream::Stream {
        &self.0.stream
    }
}
