//! `meshtls`: what a compliance reviewer runs to see what a meshtls build does.
//!
//! Exit codes: 0 = compliant / ok, 1 = a finding (reported), 2 = a usage or I/O error (with what to
//! do about it). `--json` prints one JSON object on stdout instead of the human report.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

mod cert;
mod demo;
mod probe;
mod proxy;
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
    /// A mesh sidecar: terminate mutual TLS to a local target (`server`), or originate it from
    /// local plaintext (`client`), with the identity from PEM files reloaded when they change.
    Proxy(Box<proxy::Args>),
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
        Command::Proxy(args) => proxy::run(*args),
    };
    match result {
        Ok(report) => finish(report, cli.json),
        Err(fail) => {
            if cli.json {
                let out = json!({ "ok": false, "error": fail.what, "todo": fail.todo });
                let _ = emit(&format!("{out:#}\n"));
            }
            let _ = writeln!(
                std::io::stderr(),
                "error: {}\n  what to do: {}",
                fail.what,
                fail.todo
            );
            ExitCode::from(2)
        }
    }
}

fn finish(report: Report, as_json: bool) -> ExitCode {
    let ok = report.findings.is_empty();
    let mut text = String::new();
    if as_json {
        let mut obj = report.json;
        obj.insert("findings".into(), json!(report.findings));
        obj.insert("ok".into(), json!(ok));
        text = format!("{:#}\n", Value::Object(obj));
    } else {
        for line in &report.lines {
            text.push_str(line);
            text.push('\n');
        }
        if ok {
            text.push_str("\nresult: ok (no findings)\n");
        } else {
            text.push_str(&format!("\nresult: {} finding(s)\n", report.findings.len()));
            for f in &report.findings {
                text.push_str(&format!("  FINDING: {f}\n"));
            }
        }
    }
    if let Err(code) = emit(&text) {
        return code;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Writes `text` to stdout. A reader that went away (`meshtls status | head -1`) is a normal end:
/// nothing more to say, and the exit code stays the verdict's. Any other write error is exit 2.
fn emit(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// The most the CLI reads from any one input file: a certificate chain, key or root bundle is a
/// few kilobytes; anything this large is the wrong file.
const MAX_INPUT: u64 = 16 << 20;

/// Reads a regular file of at most [`MAX_INPUT`] bytes, or says which and why not.
///
/// The file type is checked before opening, so a FIFO or a device (`/dev/zero`) is refused without
/// blocking or reading; the read itself is bounded too, in case the file grows or is swapped.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, Fail> {
    let todo = || format!("pass a regular file (at most 16 MiB) as the {what}");
    let meta = std::fs::metadata(path).map_err(|e| {
        Fail::new(
            format!("cannot read {what} {}: {e}", path.display()),
            format!("check the path and permissions of the {what} file"),
        )
    })?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(Fail::new(
            format!("{what} {} is {kind}", path.display()),
            todo(),
        ));
    }
    let too_big = || {
        Fail::new(
            format!(
                "{what} {} is larger than 16 MiB: not a certificate, key or root bundle",
                path.display()
            ),
            todo(),
        )
    };
    if meta.len() > MAX_INPUT {
        return Err(too_big());
    }
    let io_fail = |e: std::io::Error| {
        Fail::new(
            format!("cannot read {what} {}: {e}", path.display()),
            format!("check the path and permissions of the {what} file"),
        )
    };
    let file = std::fs::File::open(path).map_err(io_fail)?;
    let mut data = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut data)
        .map_err(io_fail)?;
    if data.len() as u64 > MAX_INPUT {
        return Err(too_big());
    }
    Ok(data)
}

/// A certificate time as an RFC 3339 date (UTC), e.g. `2125-01-01T00:00:00Z`.
fn rfc3339(t: &x509_parser::time::ASN1Time) -> String {
    let t = t.to_datetime();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
