//! `meshtls check-cert`: a certificate chain judged against the build's policy, and optionally its
//! key, its trust roots and the identity it must carry.

use std::path::Path;

use meshtls::creds::{self, TrustRoots};
use meshtls::identity::rules::{self, Role};
use meshtls::{identity, policy, DerX509, Error, Id};
use serde_json::{json, Value};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{now_secs, read, rfc3339, Fail, Report};

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
    let algs = policy::certificate(&der.0).map_err(|e| {
        Fail::new(
            format!("{which}: {e}"),
            "pass the PEM chain the workload presents (leaf first)",
        )
    })?;
    let (key, sig) = (algs.key.clone(), algs.signature.clone());

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
    for f in [algs.key_problem, algs.signature_problem]
        .into_iter()
        .flatten()
    {
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
    // Each link: can this build verify the certificate's signature with the next one's key?
    let all: Vec<&DerX509> = std::iter::once(&leaf).chain(&chain).collect();
    for (i, pair) in all.windows(2).enumerate() {
        if let Some(problem) = policy::issued_by(&pair[0].0, &pair[1].0) {
            let which = if i == 0 {
                "leaf".to_string()
            } else {
                format!("chain[{i}]")
            };
            r.finding(format!("{which}: issued by chain[{}]: {problem}", i + 1));
        }
    }

    let ids: Vec<String> = identity::identities(&leaf.0)
        .map_err(|e| Fail::new(format!("leaf: {e}"), todo))?
        .iter()
        .map(Id::to_string)
        .collect();
    r.field("identities", "identities:", ids.join(", "));
    r.json.insert("identities".into(), json!(ids));
    // The mesh's certificate rules (extensions, SANs, trailing bytes): what Store::set_certificate
    // and both handshake sides enforce.
    let problems = rules::check(&leaf.0, &chain, Role::Workload);
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
