//! How a handshake ended, in fixed sets of names that the metrics and the handshake log share:
//! which [`Side`] we were, and why it failed, read from the `io::Error` that `accept` or `connect`
//! returned: a [`Reason`] and the alert that went with it.
//!
//! Our refusals carry our typed [`Error`]; the alert we sent for each is the one rustls derives
//! from the rustls error our verifier returned (the same mapping, so the label says what went on
//! the wire). Other failures carry rustls's error or the I/O error.

use std::io;

use rustls::{AlertDescription, PeerIncompatible};

use crate::authz::Refused;
use crate::error::text::alert_name;
use crate::policy::Algorithm;
use crate::Error;

/// The alert name when no alert was sent or received.
pub(crate) const NONE: &str = "none";
/// The alert name for an alert without an RFC 8446 name, or one sent that rustls does not say.
pub(crate) const UNNAMED: &str = "unnamed";

/// The name of what was negotiated when it is outside the policy table.
pub(crate) const UNKNOWN: &str = "unknown";

/// The policy table's name of a negotiated version, suite or group: [`NONE`] when nothing was
/// negotiated (`None`), [`UNKNOWN`] for an id outside the table (`Some(None)`).
pub(crate) fn algorithm_name(row: Option<Option<&'static Algorithm>>) -> &'static str {
    match row {
        None => NONE,
        Some(None) => UNKNOWN,
        Some(Some(row)) => row.name,
    }
}

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

// === impl Side ===

impl Side {
    /// `client` or `server`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

// === impl Reason ===

impl Reason {
    /// The reason's name, as the metrics label it and the handshake log writes it.
    pub(crate) fn as_str(self) -> &'static str {
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

/// The reason `error` ended a handshake, and the alert's name (or [`NONE`], [`UNNAMED`]).
pub(crate) fn classify(error: &io::Error) -> (Reason, &'static str) {
    if let Some(ours) = error.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        return ours_classified(ours);
    }
    if let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return tls_classified(tls);
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => (Reason::Closed, NONE),
        io::ErrorKind::TimedOut => (Reason::Timeout, NONE),
        _ => (Reason::Other, NONE),
    }
}

fn named(alert: AlertDescription) -> &'static str {
    alert_name(alert).unwrap_or(UNNAMED)
}

/// One of our own errors: a deadline, or a verifier's refusal (and the alert rustls sent for it).
fn ours_classified(error: &Error) -> (Reason, &'static str) {
    match error {
        Error::HandshakeTimeout { .. } => (Reason::Timeout, NONE),
        Error::NoCredentials => (Reason::NoCredentials, NONE),
        Error::Unauthorized(Refused::Unauthenticated) => (
            Reason::AuthorizationRefused,
            named(AlertDescription::CertificateRequired),
        ),
        Error::Unauthorized(_) => (
            Reason::AuthorizationRefused,
            named(AlertDescription::AccessDenied),
        ),
        Error::Leaf(problem) => (
            Reason::IdentityRefused,
            named(crate::trust::alert_for(problem).into()),
        ),
        Error::Untrusted { source, .. } => (Reason::IdentityRefused, sent(source)),
        Error::IdMismatch { .. } => (
            Reason::IdentityRefused,
            named(AlertDescription::BadCertificate),
        ),
        _ => (Reason::Other, NONE),
    }
}

/// A rustls error: an alert received, no algorithm in common, or a protocol error we alerted.
fn tls_classified(error: &rustls::Error) -> (Reason, &'static str) {
    use PeerIncompatible as P;
    match error {
        rustls::Error::AlertReceived(alert) => (Reason::AlertReceived, named(*alert)),
        rustls::Error::InvalidCertificate(_) => (Reason::IdentityRefused, sent(error)),
        rustls::Error::PeerIncompatible(
            P::NoCipherSuitesInCommon
            | P::NoKxGroupsInCommon
            | P::NoSignatureSchemesInCommon
            | P::NoCertificateRequestSignatureSchemesInCommon,
        ) => (
            Reason::NoCommonAlgorithm,
            named(AlertDescription::HandshakeFailure),
        ),
        rustls::Error::PeerIncompatible(
            P::Tls12NotOffered
            | P::Tls12NotOfferedOrEnabled
            | P::SupportedVersionsExtensionRequired
            | P::ServerDoesNotSupportTls12Or13,
        ) => (
            Reason::NoCommonAlgorithm,
            named(AlertDescription::ProtocolVersion),
        ),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::PeerIncompatible(_)
        | rustls::Error::PeerMisbehaved(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::DecryptError => (Reason::AlertSent, sent(error)),
        _ => (Reason::Other, NONE),
    }
}

/// The alert rustls sends for `error` where its public mapping says; [`UNNAMED`] otherwise.
fn sent(error: &rustls::Error) -> &'static str {
    match error {
        rustls::Error::InvalidCertificate(e) => named(e.clone().into()),
        rustls::Error::InvalidMessage(e) => named((*e).into()),
        rustls::Error::DecryptError => named(AlertDescription::BadRecordMac),
        _ => UNNAMED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError;

    fn io(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }

    #[test]
    fn reasons_and_alerts() {
        let cases: [(io::Error, Reason, &str); 8] = [
            (
                io(Error::HandshakeTimeout {
                    after: std::time::Duration::from_secs(1),
                }),
                Reason::Timeout,
                "none",
            ),
            (
                io(Error::Unauthorized(Refused::Unauthenticated)),
                Reason::AuthorizationRefused,
                "certificate_required",
            ),
            (
                io(Error::untrusted(
                    crate::Whose::Peer,
                    rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                )),
                Reason::IdentityRefused,
                "unknown_ca",
            ),
            (
                io(rustls::Error::AlertReceived(AlertDescription::AccessDenied)),
                Reason::AlertReceived,
                "access_denied",
            ),
            (
                io(rustls::Error::AlertReceived(AlertDescription::Unknown(200))),
                Reason::AlertReceived,
                "unnamed",
            ),
            (
                io(rustls::Error::PeerIncompatible(P::NoKxGroupsInCommon)),
                Reason::NoCommonAlgorithm,
                "handshake_failure",
            ),
            (
                io::Error::from(io::ErrorKind::ConnectionReset),
                Reason::Closed,
                "none",
            ),
            (io::Error::other("something else"), Reason::Other, "none"),
        ];
        for (error, reason, alert) in cases {
            assert_eq!(classify(&error), (reason, alert), "{error}");
        }
    }

    use PeerIncompatible as P;
}
