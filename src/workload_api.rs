//! Credentials from the SPIFFE Workload API (a SPIRE agent, say): the workload's X509-SVID, its
//! trust domain's bundle and the federated bundles, streamed into a [`creds::Store`].
//!
//! [`Source::spawn`] starts a task that holds a [`spiffe::X509Source`] (the `spiffe` crate's
//! client: it streams `FetchX509SVID`, keeps the last good response and reconnects with backoff)
//! and turns each response into one replacement of the store's credentials: the SVID picked for
//! our SPIFFE ID (or the first, the spec's default) with its key, the trust domain's bundle as the
//! mesh roots, and each federated bundle as that domain's bundle. Unlike roots given to
//! [`creds::watch`], these vouch only for our trust domain: a SPIFFE ID of a domain the agent
//! serves no bundle for is refused. Every response is checked as
//! [`Store`] checks any update (the X509-SVID rules, the chain to the new
//! bundle, our identity, the key); one that fails is refused as a whole, logged and counted, and
//! the previous credentials keep serving. So do they when the agent goes away, until it is back.
//!
//! The store exists from the first good response on, because only then is our identity and our
//! trust domain's bundle known: [`Source::ready`] waits for it and returns its
//! [`Receiver`], and [`Source::status`] says whether it is there yet, for a readiness probe.
//!
//! The `spiffe` crate adds no crypto library: its X.509 parsing is `x509-parser`'s, and its gRPC
//! channel is plaintext over a Unix socket (tonic without TLS), as the test `dependency_tree`
//! shows for `--no-default-features --features fips,spiffe`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rustls::pki_types::CertificateDer;
use spiffe::x509_source::{MetricsErrorKind, MetricsRecorder, SvidPicker};
use spiffe::{X509BundleSet, X509Source, X509Svid};
use tokio::sync::watch;

use crate::creds::{self, Receiver, Store, TrustRoots};
use crate::identity::{self, DerX509, Id, ServerName, SpiffeId, TrustDomain};
#[cfg(feature = "metrics")]
use crate::metrics::Metrics;
use crate::Error;

/// Where to reach the Workload API and which SVID is ours.
#[derive(Clone, Debug)]
pub struct Config {
    server_name: ServerName,
    endpoint: Option<String>,
    id: Option<SpiffeId>,
    backoff: (Duration, Duration),
    #[cfg(feature = "metrics")]
    metrics: Option<Metrics>,
}

// === impl Config ===

impl Config {
    /// The Workload API named by `SPIFFE_ENDPOINT_SOCKET`; the first SVID served is ours; our
    /// server answers to SNI `server_name`. Reconnects back off from 200 ms to 10 s.
    pub fn new(server_name: ServerName) -> Self {
        Self {
            server_name,
            endpoint: None,
            id: None,
            backoff: (Duration::from_millis(200), Duration::from_secs(10)),
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// Records the source's [`Status`] in `metrics` as it changes (`meshtls_workload_api_*`), and
    /// every update of the store it feeds (feature `metrics`). One source per [`Metrics`]: the
    /// gauges say one source's state.
    #[cfg(feature = "metrics")]
    pub fn metrics(self, metrics: Metrics) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    /// The Workload API at `endpoint` instead: `unix:///path/to/socket` (or `unix:path`).
    pub fn endpoint(self, endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            ..self
        }
    }

    /// Ours is the SVID for `id`, when the agent serves several.
    pub fn id(self, id: SpiffeId) -> Self {
        Self {
            id: Some(id),
            ..self
        }
    }

    /// Reconnect after `min`, doubling to `max`.
    pub fn backoff(self, min: Duration, max: Duration) -> Self {
        Self {
            backoff: (min, max),
            ..self
        }
    }
}

/// What the source has done so far, for readiness and logs.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Status {
    /// Whether credentials have been delivered (the store exists).
    pub ready: bool,
    /// Whether the Workload API stream is up and its last response had a usable SVID.
    pub healthy: bool,
    /// Responses turned into credentials.
    pub updates: u64,
    /// Responses refused (the previous credentials kept serving).
    pub rejected: u64,
    /// Errors the Workload API client reported (connect, stream, bad responses).
    pub stream_errors: u64,
    /// Reconnects after the stream failed.
    pub reconnects: u64,
    /// The last refusal or error, in words.
    pub last_error: Option<String>,
}

/// The task feeding a store from the Workload API. Dropping it stops the task; the store's
/// [`Receiver`]s keep the credentials last delivered.
#[derive(Debug)]
pub struct Source {
    shared: Arc<Shared>,
    ready: watch::Receiver<Option<Receiver>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Shared {
    status: Mutex<Status>,
    #[cfg(feature = "metrics")]
    metrics: Option<Metrics>,
}

// === impl Source ===

impl Source {
    /// Starts streaming from the Workload API in a task on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] outside a tokio runtime.
    ///
    /// # FIPS
    ///
    /// The store is made by [`creds::watch_roots`], which checks the module's FIPS mode and the
    /// self-test first; should they fail, every response is refused with that error.
    pub fn spawn(config: Config) -> Result<Self, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let shared = Arc::new(Shared {
            status: Mutex::default(),
            #[cfg(feature = "metrics")]
            metrics: config.metrics.clone(),
        });
        let (tx, ready) = watch::channel(None);
        let task = runtime.spawn(run(config, shared.clone(), tx));
        Ok(Self {
            shared,
            ready,
            task,
        })
    }

    /// Waits until the first credentials are delivered; returns the store's receiver.
    ///
    /// # Errors
    ///
    /// [`Error::StoreClosed`] if the task has ended (it ends only when stopped).
    pub async fn ready(&self) -> Result<Receiver, Error> {
        let mut ready = self.ready.clone();
        let rx = ready
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::StoreClosed)?;
        Ok(rx.clone().expect("waited for Some"))
    }

    /// The store's receiver, once the first credentials are delivered.
    pub fn receiver(&self) -> Option<Receiver> {
        self.ready.borrow().clone()
    }

    /// What the source has done so far.
    pub fn status(&self) -> Status {
        self.shared.lock().clone()
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// === impl Shared ===

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, error: &Error) {
        let mut status = self.lock();
        status.rejected += 1;
        status.last_error = Some(error.to_string());
        self.record(Event::Rejected);
    }

    /// Records a change of the status in the metrics, if any (feature `metrics`).
    fn record(&self, event: Event) {
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            let stream = metrics.workload_api();
            match event {
                Event::Delivered => stream.delivered(),
                Event::Rejected => stream.rejected(),
                Event::StreamError => stream.stream_error(),
                Event::Reconnected => stream.reconnected(),
                Event::Healthy(healthy) => stream.healthy(healthy),
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = event;
    }
}

/// A change of the [`Status`], as the metrics see it.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
enum Event {
    Delivered,
    Rejected,
    StreamError,
    Reconnected,
    Healthy(bool),
}

/// Counts what the `spiffe` crate's source reports.
#[derive(Debug)]
struct Counts(Arc<Shared>);

impl MetricsRecorder for Counts {
    fn record_update(&self) {}

    fn record_reconnect(&self) {
        self.0.lock().reconnects += 1;
        self.0.record(Event::Reconnected);
    }

    fn record_error(&self, kind: MetricsErrorKind) {
        let mut status = self.0.lock();
        status.stream_errors += 1;
        status.last_error = Some(format!("Workload API: {kind}"));
        status.healthy = false;
        self.0.record(Event::StreamError);
    }
}

/// Picks the SVID for one SPIFFE ID.
#[derive(Debug)]
struct ById(String);

impl SvidPicker for ById {
    fn pick_svid(&self, svids: &[Arc<X509Svid>]) -> Option<usize> {
        svids
            .iter()
            .position(|s| s.spiffe_id().to_string() == self.0)
    }
}

/// The task: builds the `spiffe` source (again after it fails to start), then applies each of its
/// updates.
async fn run(config: Config, shared: Arc<Shared>, ready: watch::Sender<Option<Receiver>>) {
    let mut store = None;
    loop {
        let mut builder = X509Source::builder()
            .reconnect_backoff(config.backoff.0, config.backoff.1)
            .metrics(Arc::new(Counts(shared.clone())));
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let Some(id) = &config.id {
            builder = builder.picker(ById(id.to_string()));
        }
        let source = match builder.build().await {
            Ok(source) => source,
            Err(error) => {
                shared.failed(&workload_api(error));
                tokio::time::sleep(config.backoff.1).await;
                continue;
            }
        };
        let mut updates = source.updated();
        loop {
            let state = source.state();
            let applied = state
                .svid()
                .and_then(|svid| Ok((svid, state.context()?)))
                .map_err(workload_api)
                .and_then(|(svid, context)| {
                    apply(&svid, context.bundle_set(), &config, &mut store)
                });
            // Healthy: the stream is up and this response was usable. (Not the `spiffe` source's
            // `is_healthy()`, which is still false here until its supervisor task first runs.)
            let healthy = applied.is_ok();
            shared.lock().healthy = healthy;
            shared.record(Event::Healthy(healthy));
            match applied {
                Ok(first) => {
                    {
                        let mut status = shared.lock();
                        status.updates += 1;
                        status.ready = true;
                    }
                    shared.record(Event::Delivered);
                    if let Some(rx) = first {
                        ready.send_replace(Some(rx));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "Workload API update refused; keeping the credentials in force");
                    shared.failed(&error);
                }
            }
            if updates.changed().await.is_err() {
                break;
            }
        }
        source.shutdown().await;
    }
}

fn workload_api(error: impl std::fmt::Display) -> Error {
    Error::WorkloadApi {
        reason: error.to_string(),
    }
}

/// Turns our SVID and the bundles of one Workload API response into the store's credentials,
/// making the store on the first. Returns the receiver when it made the store.
fn apply(
    svid: &X509Svid,
    bundle_set: &X509BundleSet,
    config: &Config,
    store: &mut Option<Store>,
) -> Result<Option<Receiver>, Error> {
    let id: Id = svid.spiffe_id().to_string().parse()?;
    let ours = svid.spiffe_id().trust_domain();
    let mut roots = None;
    let mut bundles = BTreeMap::new();
    for (domain, bundle) in bundle_set.iter() {
        let anchors = bundle
            .authorities()
            .iter()
            .map(|c| CertificateDer::from(c.as_bytes().to_vec()));
        let anchors = TrustRoots::from_der(anchors)?;
        if domain == ours {
            roots = Some(anchors);
        } else {
            let domain: TrustDomain = domain.to_string().parse()?;
            bundles.insert(domain, anchors);
        }
    }
    let roots = roots.ok_or_else(|| Error::WorkloadApi {
        reason: format!("no bundle for our trust domain {ours}"),
    })?;
    let roots = (ours.to_string().parse::<TrustDomain>()?, roots);
    let (leaf, chain) = svid
        .cert_chain()
        .split_first()
        .ok_or_else(|| workload_api("an SVID without certificates"))?;
    let leaf = DerX509(leaf.as_bytes().to_vec());
    let chain = chain
        .iter()
        .map(|c| DerX509(c.as_bytes().to_vec()))
        .collect();
    let (_, parsed) = identity::parse(&leaf.0)?;
    let not_after = parsed.validity().not_after.timestamp();
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(not_after.max(0).unsigned_abs());
    let certificate = (leaf, chain, svid.private_key().as_bytes().to_vec(), expiry);
    if let Some(store) = store {
        store.replace_all(roots, bundles, certificate)?;
        return Ok(None);
    }
    let (made, rx) = creds::watch_roots(id, config.server_name.clone(), roots.1.clone())?;
    #[cfg(feature = "metrics")]
    let made = match &config.metrics {
        Some(metrics) => made.with_metrics(metrics.clone()),
        None => made,
    };
    let mut made = made;
    made.replace_all(roots, bundles, certificate)?;
    *store = Some(made);
    Ok(Some(rx))
}

#[cfg(test)]
mod tests;
