//! The Workload API stream (features `metrics` and `spiffe`): the counts
//! [`workload_api::Status`](crate::workload_api::Status) keeps, as metrics the source updates.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// One Workload API source's stream.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    ready: Gauge,
    healthy: Gauge,
    updates: Counter,
    rejected: Counter,
    stream_errors: Counter,
    reconnects: Counter,
}

// === impl Stream ===

impl Stream {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let this = Self::default();
        let registry = registry.sub_registry_with_prefix("workload_api");
        registry.register(
            "ready",
            "1 once the Workload API source has delivered credentials",
            this.ready.clone(),
        );
        registry.register(
            "healthy",
            "1 while the Workload API stream is up and its last response had a usable SVID",
            this.healthy.clone(),
        );
        registry.register(
            "updates",
            "Workload API responses turned into credentials",
            this.updates.clone(),
        );
        registry.register(
            "rejected",
            "Workload API responses refused (the previous credentials kept serving)",
            this.rejected.clone(),
        );
        registry.register(
            "stream_errors",
            "Errors the Workload API client reported (connect, stream, bad responses)",
            this.stream_errors.clone(),
        );
        registry.register(
            "reconnects",
            "Reconnects to the Workload API after its stream failed",
            this.reconnects.clone(),
        );
        this
    }

    /// A response turned into credentials: the source is ready.
    pub(crate) fn delivered(&self) {
        self.updates.inc();
        self.ready.set(1);
    }

    /// A response refused.
    pub(crate) fn rejected(&self) {
        self.rejected.inc();
    }

    /// The Workload API client reported an error: the stream is not healthy.
    pub(crate) fn stream_error(&self) {
        self.stream_errors.inc();
        self.healthy.set(0);
    }

    /// The client reconnected.
    pub(crate) fn reconnected(&self) {
        self.reconnects.inc();
    }

    /// Whether the stream is healthy now.
    pub(crate) fn healthy(&self, healthy: bool) {
        self.healthy.set(i64::from(healthy));
    }
}
