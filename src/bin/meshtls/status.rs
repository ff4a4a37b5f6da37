//! `meshtls status`: the build, the module, what may be claimed about it, and every algorithm offered.

use meshtls::fips::{self, Build, Validation};
use meshtls::policy;
use serde_json::{json, Value};

use crate::Report;

/// The JSON and line for one policy row. `effective` = approved and on a module in FIPS mode.
fn item(report: &mut Report, row: &policy::Algorithm, fips_mode: bool) -> Value {
    let approved = row.approval.is_approved();
    let effective = approved && fips_mode;
    let wire = row.wire.map(|w| format!("0x{w:04x}"));
    let built = if row.offered() {
        "offered"
    } else if row.in_build() {
        "not offered"
    } else {
        "not in build"
    };
    let mark = match (approved, effective) {
        (true, true) => "approved",
        (true, false) => "approved alg",
        (false, _) => "NOT approved",
    };
    report.line(format!(
        "  {:<7} {:<46} {:<7} {built:<13} {mark:<13} {}",
        row.kind.to_string(),
        row.name,
        wire.as_deref().unwrap_or("-"),
        row.approval.text()
    ));
    let (basis, reason) = match row.approval {
        policy::Approval::Approved { basis } => (Some(basis), None),
        policy::Approval::NotApproved { reason } => (None, Some(reason)),
    };
    json!({
        "kind": row.kind.to_string(),
        "name": row.name,
        "wire": wire,
        "in_build": row.in_build(),
        "offered": row.offered(),
        "fips_approved_algorithm": approved,
        "approved": effective,
        "basis": basis,
        "reason": reason,
    })
}

pub(crate) fn run() -> Report {
    let status = fips::status();
    let provider = meshtls::provider();
    let mut r = Report::default();

    r.field("build", "build:", status.build.to_string());
    r.field("module", "module:", status.module);
    r.field("version", "runtime version:", status.version_string.clone());
    r.field("module_major", "module major:", json!(status.module_major));
    r.field("fips_mode", "FIPS mode:", status.fips_mode);
    r.field("linkage", "linkage:", status.linkage.to_string());
    // `fips::status()` never judges a binary that links aws-lc-sys beside the FIPS module
    // certified (`Build::FipsWithDefault`).
    let validation = status.validation.clone();
    let (claim, certificate, reason) = match &validation {
        Validation::Certified { certificate } => ("certified", Some(certificate.to_string()), None),
        Validation::Pending { reason } => ("pending", None, Some(reason.to_string())),
        Validation::Unvalidated { reason } => ("unvalidated", None, Some(reason.to_string())),
    };
    r.field("validation", "validation:", validation.to_string());
    let libraries = status.build.crypto_libraries();
    r.field(
        "crypto_libraries",
        "crypto libraries:",
        libraries.join(" + "),
    );
    r.json.insert("crypto_libraries".into(), json!(libraries));
    r.json.insert(
        "validation".into(),
        json!({ "claim": claim, "certificate": certificate, "reason": reason }),
    );
    r.field("entropy", "random:", fips::entropy_source());
    r.field("provider_fips", "provider fips():", provider.fips());

    r.line(
        "algorithms (policy table), in preference order; approved = an approved algorithm on a \
         module in FIPS mode (approved alg = approved, but this module is not in FIPS mode):",
    );
    let fips_mode = status.fips_mode;
    let mut all = Vec::new();
    let mut offered: Vec<(policy::Kind, Value)> = Vec::new();
    for row in policy::table() {
        let v = item(&mut r, row, fips_mode);
        if row.offered() {
            offered.push((row.kind, v.clone()));
        }
        all.push(v);
    }
    let of = |kind: policy::Kind| -> Value {
        offered
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect()
    };
    r.json.insert("suites".into(), of(policy::Kind::Suite));
    r.json.insert("groups".into(), of(policy::Kind::Group));
    r.json.insert(
        "signature_schemes".into(),
        of(policy::Kind::SignatureScheme),
    );
    r.json.insert("versions".into(), of(policy::Kind::Version));
    r.json.insert("keys".into(), of(policy::Kind::Key));
    r.json.insert("algorithms".into(), Value::Array(all));
    let tls12 = policy::version(rustls::ProtocolVersion::TLSv1_2).is_some_and(|v| v.offered());
    if tls12 {
        r.json
            .insert("tls12_requires_ems".into(), json!(provider.fips()));
    }

    judge(&mut r, &status, provider.fips());
    r
}

/// The findings: anything short of a certified module in FIPS mode offering only approved algorithms.
fn judge(r: &mut Report, status: &fips::FipsStatus, provider_fips: bool) {
    if status.build == Build::Default {
        r.finding(
            "not a FIPS build: the default build runs AWS-LC, which is not a validated module; \
             build with `--no-default-features --features fips`",
        );
        return;
    }
    if !status.fips_mode {
        r.finding("the module is not in FIPS mode");
    }
    match &status.validation {
        Validation::Certified { .. } => {}
        // The reason says what to pin (the CMVP table in src/fips/ is the one place for that).
        other => r.finding(format!("not certified: {other}")),
    }
    let unapproved: Vec<&str> = policy::table()
        .iter()
        .filter(|row| row.offered() && !row.approval.is_approved())
        .map(|row| row.name)
        .collect();
    if !unapproved.is_empty() {
        r.finding(format!(
            "the provider offers algorithms that are not approved: {}",
            unapproved.join(", ")
        ));
    } else if !provider_fips {
        r.finding("the provider's configuration does not report fips()");
    }
}

/// `meshtls self-test`: [`fips::self_test`], each known-answer test with its time.
pub(crate) fn self_test() -> Report {
    let mut r = Report::default();
    r.field("build", "build:", fips::Build::current().to_string());
    match fips::self_test() {
        Ok(report) => {
            let kats: Vec<Value> = report
                .kats
                .iter()
                .map(|k| {
                    let micros = u64::try_from(k.duration.as_micros()).unwrap_or(u64::MAX);
                    r.line(format!("  pass  {:<28} {micros:>8} µs", k.name));
                    json!({ "name": k.name, "passed": true, "micros": micros })
                })
                .collect();
            let total = u64::try_from(report.total().as_micros()).unwrap_or(u64::MAX);
            r.field("total_micros", "total (µs):", total);
            r.json.insert("kats".into(), Value::Array(kats));
        }
        Err(e) => {
            r.field("error", "self-test:", format!("FAILED: {e}"));
            r.finding(format!(
                "self-test failed: {e}; do not use this build's TLS stack"
            ));
        }
    }
    r
}
