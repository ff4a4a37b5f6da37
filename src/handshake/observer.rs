//! What a handshake reports to [`crate::metrics`]: how it ended, what it negotiated, how long it
//! took. Without the `metrics` feature an [`Observer`] is empty and its calls do nothing; with it,
//! an observer without metrics attached does not even read the clock.

use std::io;

use crate::io::Negotiated;
#[cfg(feature = "metrics")]
use crate::metrics::{Metrics, Side};

/// Where one side's handshakes are recorded, if anywhere.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observer {
    #[cfg(feature = "metrics")]
    to: Option<(Metrics, Side)>,
}

/// When an observed handshake started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    #[cfg(feature = "metrics")]
    at: Option<std::time::Instant>,
}

// === impl Observer ===

impl Observer {
    /// Records a server's handshakes into `metrics`.
    #[cfg(feature = "metrics")]
    pub(crate) fn server(metrics: Metrics) -> Self {
        Self {
            to: Some((metrics, Side::Server)),
        }
    }

    /// Records a client's handshakes into `metrics`.
    #[cfg(feature = "metrics")]
    pub(crate) fn client(metrics: Metrics) -> Self {
        Self {
            to: Some((metrics, Side::Client)),
        }
    }

    /// A handshake starts.
    #[inline]
    pub(crate) fn start(&self) -> Started {
        Started {
            #[cfg(feature = "metrics")]
            at: self.to.as_ref().map(|_| std::time::Instant::now()),
        }
    }

    /// The handshake begun at `started` ended: established with `negotiated`, or failed.
    #[inline]
    pub(crate) fn finish(&self, started: Started, ended: Result<&Negotiated, &io::Error>) {
        #[cfg(feature = "metrics")]
        if let (Some((metrics, side)), Some(at)) = (&self.to, started.at) {
            let took = at.elapsed();
            match ended {
                Ok(negotiated) => metrics.established(*side, negotiated, took),
                Err(error) => metrics.failed(*side, error, took),
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (started, ended);
    }
}
