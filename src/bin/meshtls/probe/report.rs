//! The report of a completed handshake: what was negotiated and the server's certificates, each
//! judged by the policy table.

use meshtls::identity::rules::{self, Role};
use meshtls::{identity, policy, Id};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConnection, SignatureScheme};
use serde_json::json;

use crate::{now_secs, rfc3339, Report};

/// The server's certificates, each key and signature algorithm judged by the policy table, and each
/// link (certificate, next certificate) by whether this build can verify that signature.
pub(super) fn peer_certificates(r: &mut Report, certs: &[CertificateDer<'_>]) {
    let mut out = Vec::new();
    for (i, der) in certs.iter().enumerate() {
        let which = if i == 0 {
            "peer leaf".to_string()
        } else {
            format!("peer chain[{i}]")
        };
        match policy::certificate(der) {
            Ok(algs) => {
                r.line(format!(
                    "{:<22} key {}, signed with {}",
                    format!("{which}:"),
                    algs.key,
                    algs.signature
                ));
                for problem in [&algs.key_problem, &algs.signature_problem]
                    .into_iter()
                    .flatten()
                {
                    r.finding(format!("{which}: {problem}"));
                }
                out.push(json!({
                    "key": algs.key,
                    "key_problem": algs.key_problem,
                    "signature": algs.signature,
                    "signature_problem": algs.signature_problem,
                }));
            }
            Err(e) => {
                r.finding(format!("{which}: {e}"));
                out.push(json!({ "error": e.to_string() }));
            }
        }
        if let Some(issuer) = certs.get(i + 1) {
            if let Some(problem) = policy::issued_by(der, issuer) {
                r.finding(format!(
                    "{which}: issued by peer chain[{}]: {problem}",
                    i + 1
                ));
            }
        }
    }
    r.json.insert("peer_certificates".into(), json!(out));
    // The mesh's certificate rules, as a mesh client would apply them to this server.
    if let Some((leaf, chain)) = certs.split_first() {
        for problem in rules::check(leaf, chain, Role::Server) {
            r.finding(format!("peer {problem}"));
        }
    }
}

pub(super) fn report(
    r: &mut Report,
    conn: &ClientConnection,
    id: Option<&Id>,
    verified: bool,
    scheme: Option<SignatureScheme>,
) {
    r.field("handshake", "handshake:", "ok");
    let fips_mode = meshtls::fips::status().fips_mode;
    // What was negotiated, each judged by its row in the policy table.
    let negotiated = [
        (
            "version",
            conn.protocol_version()
                .map(|v| (u16::from(v), policy::version(v))),
        ),
        (
            "suite",
            conn.negotiated_cipher_suite()
                .map(|s| (u16::from(s.suite()), policy::suite(s.suite()))),
        ),
        (
            "group",
            conn.negotiated_key_exchange_group()
                .map(|g| (u16::from(g.name()), policy::group(g.name()))),
        ),
        (
            "signature_scheme",
            scheme.map(|s| (u16::from(s), policy::scheme(s))),
        ),
    ];
    let mut approved_here = true;
    for (key, found) in negotiated {
        let label = format!("{}:", key.replace('_', " "));
        let approved_key = format!("{key}_approved");
        let approved_label = format!("{} approved:", key.replace('_', " "));
        match found {
            None => {
                r.field(key, &label, json!(null));
                r.field(&approved_key, &approved_label, false);
                r.finding(format!("no {} was negotiated", key.replace('_', " ")));
            }
            Some((wire, None)) => {
                r.field(key, &label, format!("0x{wire:04x}"));
                r.field(&approved_key, &approved_label, false);
                r.finding(format!(
                    "{} 0x{wire:04x} is not in the policy table",
                    key.replace('_', " ")
                ));
            }
            Some((_, Some(row))) => {
                r.field(key, &label, row.name);
                let ok = row.approval.is_approved();
                r.field(&approved_key, &approved_label, ok && fips_mode);
                r.line(format!("{:<22} {}", "", row.approval.text()));
                if !ok {
                    r.finding(format!(
                        "negotiated {} {} is not FIPS-approved: {}",
                        row.kind,
                        row.name,
                        row.approval.text()
                    ));
                }
                approved_here &= ok;
            }
        }
    }
    if approved_here && !fips_mode {
        r.finding(
            "the crypto module is not in FIPS mode, so nothing negotiated is FIPS-approved \
             (run the regulated build)",
        );
    }
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    r.field("alpn", "ALPN:", alpn.map_or(json!(null), |a| json!(a)));
    r.field("chain_verified", "chain verified:", verified);
    if !verified {
        r.finding(
            "the server's chain was not verified (no --roots): its identity and trust are \
             unproven; pass --roots with the mesh's trust anchors",
        );
    }
    peer_certificates(r, conn.peer_certificates().unwrap_or_default());

    let leaf = conn.peer_certificates().and_then(|c| c.first());
    let Some(leaf) = leaf else {
        r.finding("the server sent no certificate");
        return;
    };
    let ids: Vec<String> = identity::identities(leaf)
        .unwrap_or_default()
        .iter()
        .map(Id::to_string)
        .collect();
    r.field("peer_identities", "peer identities:", json!(ids));
    if let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) {
        let not_after = cert.validity().not_after.timestamp();
        r.field(
            "peer_not_after",
            "peer expires:",
            rfc3339(&cert.validity().not_after),
        );
        r.field(
            "peer_days_left",
            "peer days left:",
            (not_after - now_secs()).div_euclid(86_400),
        );
    }
    if let Some(id) = id {
        match identity::verify_id(leaf, id) {
            Ok(()) => r.field("identity", "identity:", format!("carries {id}")),
            Err(e) => {
                r.field("identity", "identity:", format!("REFUSED: {e}"));
                r.finding(format!("identity: {e}"));
            }
        }
    }
}
