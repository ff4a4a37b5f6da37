//! `meshtls`: what a compliance reviewer runs to see what a meshtls build does.
//!
//! Exit codes: 0 = compliant / ok, 1 = a finding (reported), 2 = a usage or I/O error (with what to
//! do about it). `--json` prints one JSON object on stdout instead of the human report.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

mod cert;
mod demo;
mod probe;
mod status;

/// meshtls: mutual TLS for service meshes on AWS-LC (or the AWS-LC-FIPS 3.x module); audit tool.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Print one JSON object instead of the human-readable report.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The build, the crypto module and its validation, and every algorithm offered.
    Status,
    /// Run the TLS-level known-answer self-test through the provider, each KAT with its time.
    SelfTest,
    /// Judge a certificate chain (and optionally its key, trust roots and identity).
    CheckCert {
        /// PEM certificate chain, leaf first.
        chain: PathBuf,
        /// PEM private key that must match the leaf.
        #[arg(long)]
        key: Option<PathBuf>,
        /// PEM trust anchors the chain must verify to.
        #[arg(long)]
        roots: Option<PathBuf>,
        /// Identity (DNS-like name or SPIFFE URI) the leaf must carry.
        #[arg(long)]
        id: Option<String>,
    },
    /// Connect to a TLS server with this build's provider and report what was negotiated.
    Probe(probe::Args),
    /// Two workloads from certs/ do mutual TLS on loopback and exchange a message.
    Demo {
        /// Directory with the test PKI (certs/ in the source tree).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/certs"))]
        certs: PathBuf,
    },
}

/// A usage or I/O error: exit code 2.
#[derive(Debug)]
struct Fail {
    what: String,
    todo: String,
}

impl Fail {
    fn new(what: impl Into<String>, todo: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            todo: todo.into(),
        }
    }
}

/// A subcommand's result: the lines a person reads, the object a machine reads, and the findings.
#[derive(Debug, Default)]
struct Report {
    lines: Vec<String>,
    json: serde_json::Map<String, Value>,
    findings: Vec<String>,
}

impl Report {
    /// A `key: value` line, also put in the JSON object.
    fn field(&mut self, key: &str, label: &str, value: impl Into<Value>) {
        let value = value.into();
        let shown = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.lines.push(format!("{label:<22} {shown}"));
        self.json.insert(key.to_string(), value);
    }

    fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn finding(&mut self, finding: impl Into<String>) {
        self.findings.push(finding.into());
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Status => Ok(status::run()),
        Command::SelfTest => Ok(status::self_test()),
        Command::CheckCert {
            chain,
            key,
            roots,
            id,
        } => cert::run(&chain, key.as_deref(), roots.as_deref(), id.as_deref()),
        Command::Probe(args) => probe::run(&args),
        Command::Demo { certs } => demo::run(&certs),
    };
    match result {
        Ok(report) => finish(report, cli.json),
        Err(fail) => {
            if cli.json {
                let out = json!({ "ok": false, "error": fail.what, "todo": fail.todo });
                println!("{out:#}");
            }
            eprintln!("error: {}\n  what to do: {}", fail.what, fail.todo);
            ExitCode::from(2)
        }
    }
}

fn finish(report: Report, as_json: bool) -> ExitCode {
    let ok = report.findings.is_empty();
    if as_json {
        let mut obj = report.json;
        obj.insert("findings".into(), json!(report.findings));
        obj.insert("ok".into(), json!(ok));
        println!("{:#}", Value::Object(obj));
    } else {
        for line in &report.lines {
            println!("{line}");
        }
        if ok {
            println!("\nresult: ok (no findings)");
        } else {
            println!("\nresult: {} finding(s)", report.findings.len());
            for f in &report.findings {
                println!("  FINDING: {f}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Reads a file, or says which and why not.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| {
        Fail::new(
            format!("cannot read {what} {}: {e}", path.display()),
            format!("check the path and permissions of the {what} file"),
        )
    })
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso8601() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::iso8601(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(super::iso8601(4_891_363_200), "2125-01-01T00:00:00Z");
        assert_eq!(super::iso8601(-86_400), "1969-12-31T00:00:00Z");
    }
}
