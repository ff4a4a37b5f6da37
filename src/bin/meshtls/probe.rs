//! `meshtls probe`: one TLS handshake with this build's provider, and what it agreed.
//!
//! Blocking I/O with timeouts: connect, handshake, report. A server that offers nothing this build
//! accepts fails the handshake; that is a finding, reported with rustls's error.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use meshtls::creds::{self, TrustRoots};
use meshtls::{identity, DerX509, Id};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use serde_json::json;

use crate::{iso8601, now_secs, read, Fail, Report};

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
/// always verified with the provider's algorithms.
#[derive(Debug)]
struct Verifier {
    roots: Option<TrustRoots>,
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
        let algs = meshtls::provider().signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
    config.alpn_protocols = args.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
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
    let verifier = Arc::new(Verifier { roots });
    let config = config(args, verifier)?;

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
    let mut tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
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
    while conn.is_handshaking() {
        match conn.complete_io(&mut tcp) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Fail::new(
                    format!("no answer from {addr} within {}s", timeout.as_secs()),
                    "check that it is a TLS server, or raise --timeout",
                ))
            }
            Err(e) => {
                let tls = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
                if let Some(tls) = tls {
                    r.field("handshake", "handshake:", format!("FAILED: {tls}"));
                    r.finding(format!(
                        "handshake failed: {tls} (the server offers nothing this build accepts, \
                         or refused us)"
                    ));
                    return Ok(r);
                }
                return Err(io_fail(e));
            }
        }
    }
    // A close_notify, so the server sees a clean end; the report does not depend on it.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);

    report(&mut r, &conn, id.as_ref(), verify_chain);
    Ok(r)
}

fn report(r: &mut Report, conn: &ClientConnection, id: Option<&Id>, verified: bool) {
    r.field("handshake", "handshake:", "ok");
    let version = conn.protocol_version().map(|v| format!("{v:?}"));
    r.field("version", "version:", version.unwrap_or_default());
    let suite = conn.negotiated_cipher_suite();
    let group = conn.negotiated_key_exchange_group();
    let suite_ok = suite.is_some_and(|s| s.fips());
    let group_ok = group.is_some_and(|g| g.fips());
    r.field(
        "suite",
        "suite:",
        suite
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
    );
    r.field("suite_approved", "suite approved:", suite_ok);
    r.field(
        "group",
        "group:",
        group.map(|g| format!("{:?}", g.name())).unwrap_or_default(),
    );
    r.field("group_approved", "group approved:", group_ok);
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    r.field("alpn", "ALPN:", alpn.map_or(json!(null), |a| json!(a)));
    r.field("chain_verified", "chain verified:", verified);
    if !suite_ok {
        r.finding("negotiated cipher suite is not FIPS-approved");
    }
    if !group_ok {
        r.finding("negotiated key-exchange group is not FIPS-approved");
    }

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
        r.field("peer_not_after", "peer expires:", iso8601(not_after));
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
