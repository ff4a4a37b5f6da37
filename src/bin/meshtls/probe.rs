//! `meshtls probe`: one TLS handshake with this build's provider, and what it agreed.
//!
//! Blocking I/O with timeouts: connect, handshake, report. A server that offers nothing this build
//! accepts fails the handshake; that is a finding, reported with rustls's error.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meshtls::creds::{self, TrustRoots};
use meshtls::{identity, leaf, policy, DerX509, Id};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use serde_json::json;

use crate::{now_secs, read, rfc3339, Fail, Report};

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

/// Checks the chain if roots were given, else accepts it for the report; handshake signatures are
/// always verified with the provider's algorithms, and the scheme the server signed with is kept
/// for the report.
#[derive(Debug)]
struct Verifier {
    roots: Option<TrustRoots>,
    scheme: Mutex<Option<SignatureScheme>>,
}

impl Verifier {
    fn record(&self, scheme: SignatureScheme) {
        if let Ok(mut seen) = self.scheme.lock() {
            *seen = Some(scheme);
        }
    }

    fn scheme(&self) -> Option<SignatureScheme> {
        self.scheme.lock().ok().and_then(|s| *s)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let leaf = DerX509(end_entity.to_vec());
        let chain: Vec<DerX509> = intermediates.iter().map(|c| DerX509(c.to_vec())).collect();
        match roots.verify_server(&leaf, &chain) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(meshtls::Error::Untrusted { source, .. }) => Err(source),
            Err(e) => Err(rustls::Error::General(e.to_string())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(dss.scheme);
        let algs = meshtls::provider().signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(dss.scheme);
        let algs = meshtls::provider().signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        meshtls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
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
    let verifier = Arc::new(Verifier {
        roots,
        scheme: Mutex::new(None),
    });
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
    let mut io = Recorder {
        tcp,
        first: Vec::new(),
    };
    while conn.is_handshaking() {
        let Err(e) = conn.complete_io(&mut io) else {
            continue;
        };
        // Whatever rustls made of them, bytes that cannot start a TLS record mean the peer does
        // not speak TLS: a usage error (wrong port?), not a finding about its algorithms.
        if let Some(what) = not_tls(&io.first) {
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

/// The server's certificates, each key and signature algorithm judged by the policy table, and each
/// link (certificate, next certificate) by whether this build can verify that signature.
fn peer_certificates(r: &mut Report, certs: &[CertificateDer<'_>]) {
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
        for problem in leaf::check(leaf, chain) {
            r.finding(format!("peer {problem}"));
        }
    }
}

/// The TCP stream, keeping the first bytes the server sent (to tell "not TLS" apart).
struct Recorder {
    tcp: TcpStream,
    first: Vec<u8>,
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        let keep = 16usize.saturating_sub(self.first.len()).min(n);
        self.first.extend_from_slice(&buf[..keep]);
        Ok(n)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Why `first` (the first bytes a peer sent) cannot be TLS, or `None` if they can (or none came).
/// A TLS record starts with a content type 20..=24 and a protocol version 3.x (RFC 8446 §5.1).
fn not_tls(first: &[u8]) -> Option<String> {
    let tls = match first {
        [] => return None,
        [kind] => (20..=24).contains(kind),
        [kind, major, ..] => (20..=24).contains(kind) && *major == 3,
    };
    if tls {
        return None;
    }
    if first.starts_with(b"HTTP/") {
        let line: String = first
            .iter()
            .take_while(|b| **b != b'\r' && **b != b'\n')
            .map(|b| char::from(*b))
            .collect();
        return Some(format!("it answered in plain HTTP ({line:?}...)"));
    }
    let hex: Vec<String> = first.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "its first bytes ({}) are not a TLS record",
        hex.join(" ")
    ))
}

/// A handshake that failed because the two sides share no version, suite, group or signature
/// scheme: the server's alert says so, or rustls found nothing acceptable in what it chose.
fn no_common_algorithm(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    match e {
        rustls::Error::AlertReceived(a) => matches!(
            a,
            A::HandshakeFailure | A::InsufficientSecurity | A::ProtocolVersion
        ),
        rustls::Error::PeerIncompatible(_) => true,
        _ => false,
    }
}

fn report(
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
