//! `meshtls check-cert`: a certificate chain judged against the build's policy, and optionally its
//! key, its trust roots and the identity it must carry.

use std::path::Path;

use meshtls::creds::{self, TrustRoots};
use meshtls::{identity, leaf, DerX509, Error, Id};
use serde_json::{json, Value};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::{now_secs, read, rfc3339, Fail, Report};

/// What a certificate's public key is, and whether the policy accepts it.
fn key_kind(cert: &X509Certificate<'_>) -> (String, Option<String>) {
    let spki = cert.public_key();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size();
            let finding = (bits < 2048).then(|| {
                format!("RSA-{bits} key: below the 2048-bit minimum (SP 800-131A Rev. 2)")
            });
            (format!("RSA {bits} bits"), finding)
        }
        Ok(PublicKey::EC(_)) => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => ("ECDSA P-256".into(), None),
            Some("1.3.132.0.34") => ("ECDSA P-384".into(), None),
            other => (
                format!("EC on curve {}", other.unwrap_or("?")),
                Some("EC key on a curve meshtls does not offer (P-256 and P-384 only)".into()),
            ),
        },
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => ("Ed25519".into(), None),
        _ => {
            let oid = spki.algorithm.algorithm.to_id_string();
            (
                format!("unsupported key ({oid})"),
                Some(format!("key type {oid} is not supported")),
            )
        }
    }
}

/// The signature algorithm's name, and a finding if the policy refuses it.
fn signature_kind(oid: &Oid<'_>) -> (String, Option<String>) {
    let id = oid.to_id_string();
    let name = match id.as_str() {
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        _ => "",
    };
    let finding = match name {
        "sha1WithRSAEncryption" | "ecdsa-with-SHA1" | "md5WithRSAEncryption" => Some(format!(
            "signed with {name}: SHA-1/MD5 signatures are not accepted (SP 800-131A Rev. 2)"
        )),
        "" => Some(format!(
            "signature algorithm {id} is not one meshtls verifies"
        )),
        _ => None,
    };
    (
        if name.is_empty() {
            id
        } else {
            name.to_string()
        },
        finding,
    )
}

/// Reports one certificate; findings are prefixed with `which`.
fn describe(r: &mut Report, which: &str, der: &DerX509, now: i64) -> Result<Value, Fail> {
    let (_, cert) = X509Certificate::from_der(&der.0).map_err(|e| {
        Fail::new(
            format!("{which}: not an X.509 certificate: {e}"),
            "pass the PEM chain the workload presents (leaf first)",
        )
    })?;
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let days_left = (not_after - now).div_euclid(86_400);
    let (key, key_finding) = key_kind(&cert);
    let (sig, sig_finding) = signature_kind(&cert.signature_algorithm.algorithm);

    r.line(format!("{which}:"));
    r.line(format!("  subject        {}", cert.subject()));
    r.line(format!("  issuer         {}", cert.issuer()));
    r.line(format!(
        "  valid          {} .. {} ({days_left} days left)",
        rfc3339(&cert.validity().not_before),
        rfc3339(&cert.validity().not_after)
    ));
    r.line(format!("  key            {key}"));
    r.line(format!("  signature      {sig}"));
    if now < not_before {
        r.finding(format!(
            "{which}: not valid until {}",
            rfc3339(&cert.validity().not_before)
        ));
    }
    if now > not_after {
        r.finding(format!(
            "{which}: expired on {}",
            rfc3339(&cert.validity().not_after)
        ));
    }
    for f in [key_finding, sig_finding].into_iter().flatten() {
        r.finding(format!("{which}: {f}"));
    }
    Ok(json!({
        "subject": cert.subject().to_string(),
        "issuer": cert.issuer().to_string(),
        "not_before": rfc3339(&cert.validity().not_before),
        "not_after": rfc3339(&cert.validity().not_after),
        "days_left": days_left,
        "key": key,
        "signature_algorithm": sig,
    }))
}

pub(crate) fn run(
    chain_path: &Path,
    key: Option<&Path>,
    roots: Option<&Path>,
    id: Option<&str>,
) -> Result<Report, Fail> {
    let todo = "pass a PEM file with the certificate chain, leaf first";
    let (leaf, chain) = creds::chain_from_pem(&read(chain_path, "certificate chain")?)
        .map_err(|e| Fail::new(format!("{}: {e}", chain_path.display()), todo))?;
    let id: Option<Id> = id.map(|s| s.parse()).transpose().map_err(|e| {
        Fail::new(
            format!("--id: {e}"),
            "pass a DNS-like name or a spiffe:// URI",
        )
    })?;
    let roots = match roots {
        None => None,
        Some(p) => Some(TrustRoots::from_pem(&read(p, "trust roots")?).map_err(|e| {
            Fail::new(
                format!("{}: {e}", p.display()),
                "pass the mesh's PEM trust-anchor bundle",
            )
        })?),
    };
    let key_der = match key {
        None => None,
        Some(p) => Some(creds::key_from_pem(&read(p, "private key")?).map_err(|e| {
            Fail::new(
                format!("{}: {e}", p.display()),
                "pass the leaf's PEM private key",
            )
        })?),
    };

    let mut r = Report::default();
    let now = now_secs();
    let mut certs = vec![describe(&mut r, "leaf", &leaf, now)?];
    for (i, c) in chain.iter().enumerate() {
        certs.push(describe(&mut r, &format!("chain[{}]", i + 1), c, now)?);
    }
    r.json.insert("certificates".into(), Value::Array(certs));

    let ids: Vec<String> = identity::identities(&leaf.0)
        .map_err(|e| Fail::new(format!("leaf: {e}"), todo))?
        .iter()
        .map(Id::to_string)
        .collect();
    r.field("identities", "identities:", ids.join(", "));
    r.json.insert("identities".into(), json!(ids));
    // The mesh's certificate rules (extensions, SANs, trailing bytes): what Store::set_certificate
    // and both handshake sides enforce.
    let problems = leaf::check(&leaf.0, &chain);
    r.json.insert(
        "rules".into(),
        json!(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>()),
    );
    for problem in problems {
        r.finding(problem.to_string());
    }

    if let Some(key_der) = key_der {
        let verdict = match creds::check_key(&leaf, &key_der) {
            Ok(_) => "matches the leaf, allowed by policy".to_string(),
            Err(e) => {
                r.finding(format!("key: {e}"));
                format!("REFUSED: {e}")
            }
        };
        r.field("key", "key:", verdict);
    }
    if let Some(roots) = roots {
        let verdict = match roots.verify(&leaf, &chain) {
            Ok(()) => format!("verifies to the roots ({} anchors)", roots.len()),
            Err(e) => {
                r.finding(format!("chain: {e}"));
                format!("REFUSED: {e}")
            }
        };
        r.field("chain", "chain:", verdict);
    }
    if let Some(id) = id {
        let verdict = match identity::verify_id(&leaf.0, &id) {
            Ok(()) => format!("carries {id}"),
            Err(e @ Error::IdMismatch { .. }) => {
                r.finding(format!("identity: {e}"));
                format!("REFUSED: {e}")
            }
            Err(e) => return Err(Fail::new(format!("leaf: {e}"), todo)),
        };
        r.field("identity", "identity:", verdict);
    }
    Ok(r)
}
