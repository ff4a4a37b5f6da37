//! The label values of meshtls's metrics: each a small fixed set, none taken from the peer (no
//! SNI, no identity, no alert number without a name).

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// Which end of a handshake this workload was.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// Why a handshake failed.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Reason {
    /// It did not finish by its deadline.
    Timeout,
    /// The peer sent a fatal alert (named in the `alert` label).
    AlertReceived,
    /// We sent a fatal alert for a protocol error of the peer's.
    AlertSent,
    /// Our verifier refused the peer's certificate (chain, the mesh's rules, identity).
    IdentityRefused,
    /// The server's authorization policy refused the client.
    AuthorizationRefused,
    /// The peer offered no version, suite, group or signature scheme we have.
    NoCommonAlgorithm,
    /// The server had no certificate yet.
    NoCredentials,
    /// The peer closed or reset the connection.
    Closed,
    /// Anything else (an I/O error, a config refused).
    Other,
}

/// What [`crate::detect::detect`] said.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Verdict {
    Terminate,
    Passthru,
    NoSni,
    NotTls,
    TimedOut,
}

/// Which credential update (what `Store`'s methods change).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Update {
    /// `set_certificate`.
    Certificate,
    /// `set_roots`.
    Roots,
    /// `set_bundle`.
    Bundle,
    /// `remove_bundle`.
    BundleRemoval,
    /// Roots, bundles and certificate at once (a Workload API response).
    All,
}

/// Whether an update was taken.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Refused,
}

/// Whether a handshake finished.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Finished {
    Ok,
    Failed,
}

// === label values ===

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Timeout => "timeout",
            Reason::AlertReceived => "alert_received",
            Reason::AlertSent => "alert_sent",
            Reason::IdentityRefused => "identity_refused",
            Reason::AuthorizationRefused => "authorization_refused",
            Reason::NoCommonAlgorithm => "no_common_algorithm",
            Reason::NoCredentials => "no_credentials",
            Reason::Closed => "closed",
            Reason::Other => "other",
        }
    }
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Terminate => "terminate",
            Verdict::Passthru => "passthru",
            Verdict::NoSni => "no_sni",
            Verdict::NotTls => "not_tls",
            Verdict::TimedOut => "timed_out",
        }
    }
}

impl Update {
    fn as_str(self) -> &'static str {
        match self {
            Update::Certificate => "certificate",
            Update::Roots => "roots",
            Update::Bundle => "bundle",
            Update::BundleRemoval => "bundle_removal",
            Update::All => "all",
        }
    }
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
    }
}

impl Finished {
    fn as_str(self) -> &'static str {
        match self {
            Finished::Ok => "ok",
            Finished::Failed => "failed",
        }
    }
}

/// Writes `value` as the label value (each enum above, by its `as_str`).
fn write(encoder: &mut LabelValueEncoder<'_>, value: &str) -> std::fmt::Result {
    encoder.write_str(value)
}

impl EncodeLabelValue for Side {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        write(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Reason {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        write(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Verdict {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        write(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Update {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        write(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        write(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Finished {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        write(encoder, self.as_str())
    }
}

// === label sets ===

/// A handshake that finished: the policy table's names of what it negotiated (`none` where there
/// was nothing, `unknown` for an id outside the table).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Established {
    pub(super) side: Side,
    pub(super) version: &'static str,
    pub(super) suite: &'static str,
    pub(super) group: &'static str,
}

/// A handshake that failed; `alert` is an RFC 8446 alert name, `none`, or `unnamed` (received as a
/// number without a name, or sent without knowing which).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Failed {
    pub(super) side: Side,
    pub(super) reason: Reason,
    pub(super) alert: &'static str,
}

/// A handshake's duration, by how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Timed {
    pub(super) side: Side,
    pub(super) result: Finished,
}

/// One side.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct BySide {
    pub(super) side: Side,
}

/// A detection verdict.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Detected {
    pub(super) verdict: Verdict,
}

/// A credential update and whether it was taken.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Updated {
    pub(super) what: Update,
    pub(super) result: Outcome,
}

/// A kind of credential update.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct What {
    pub(super) what: Update,
}
