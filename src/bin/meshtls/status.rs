//! `meshtls status`: the build, the module, what may be claimed about it, and every algorithm offered.

use meshtls::fips::{self, Build, Validation};
use rustls::SupportedCipherSuite;
use serde_json::{json, Value};

use crate::Report;

/// Why an algorithm is not approved, or the standard that approves it.
fn suite_note(suite: &SupportedCipherSuite) -> &'static str {
    let name = format!("{:?}", suite.suite());
    if name.contains("CHACHA20") {
        "not approved: ChaCha20-Poly1305 is not a FIPS 140-3 approved AEAD"
    } else if name.starts_with("TLS13") {
        "AES-GCM (SP 800-38D), TLS 1.3 nonce built in the module; HKDF (SP 800-56C / SP 800-135)"
    } else {
        "AES-GCM (SP 800-38D), TLS 1.2 counter nonce built in the module; TLS 1.2 KDF with EMS (SP 800-135, RFC 7627)"
    }
}

fn group_note(name: &str) -> &'static str {
    match name {
        "secp256r1" | "secp384r1" => "ECDH (SP 800-56A Rev. 3)",
        "secp256r1MLKEM768" => "hybrid: ECDH P-256 first (SP 800-56C), then ML-KEM-768 (FIPS 203)",
        "X25519" => "not approved: X25519 is not an SP 800-56A Rev. 3 curve",
        "X25519MLKEM768" => {
            "not approved: hybrid with X25519, which NIST does not approve (absent from the FIPS build)"
        }
        _ => "unknown",
    }
}

/// The JSON and line for one offered algorithm.
fn item(report: &mut Report, kind: &str, name: &str, approved: bool, note: &str) -> Value {
    let mark = if approved { "approved" } else { "NOT approved" };
    report.line(format!("  {kind:<6} {name:<44} {mark:<13} {note}"));
    json!({ "name": name, "approved": approved, "note": note })
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
    // A binary with aws-lc-sys linked beside the FIPS module is not the validated configuration,
    // whatever the module says about itself: never reported as certified.
    let validation = if TWO_LIBRARIES {
        Validation::Unvalidated {
            reason: TWO_LIBRARIES_REASON.to_string(),
        }
    } else {
        status.validation.clone()
    };
    let (claim, certificate, reason) = match &validation {
        Validation::Certified { certificate } => ("certified", Some(certificate.to_string()), None),
        Validation::Pending { reason } => ("pending", None, Some(reason.to_string())),
        Validation::Unvalidated { reason } => ("unvalidated", None, Some(reason.to_string())),
    };
    r.field("validation", "validation:", validation.to_string());
    let libraries = crypto_libraries();
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
        "offered, in preference order (approved = an approved algorithm on a module in FIPS mode):",
    );
    let suites: Vec<Value> = provider
        .cipher_suites
        .iter()
        .map(|s| {
            item(
                &mut r,
                "suite",
                &format!("{:?}", s.suite()),
                s.fips(),
                suite_note(s),
            )
        })
        .collect();
    let groups: Vec<Value> = provider
        .kx_groups
        .iter()
        .map(|g| {
            let name = format!("{:?}", g.name());
            item(&mut r, "group", &name, g.fips(), group_note(&name))
        })
        .collect();
    let sigs: Vec<Value> = provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .map(|(scheme, algs)| {
            let approved = algs.iter().all(|a| a.fips());
            item(
                &mut r,
                "sig",
                &format!("{scheme:?}"),
                approved,
                "FIPS 186-5",
            )
        })
        .collect();
    let fips_mode = status.fips_mode;
    let mut versions = vec![item(&mut r, "tls", "TLSv1_3", fips_mode, "RFC 8446")];
    if provider
        .cipher_suites
        .iter()
        .any(|s| s.version().version == rustls::ProtocolVersion::TLSv1_2)
    {
        let ems = provider.fips();
        versions.push(item(
            &mut r,
            "tls",
            "TLSv1_2",
            fips_mode,
            "RFC 5246 with Extended Master Secret required in FIPS mode (RFC 7627)",
        ));
        r.json.insert("tls12_requires_ems".into(), json!(ems));
    }
    r.json.insert("suites".into(), Value::Array(suites));
    r.json.insert("groups".into(), Value::Array(groups));
    r.json
        .insert("signature_schemes".into(), Value::Array(sigs));
    r.json.insert("versions".into(), Value::Array(versions));

    judge(&mut r, &status, provider.fips());
    r
}

/// `--features fips` on top of the default features: aws-lc-sys is linked beside aws-lc-fips-sys.
const TWO_LIBRARIES: bool = cfg!(all(feature = "fips", feature = "non-fips"));

const TWO_LIBRARIES_REASON: &str =
    "this binary links two crypto libraries (aws-lc-fips-sys and aws-lc-sys: `--features fips` on \
     top of the default features), which is not the validated configuration; build a regulated \
     binary with `--no-default-features --features fips`";

/// The crypto libraries linked into this binary, by cargo feature.
fn crypto_libraries() -> Vec<&'static str> {
    let mut libs = Vec::new();
    if cfg!(feature = "fips") {
        libs.push("aws-lc-fips-sys");
    }
    if cfg!(feature = "non-fips") {
        libs.push("aws-lc-sys");
    }
    libs
}

/// The findings: anything short of a certified module in FIPS mode offering only approved algorithms.
fn judge(r: &mut Report, status: &fips::FipsStatus, provider_fips: bool) {
    if TWO_LIBRARIES {
        r.finding(TWO_LIBRARIES_REASON);
    }
    if status.build != Build::Fips {
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
        other => r.finding(format!(
            "module version not covered by a certificate: {other}"
        )),
    }
    if !provider_fips {
        r.finding("the provider offers an algorithm that is not approved");
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
