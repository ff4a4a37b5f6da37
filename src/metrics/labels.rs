//! The label values of meshtls's metrics: each a small fixed set, none taken from the peer (no
//! SNI, no identity, no alert number without a name).

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

pub(crate) use crate::handshake::outcome::{Reason, Side};

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
