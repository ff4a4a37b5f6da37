//! Plain-words descriptions of the errors meshtls passes on from rustls, webpki and pki-types.
//!
//! Their own `Display` texts print byte arrays (`missing section end marker: [45, 45, ...]`), UNIX
//! seconds and `Debug` output (`Other(OtherError(CaUsedAsEndEntity))`), and rustls says "invalid
//! peer certificate" even when the certificate is the workload's own. [`crate::Error`] puts these
//! descriptions in its texts and keeps the original error as its `source()`.
//!
//! This module imports nothing from the crate, so `error.rs` stays a leaf of the module graph.
//! Names of algorithms come from oid-registry, as in [`crate::policy`].

use std::sync::OnceLock;

use rustls::pki_types::{pem, UnixTime};
use rustls::{AlertDescription, CertificateError, OtherError};
use x509_parser::asn1_rs::{FromDer as _, Oid};
use x509_parser::oid_registry::{OidEntry, OidRegistry};

/// A PEM error, with labels and lines as text.
pub(crate) fn pem(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { end_marker } => {
            format!(
                "missing \"-----END {}-----\"",
                String::from_utf8_lossy(end_marker)
            )
        }
        pem::Error::IllegalSectionStart { line } => {
            format!(
                "malformed BEGIN line \"{}\"",
                String::from_utf8_lossy(line).trim()
            )
        }
        pem::Error::Base64Decode(detail) => {
            format!("the text between BEGIN and END is not valid base64 ({detail})")
        }
        pem::Error::Io(e) => format!("read error: {e}"),
        pem::Error::NoItemsFound => "no PEM section found".to_string(),
        pem::Error::SectionTooLarge => "a PEM section is larger than 256 MB".to_string(),
        _ => "malformed PEM".to_string(),
    }
}

/// What is wrong with a certificate, as the rest of a sentence that names whose it is: e.g.
/// "it expired at 2002-01-01T00:00:00Z (checked at 2026-12-01T22:42:04Z)".
pub(crate) fn certificate(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(e) => certificate_error(e),
        rustls::Error::NoCertificatesPresented => "no certificate was presented".into(),
        rustls::Error::InvalidCertRevocationList(_) => {
            "a certificate revocation list is invalid".into()
        }
        other => tls(other),
    }
}

/// Any other rustls error, in words.
pub(crate) fn tls(error: &rustls::Error) -> String {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(e) => certificate_error(e),
        E::General(detail) => detail.clone(),
        E::Other(other) => other_error(other),
        E::NoCertificatesPresented
        | E::DecryptError
        | E::EncryptError
        | E::PeerSentOversizedRecord
        | E::HandshakeNotComplete
        | E::NoApplicationProtocol
        | E::FailedToGetCurrentTime
        | E::FailedToGetRandomBytes
        | E::BadMaxFragmentSize => error.to_string(),
        E::PeerIncompatible(_) => "the peer does not support what this build requires".into(),
        E::PeerMisbehaved(_) => "the peer broke the TLS protocol".into(),
        E::AlertReceived(a) => format!("the peer sent the fatal alert {}", alert(*a)),
        E::InconsistentKeys(_) => "the private key does not match the certificate".into(),
        _ => "rustls refused it (the error's source says how)".into(),
    }
}

fn certificate_error(error: &CertificateError) -> String {
    use CertificateError as C;
    match error {
        C::BadEncoding => "it is not a well-formed DER X.509 certificate".into(),
        C::Expired => "it has expired".into(),
        C::ExpiredContext { time, not_after } => format!(
            "it expired at {} (checked at {})",
            rfc3339(*not_after),
            rfc3339(*time)
        ),
        C::NotValidYet => "it is not valid yet".into(),
        C::NotValidYetContext { time, not_before } => format!(
            "it is not valid before {} (checked at {})",
            rfc3339(*not_before),
            rfc3339(*time)
        ),
        C::Revoked => "it has been revoked".into(),
        C::UnhandledCriticalExtension => "it has a critical extension that is not supported".into(),
        C::UnknownIssuer => {
            "it is not issued by any of the trust roots (unknown issuer; is an intermediate \
             missing from the chain?)"
                .into()
        }
        C::UnknownRevocationStatus => "its revocation status is unknown".into(),
        C::ExpiredRevocationList => "the certificate revocation list has expired".into(),
        C::ExpiredRevocationListContext { time, next_update } => format!(
            "the certificate revocation list expired at {} (checked at {})",
            rfc3339(*next_update),
            rfc3339(*time)
        ),
        C::BadSignature => "a signature in its chain does not verify".into(),
        #[allow(deprecated)]
        C::UnsupportedSignatureAlgorithm => {
            "it is signed with an algorithm this build does not accept".into()
        }
        C::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id,
            ..
        } => format!(
            "it is signed with {}, which this build does not accept",
            algorithm(signature_algorithm_id)
        ),
        C::UnsupportedSignatureAlgorithmForPublicKeyContext {
            signature_algorithm_id,
            public_key_algorithm_id,
        } => format!(
            "its signature algorithm {} does not fit its issuer's {} key",
            algorithm(signature_algorithm_id),
            algorithm(public_key_algorithm_id)
        ),
        C::NotValidForName => "it is not valid for the name required".into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "it is not valid for {} (it names: {})",
            expected.to_str(),
            list(presented)
        ),
        C::InvalidPurpose => "its extended key usage does not allow this use".into(),
        C::InvalidPurposeContext {
            required,
            presented,
        } => {
            let presented: Vec<String> = presented.iter().map(|p| p.to_string()).collect();
            format!(
                "its extended key usage does not allow {required} (it allows: {})",
                list(&presented)
            )
        }
        C::InvalidOcspResponse => "its OCSP response is invalid".into(),
        C::ApplicationVerificationFailure => "an application-level check refused it".into(),
        C::Other(other) => other_error(other),
        _ => "the certificate verifier refused it".into(),
    }
}

fn other_error(other: &OtherError) -> String {
    match other.0.downcast_ref::<webpki::Error>() {
        Some(e) => webpki_error(e),
        None => other.0.to_string(),
    }
}

/// webpki's reasons, for those rustls does not map to a [`CertificateError`] of its own.
fn webpki_error(error: &webpki::Error) -> String {
    use webpki::Error as W;
    match error {
        W::CaUsedAsEndEntity => {
            "it is a CA certificate (basicConstraints CA:TRUE) presented as an end-entity \
             certificate"
        }
        W::EndEntityUsedAsCa => "an end-entity certificate is used as a CA in its chain",
        W::PathLenConstraintViolated => {
            "its chain is longer than an issuer's pathLenConstraint allows"
        }
        W::UnsupportedCriticalExtension => "it has a critical extension that is not supported",
        W::ExtensionValueInvalid => "one of its extensions has an invalid value",
        W::MalformedExtensions => "its extensions are malformed",
        W::UnsupportedCertVersion => "it is not an X.509 v3 certificate",
        W::InvalidSerialNumber => "its serial number is invalid",
        W::InvalidCertValidity => "its validity period is malformed",
        W::NameConstraintViolation => "it violates an issuer's name constraints",
        W::MalformedNameConstraint => "an issuer's name constraints are malformed",
        W::MalformedDnsIdentifier => "it carries a malformed DNS name",
        W::UnsupportedNameType => "it carries a name of a type that is not supported",
        W::EmptyEkuExtension => "its extended key usage extension is empty",
        #[allow(deprecated)]
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => {
            "its extended key usage does not allow this use"
        }
        W::SignatureAlgorithmMismatch => {
            "its signature algorithm differs from the one inside the signed part"
        }
        W::CertDistrusted => "it is distrusted",
        W::BadDer | W::BadDerTime | W::TrailingData(_) => "it is not well-formed DER",
        W::MaximumPathDepthExceeded
        | W::MaximumPathBuildCallsExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => {
            "its chain is too long or too complex to verify"
        }
        _ => "it fails a path-validation check (the error's source says which)",
    }
    .into()
}

/// An AlgorithmIdentifier's contents (`06 len oid [params]`), by its oid-registry name and OID.
fn algorithm(der: &[u8]) -> String {
    // asn1-rs reads an OID's contents without checking the tag: check it is an OBJECT IDENTIFIER.
    let oid = match der.first() {
        Some(0x06) => Oid::from_der(der)
            .ok()
            .filter(|(_, oid)| !oid.as_bytes().is_empty()),
        _ => None,
    };
    match oid {
        Some((_, oid)) => {
            let name = oid_name(&oid);
            let dotted = oid.to_id_string();
            if name == dotted {
                format!("the algorithm {dotted}")
            } else {
                format!("{name} ({dotted})")
            }
        }
        None => "an unrecognised algorithm".into(),
    }
}

/// An OID's short name from oid-registry (X.509, PKCS and NIST tables), or its dotted form.
pub(crate) fn oid_name(oid: &Oid<'_>) -> String {
    static REGISTRY: OnceLock<OidRegistry<'static>> = OnceLock::new();
    let registry = REGISTRY.get_or_init(|| {
        let mut registry = OidRegistry::default().with_all_crypto().with_x509();
        // The one signature algorithm a refused mesh certificate often carries that oid-registry's
        // X9.62 table lacks (RFC 3279 §2.2.3).
        if let Ok(sha1) = Oid::from(&[1, 2, 840, 10045, 4, 1]) {
            registry.insert(
                sha1,
                OidEntry::new("ecdsa-with-SHA1", "ECDSA with SHA-1 (RFC 3279)"),
            );
        }
        registry
    });
    registry
        .get(oid)
        .map_or_else(|| oid.to_id_string(), |entry| entry.sn().to_string())
}

/// A TLS alert by its RFC 8446 §6 name, or its number.
fn alert(a: AlertDescription) -> String {
    alert_name(a).map_or_else(|| format!("number {}", u8::from(a)), str::to_string)
}

/// The RFC 8446 §6 name of an alert, `None` for a number without one (the metrics' alert label
/// uses it too, so its values are this fixed set).
pub(crate) fn alert_name(a: AlertDescription) -> Option<&'static str> {
    use AlertDescription as A;
    Some(match a {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::RecordOverflow => "record_overflow",
        A::HandshakeFailure => "handshake_failure",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCA => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::InappropriateFallback => "inappropriate_fallback",
        A::UserCanceled => "user_canceled",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::UnrecognisedName => "unrecognized_name",
        A::BadCertificateStatusResponse => "bad_certificate_status_response",
        A::UnknownPSKIdentity => "unknown_psk_identity",
        A::CertificateRequired => "certificate_required",
        A::NoApplicationProtocol => "no_application_protocol",
        _ => return None,
    })
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// A UNIX time as an RFC 3339 UTC date, e.g. `2002-01-01T00:00:00Z`.
pub(crate) fn rfc3339(t: UnixTime) -> String {
    let secs = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} seconds after 1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_oids() {
        assert_eq!(
            rfc3339(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1_009_843_200
            ))),
            "2002-01-01T00:00:00Z"
        );
        assert_eq!(
            algorithm(&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]),
            "ecdsa-with-SHA1 (1.2.840.10045.4.1)"
        );
        assert_eq!(
            algorithm(&[0x06, 0x03, 0x2a, 0x03, 0x04]),
            "the algorithm 1.2.3.4"
        );
        assert_eq!(
            algorithm(&[0x06, 0x03, 0x2b, 0x65, 0x71]),
            "ed448 (1.3.101.113)"
        );
        assert_eq!(
            tls(&rustls::Error::AlertReceived(
                AlertDescription::HandshakeFailure
            )),
            "the peer sent the fatal alert handshake_failure"
        );
        assert_eq!(algorithm(&[0x05, 0x00]), "an unrecognised algorithm");
    }
}
