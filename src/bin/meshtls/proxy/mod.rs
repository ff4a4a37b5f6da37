//! `meshtls proxy`: a mesh sidecar on meshtls's public API.
//!
//! `proxy server` terminates mutual TLS and forwards plaintext to a local target; `proxy client`
//! takes plaintext and originates mutual TLS to a mesh peer. The identity comes from PEM files,
//! reloaded when they change ([`files`]). SIGTERM (or SIGINT) stops accepting and drains the
//! connections in flight up to `--drain-timeout`; the process then exits 0. `--status ADDR` serves
//! `/ready`, `/status` and (feature `metrics`) `/metrics` over plain HTTP ([`status`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args as ClapArgs, Subcommand};
use meshtls::authz::{Policy, Rule};

use crate::{Fail, Report};

mod files;
mod forward;
mod idle;
mod logging;
mod status;

/// `meshtls proxy` and its two modes.
#[derive(Debug, ClapArgs)]
pub(crate) struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Accept mutual TLS on --listen and forward plaintext to --target. Without any --allow-*
    /// flag every client with a verified certificate is admitted (clients without one never are);
    /// with them, only clients some flag allows.
    Server(ServerArgs),
    /// Accept plaintext on --listen and originate mutual TLS to --target, which must prove
    /// --server-id.
    Client(ClientArgs),
}

/// What both modes take: the addresses, the identity files, the limits, the status endpoint.
#[derive(Debug, ClapArgs)]
struct Common {
    /// Address to accept connections on (e.g. 127.0.0.1:4140).
    #[arg(long)]
    listen: SocketAddr,
    /// Address to forward each connection to (host:port).
    #[arg(long)]
    target: String,
    /// PEM certificate chain, leaf first (reloaded when it changes).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// PEM private key of the leaf (reloaded when it changes).
    #[arg(long)]
    key: Option<PathBuf>,
    /// PEM trust anchors of the mesh (reloaded when they change).
    #[arg(long)]
    roots: Option<PathBuf>,
    /// The identity from the SPIFFE Workload API at this Unix socket (a SPIRE agent's) instead of
    /// --cert/--key/--roots: the SVID for --id, the trust domain's bundle as the roots.
    #[cfg(feature = "spiffe")]
    #[arg(long, value_name = "PATH")]
    spiffe_socket: Option<PathBuf>,
    /// This workload's identity (DNS-like name or SPIFFE URI); the certificate must carry it.
    #[arg(long)]
    id: String,
    /// Deadline of each TLS handshake (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    handshake_timeout: Duration,
    /// At most this many connections at once; more are closed at once (default: no limit).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Close a connection when no byte has moved either way for this long (e.g. 5m).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// After SIGTERM, how long connections in flight may take to finish.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    drain_timeout: Duration,
    /// Serve /ready, /status and /metrics over plain HTTP on this address.
    #[arg(long)]
    status: Option<SocketAddr>,
    /// The library's events on stderr at this level and above: handshake failures are `warn`,
    /// handshakes that succeeded `debug`.
    #[arg(long, value_enum, default_value = "info")]
    log_level: logging::Level,
    /// /ready answers 503 once the certificate served is this close to its notAfter.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    ready_margin: Duration,
    /// Offer and accept only these key-exchange groups, in this order (names as `meshtls status`
    /// prints them, e.g. secp256r1,secp384r1; default: the build's whole list).
    #[arg(long, value_delimiter = ',', value_name = "GROUP,...")]
    groups: Option<Vec<String>>,
    /// Offer and accept only these TLS 1.3 suites, in this order (e.g. TLS_AES_128_GCM_SHA256;
    /// default: the build's whole list).
    #[arg(long, value_delimiter = ',', value_name = "SUITE,...")]
    suites: Option<Vec<String>>,
}

#[derive(Debug, ClapArgs)]
struct ServerArgs {
    #[command(flatten)]
    common: Common,
    /// The SNI this server answers to (default: --id, when it is a DNS-like identity).
    #[arg(long)]
    name: Option<String>,
    /// Admit this client identity (repeatable).
    #[arg(long = "allow-id", value_name = "ID")]
    allow_id: Vec<String>,
    /// Admit every SPIFFE ID of this trust domain (repeatable).
    #[arg(long = "allow-trust-domain", value_name = "TD")]
    allow_trust_domain: Vec<String>,
    /// Admit SPIFFE IDs under this one, segment by segment (repeatable).
    #[arg(long = "allow-prefix", value_name = "SPIFFE_PREFIX")]
    allow_prefix: Vec<String>,
    /// Admit DNS identities under this name, label by label (repeatable).
    #[arg(long = "allow-dns-suffix", value_name = "S")]
    allow_dns_suffix: Vec<String>,
}

#[derive(Debug, ClapArgs)]
struct ClientArgs {
    #[command(flatten)]
    common: Common,
    /// The identity the target must prove.
    #[arg(long)]
    server_id: String,
    /// The SNI sent to the target.
    #[arg(long)]
    server_name: String,
}

/// Counts and state the connections, the file watcher and the status endpoint share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Connections accepted on --listen.
    pub(super) accepted: AtomicU64,
    /// Connections being forwarded now.
    pub(super) active: AtomicU64,
    /// Connections that failed: handshake, policy, target unreachable, connection limit.
    pub(super) failed: AtomicU64,
    /// Identity reloads taken.
    pub(super) reloads_ok: AtomicU64,
    /// Identity reloads refused (the old credentials stayed).
    pub(super) reloads_refused: AtomicU64,
    /// Set once SIGTERM came: /ready answers 503.
    pub(super) draining: std::sync::atomic::AtomicBool,
    /// Established connections by the peer identity proved (server: the client's; client: the
    /// target's).
    pub(super) peers: Mutex<BTreeMap<String, u64>>,
}

/// One log line on stderr.
pub(super) fn log(line: &str) {
    eprintln!("meshtls proxy: {line}");
}

/// A duration as `500ms`, `10s`, `5m` or `1h` (a bare number is seconds).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 10s, 5m, 1h)"))?;
    let per = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use ms, s, m or h")),
    };
    n.checked_mul(per)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn usage(what: String, todo: &str) -> Fail {
    Fail::new(what, todo)
}

/// The server's policy from the --allow-* flags: any verified client without them.
fn policy(args: &ServerArgs) -> Result<Policy, Fail> {
    let bad = |flag: &str, v: &str, e: &dyn std::fmt::Display| {
        usage(
            format!("--{flag} {v}: {e}"),
            "see `meshtls proxy server --help`",
        )
    };
    let mut rules = Vec::new();
    for v in &args.allow_id {
        rules.push(Rule::Id(v.parse().map_err(|e| bad("allow-id", v, &e))?));
    }
    for v in &args.allow_trust_domain {
        let td = v.parse().map_err(|e| bad("allow-trust-domain", v, &e))?;
        rules.push(Rule::TrustDomain(td));
    }
    for v in &args.allow_prefix {
        let p = v.parse().map_err(|e| bad("allow-prefix", v, &e))?;
        rules.push(Rule::SpiffePrefix(p));
    }
    for v in &args.allow_dns_suffix {
        let s = v.parse().map_err(|e| bad("allow-dns-suffix", v, &e))?;
        rules.push(Rule::DnsSuffix(s));
    }
    if rules.is_empty() {
        rules.push(Rule::AnyIdentity);
    }
    Ok(Policy::allow(rules))
}

/// Runs the proxy until SIGTERM and the drain; the report says what it did.
pub(crate) fn run(args: Args) -> Result<Report, Fail> {
    let level = match &args.mode {
        Mode::Server(s) => s.common.log_level,
        Mode::Client(c) => c.common.log_level,
    };
    logging::init(level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail::new(format!("tokio runtime: {e}"), "check the process limits"))?;
    runtime.block_on(forward::run(args))
}
