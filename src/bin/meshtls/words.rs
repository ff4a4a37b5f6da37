//! Errors in words for the reports: rustls errors without `Debug` output or byte arrays, alerts by
//! their RFC 8446 names, certificate times as RFC 3339 dates.

use rustls::pki_types::UnixTime;
use rustls::{AlertDescription as A, CertificateError as C};

/// `e` as a sentence; `whose` names the certificate ("the server's", "the").
pub(crate) fn tls(e: &rustls::Error, whose: &str) -> String {
    match e {
        rustls::Error::AlertReceived(a) => alert(*a),
        rustls::Error::PeerIncompatible(_) => {
            "the server's hello is incompatible with what this build offers".into()
        }
        rustls::Error::InvalidCertificate(c) => certificate(c, whose),
        other => other.to_string(),
    }
}

fn alert(a: A) -> String {
    let name = match a {
        A::HandshakeFailure => "handshake_failure",
        A::InsufficientSecurity => "insufficient_security",
        A::ProtocolVersion => "protocol_version",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRequired => "certificate_required",
        A::UnknownCA => "unknown_ca",
        A::NoApplicationProtocol => "no_application_protocol",
        A::IllegalParameter => "illegal_parameter",
        A::DecodeError => "decode_error",
        A::InternalError => "internal_error",
        A::UnrecognisedName => "unrecognized_name",
        A::AccessDenied => "access_denied",
        _ => return format!("the server sent fatal alert {}", u8::from(a)),
    };
    format!("the server sent the fatal alert {name}")
}

fn certificate(c: &C, whose: &str) -> String {
    match c {
        C::UnknownIssuer => {
            format!("{whose} chain does not lead to any of the trust roots (UnknownIssuer)")
        }
        C::ExpiredContext { not_after, .. } => {
            format!("{whose} certificate expired on {}", unix_date(*not_after))
        }
        C::NotValidYetContext { not_before, .. } => {
            format!(
                "{whose} certificate is not valid until {}",
                unix_date(*not_before)
            )
        }
        C::Expired => format!("{whose} certificate has expired"),
        C::NotValidYet => format!("{whose} certificate is not valid yet"),
        C::BadSignature => format!("a signature in {whose} chain does not verify"),
        C::UnsupportedSignatureAlgorithmContext { .. } => {
            format!("{whose} chain is signed with an algorithm this build does not verify")
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            format!(
                "{whose} certificate does not allow the usage (serverAuth / clientAuth) it needs"
            )
        }
        C::BadEncoding => format!("{whose} certificate is not valid DER"),
        C::Other(other) => format!("{whose} certificate: {}", webpki(&other.0.to_string())),
        other => format!("{whose} certificate: {other}"),
    }
}

/// rustls-webpki's errors reach us as `OtherError`s whose text is their variant name: the ones a
/// mesh certificate meets, in words.
fn webpki(text: &str) -> String {
    match text {
        "CaUsedAsEndEntity" => {
            "it is a CA certificate (CA:TRUE), used as an end-entity certificate".into()
        }
        "EndEntityUsedAsCa" => "an end-entity certificate is used as a CA".into(),
        "UnsupportedCriticalExtension" => {
            "it has a critical extension the verifier does not process".into()
        }
        "PathLenConstraintViolated" => "the chain breaks a CA's pathLenConstraint".into(),
        "NameConstraintViolation" => "it breaks a CA's name constraints".into(),
        other => other.to_string(),
    }
}

/// A time as an RFC 3339 date (UTC), e.g. `2125-01-01T00:00:00Z`.
pub(crate) fn date(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// A rustls certificate time as an RFC 3339 date.
fn unix_date(t: UnixTime) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .map_or_else(|| format!("{} seconds after 1970", t.as_secs()), date)
}
