//! [`Change`]: what a [`Store`](super::Store) update changes, for its log line and its metrics.

use crate::identity::Id;
#[cfg(feature = "metrics")]
use crate::metrics::Update;
use crate::Error;

/// What an update of the store changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Change {
    /// The certificate (`set_certificate`).
    Certificate,
    /// The mesh roots (`set_roots`).
    Roots,
    /// A federated bundle (`set_bundle`).
    Bundle,
    /// A federated bundle removed (`remove_bundle`).
    BundleRemoval,
    /// Roots, bundles and certificate at once (a Workload API response).
    All,
}

// === impl Change ===

impl Change {
    fn text(self) -> &'static str {
        match self {
            Change::Certificate => "certificate",
            Change::Roots => "trust roots",
            Change::Bundle => "federated bundle",
            Change::BundleRemoval => "federated bundle removal",
            Change::All => "credentials",
        }
    }

    /// Logs the update's result: taken, or refused with the previous credentials kept.
    pub(super) fn log(self, local_id: &Id, result: &Result<(), Error>) {
        let what = self.text();
        match result {
            Ok(()) => tracing::info!(%local_id, "{what} updated"),
            Err(error) => {
                tracing::warn!(%local_id, %error, "{what} rejected; keeping the previous")
            }
        }
    }

    /// The metrics' label for it.
    #[cfg(feature = "metrics")]
    pub(super) fn label(self) -> Update {
        match self {
            Change::Certificate => Update::Certificate,
            Change::Roots => Update::Roots,
            Change::Bundle => Update::Bundle,
            Change::BundleRemoval => Update::BundleRemoval,
            Change::All => Update::All,
        }
    }
}
