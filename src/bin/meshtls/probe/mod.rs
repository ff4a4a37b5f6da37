//! `meshtls probe`: one TLS handshake with this build's provider, and what it agreed.
//!
//! Blocking I/O with timeouts: connect, handshake, report. A server that offers nothing this build
//! accepts fails the handshake; that is a finding, reported with rustls's error.
//!
//! Files: this one (arguments, configuration, the handshake), `verifier` (the server-certificate
//! check that also records the signature scheme), `wire` (telling "not TLS" from "no algorithm in
//! common"), `report` (what was negotiated and the server's certificates, judged by the policy).

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use meshtls::creds::{self, TrustRoots};
use meshtls::Id;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection};

use crate::{read, Fail, Report};

mod report;
mod verifier;
mod wire;

use report::report;
use verifier::Verifier;
use wire::{no_common_algorithm, not_tls, Recorder};

/// `meshtls probe` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// host:port of the TLS server.
    addr: String,
    /// SNI to send (default: the host, if it is a DNS name).
    #[arg(long)]
    sni: Option<String>,
    /// PEM trust anchors to verify the server's chain against (without: reported, not verified).
    #[arg(long)]
    roots: Option<PathBuf>,
    /// Identity (DNS-like name or SPIFFE URI) the server's certificate must carry.
    #[arg(long)]
    id: Option<String>,
    /// PEM client certificate chain, for servers that require one.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// ALPN protocol to offer (repeatable).
    #[arg(long)]
    alpn: Vec<String>,
    /// Seconds to wait for the connection and the handshake.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}
fn config(args: &Args, verifier: Arc<Verifier>) -> Result<ClientConfig, Fail> {
    let builder = ClientConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| Fail::new(format!("TLS configuration: {e}"), "report this as a bug"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let (leaf, chain) = creds::chain_from_pem(&read(cert, "client certificate")?)
                .map_err(|e| Fail::new(format!("{}: {e}", cert.display()), "pass a PEM chain"))?;
            let key_der = creds::key_from_pem(&read(key, "client key")?)
                .map_err(|e| Fail::new(format!("{}: {e}", key.display()), "pass a PEM key"))?;
            let bad_key = |e: &dyn std::fmt::Display| {
                Fail::new(
                    format!("--cert/--key: {e}"),
                    "pass the key that belongs to --cert",
                )
            };
            creds::check_key(&leaf, &key_der).map_err(|e| bad_key(&e))?;
            let certs = std::iter::once(leaf)
                .chain(chain)
                .map(|c| CertificateDer::from(c.0))
                .collect();
            let key = PrivateKeyDer::try_from(key_der).map_err(|e| bad_key(&e))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| bad_key(&e))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn(&args.alpn)?;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// The `--alpn` values as ALPN protocol names: each must be 1 to 255 bytes (RFC 7301 §3.1), or
/// the ClientHello would be malformed (empty) or carry a truncated length (over 255).
fn alpn(values: &[String]) -> Result<Vec<Vec<u8>>, Fail> {
    values
        .iter()
        .map(|p| {
            if (1..=255).contains(&p.len()) {
                Ok(p.as_bytes().to_vec())
            } else {
                Err(Fail::new(
                    format!(
                        "--alpn: a protocol name must be 1 to 255 bytes, this one is {} bytes",
                        p.len()
                    ),
                    "pass each ALPN protocol name (e.g. h2, http/1.1) with its own --alpn",
                ))
            }
        })
        .collect()
}

pub(crate) fn run(args: &Args) -> Result<Report, Fail> {
    let id: Option<Id> = match &args.id {
        None => None,
        Some(s) => Some(s.parse().map_err(|e| {
            Fail::new(
                format!("--id: {e}"),
                "pass a DNS-like name or a spiffe:// URI",
            )
        })?),
    };
    let roots = match &args.roots {
        None => None,
        Some(p) => Some(TrustRoots::from_pem(&read(p, "trust roots")?).map_err(|e| {
            Fail::new(
                format!("{}: {e}", p.display()),
                "pass a PEM trust-anchor bundle",
            )
        })?),
    };
    let verify_chain = roots.is_some();
    let verifier = Arc::new(Verifier::new(roots));
    let config = config(args, verifier.clone())?;

    let host = args.addr.rsplit_once(':').map_or("", |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let sni = args.sni.as_deref().unwrap_or(host);
    let server_name = ServerName::try_from(sni.to_string()).map_err(|e| {
        Fail::new(
            format!("SNI {sni:?}: {e}"),
            "pass --sni with the server's DNS name",
        )
    })?;

    let timeout = Duration::from_secs(args.timeout.max(1));
    let addr = args
        .addr
        .to_socket_addrs()
        .map_err(|e| Fail::new(format!("{}: {e}", args.addr), "pass host:port"))?
        .next()
        .ok_or_else(|| Fail::new(format!("{}: no address", args.addr), "pass host:port"))?;
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        Fail::new(
            format!("cannot connect to {addr}: {e}"),
            "check the address and that the server is listening",
        )
    })?;
    let io_fail = |e: io::Error| {
        Fail::new(
            format!("connection to {addr}: {e}"),
            "check the address and that the server is listening",
        )
    };
    tcp.set_read_timeout(Some(timeout)).map_err(io_fail)?;
    tcp.set_write_timeout(Some(timeout)).map_err(io_fail)?;

    let mut conn = ClientConnection::new(Arc::new(config), server_name)
        .map_err(|e| Fail::new(format!("TLS: {e}"), "report this as a bug"))?;
    let mut r = Report::default();
    r.field("server", "server:", addr.to_string());
    r.field("sni", "SNI sent:", sni);
    let mut io = Recorder::new(tcp);
    while conn.is_handshaking() {
        let Err(e) = conn.complete_io(&mut io) else {
            continue;
        };
        // Whatever rustls made of them, bytes that cannot start a TLS record mean the peer does
        // not speak TLS: a usage error (wrong port?), not a finding about its algorithms.
        if let Some(what) = not_tls(io.first()) {
            return Err(Fail::new(
                format!("{addr} is not a TLS server: {what}"),
                "check the address and port: point the probe at the TLS listener",
            ));
        }
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return Err(Fail::new(
                format!("no answer from {addr} within {}s", timeout.as_secs()),
                "check that it is a TLS server, or raise --timeout",
            ));
        }
        let Some(tls) = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) else {
            return Err(io_fail(e));
        };
        let text = match tls {
            rustls::Error::InvalidCertificate(_) => {
                format!(
                    "the server's certificate is refused: {}",
                    meshtls::Error::describe(tls)
                )
            }
            other => meshtls::Error::describe(other),
        };
        r.field("handshake", "handshake:", format!("FAILED: {text}"));
        if no_common_algorithm(tls) {
            r.field("failure", "failure:", "no_common_algorithm");
            r.finding(format!(
                "no algorithm in common with the server: {text} (it offers no version, suite, \
                 group or signature scheme this build accepts)"
            ));
        } else {
            r.field("failure", "failure:", "handshake");
            r.finding(format!("handshake failed: {text}"));
        }
        return Ok(r);
    }
    // A close_notify, so the server sees a clean end; the report does not depend on it.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut io);

    report(&mut r, &conn, id.as_ref(), verify_chain, verifier.scheme());
    Ok(r)
}
