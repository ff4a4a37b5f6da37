//! What every handshake reports when it ends: one `tracing` event, the forensic line, and (with the
//! `metrics` feature, when metrics are attached) the metrics of [`crate::metrics`].
//!
//! The event has target [`TARGET`] and the fields `side` (`client`, `server`), `peer` (the identity
//! the peer proved, or `none`), `sni` (server: the SNI the client sent; client: the name dialed;
//! `none`), `version`, `suite`, `group` (the policy table's names, `none`), `alpn` (`none`),
//! `duration_ms`, `result` (`ok`, `failed`) and, for a failure, `reason` and `alert` (the fixed
//! names of [`super::outcome`], as the metrics label them) and `error` (the error's text). A
//! handshake that finished is logged at `debug`; one that failed at `warn`, except a client that
//! closed or reset the connection before sending a ClientHello (a probe, a health check, a
//! plain disconnect), which stays at `debug`.

use std::io;
use std::time::{Duration, Instant};

use super::outcome::{self, algorithm_name, Reason, Side, NONE};
use crate::identity::Id;
use crate::io::Negotiated;
#[cfg(feature = "metrics")]
use crate::metrics::Metrics;
use crate::policy;

/// The target of the handshake events.
pub(crate) const TARGET: &str = "meshtls::handshake";

/// Where one side's handshakes are reported.
#[derive(Clone, Debug)]
pub(crate) struct Observer {
    side: Side,
    #[cfg(feature = "metrics")]
    metrics: Option<Metrics>,
}

/// When an observed handshake started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    at: Instant,
}

/// Who a handshake was with, as far as it got.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen<'a> {
    /// Server: the SNI the client sent. Client: the server name dialed.
    pub(crate) sni: Option<&'a str>,
    /// Whether the client's ClientHello was sent (client) or read (server).
    pub(crate) hello: bool,
    /// The identity the peer proved, once the handshake finished.
    pub(crate) peer: Option<&'a Id>,
}

// === impl Observer ===

impl Observer {
    /// Reports a server's handshakes.
    pub(crate) fn server() -> Self {
        Self::of(Side::Server)
    }

    /// Reports a client's handshakes.
    pub(crate) fn client() -> Self {
        Self::of(Side::Client)
    }

    fn of(side: Side) -> Self {
        Self {
            side,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// This observer, also recording into `metrics`.
    #[cfg(feature = "metrics")]
    pub(crate) fn with_metrics(self, metrics: Metrics) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    /// A handshake starts.
    #[inline]
    pub(crate) fn start(&self) -> Started {
        Started { at: Instant::now() }
    }

    /// The handshake begun at `started` ended: established with `negotiated`, or failed.
    pub(crate) fn finish(
        &self,
        started: Started,
        seen: Seen<'_>,
        ended: Result<&Negotiated, &io::Error>,
    ) {
        let took = started.at.elapsed();
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            match ended {
                Ok(negotiated) => metrics.established(self.side, negotiated, took),
                Err(error) => metrics.failed(self.side, error, took),
            }
        }
        self.log(took, seen, ended);
    }

    /// The handshake's event.
    fn log(&self, took: Duration, seen: Seen<'_>, ended: Result<&Negotiated, &io::Error>) {
        let side = self.side.as_str();
        let peer = seen.peer.map(Id::to_string);
        let peer = peer.as_deref().unwrap_or(NONE);
        let sni = seen.sni.unwrap_or(NONE);
        let duration_ms = took.as_secs_f64() * 1e3;
        let error = match ended {
            Ok(negotiated) => {
                let alpn = negotiated
                    .protocol
                    .as_ref()
                    .map(|p| p.0.escape_ascii().to_string());
                tracing::debug!(
                    target: TARGET,
                    side,
                    peer,
                    sni,
                    version = algorithm_name(negotiated.version.map(policy::version)),
                    suite = algorithm_name(negotiated.suite.map(policy::suite)),
                    group = algorithm_name(negotiated.group.map(policy::group)),
                    alpn = alpn.as_deref().unwrap_or(NONE),
                    duration_ms,
                    result = "ok",
                    "handshake",
                );
                return;
            }
            Err(error) => error,
        };
        let (reason, alert) = outcome::classify(error);
        macro_rules! failed {
            ($level:ident) => {
                tracing::$level!(
                    target: TARGET,
                    side,
                    peer,
                    sni,
                    version = NONE,
                    suite = NONE,
                    group = NONE,
                    alpn = NONE,
                    duration_ms,
                    result = "failed",
                    reason = reason.as_str(),
                    alert,
                    %error,
                    "handshake",
                )
            };
        }
        // A client that went away before saying anything: not worth a warning.
        let plain_disconnect = self.side == Side::Server && !seen.hello && reason == Reason::Closed;
        if plain_disconnect {
            failed!(debug);
        } else {
            failed!(warn);
        }
    }
}
