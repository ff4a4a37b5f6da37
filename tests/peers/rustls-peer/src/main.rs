//! `rustls-peer`: an independent TLS 1.3 peer for meshtls's interoperability tests.
//!
//! meshtls ships its own rustls `CryptoProvider` on aws-lc-rs 1.16/1.17 (the FIPS-pinned range).
//! To check that its post-quantum hybrid key exchange (`SECP256R1MLKEM768`, `X25519MLKEM768`)
//! really interoperates with somebody else's implementation, tests start this program in another
//! process. It uses rustls's *own* aws-lc-rs provider (which needs aws-lc-rs >= 1.18), so it lives
//! in its own cargo workspace with its own Cargo.lock and never shares meshtls's dependency graph.
//!
//! Every configuration offers exactly one key-exchange group (chosen with `--group`), TLS 1.3
//! only, and optionally exactly one cipher suite (`--suite`), so a test can pin down precisely
//! what is negotiated. The protocol spoken over TLS is a trivial line echo: the client sends one
//! line, the server answers `echo:<line>` and closes with close_notify.
//!
//! Output is line-oriented on stdout so a test harness can parse it:
//! `LISTENING <addr>`, `RESULT key=value ...`, `ERROR <message>`. See [`USAGE`].

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::ops::DerefMut;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::crypto::aws_lc_rs::{self as provider, cipher_suite, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::WebPkiClientVerifier;
use rustls::SupportedProtocolVersion;
use rustls::{ClientConfig, ClientConnection, CommonState, ConnectionCommon, RootCertStore};
use rustls::{ServerConfig, ServerConnection, SideData, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Socket read/write (and connect) timeout, so a broken test never hangs.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a finished connection waits for the peer's close_notify / EOF after sending its own.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the server waits for each incoming connection before giving up (a test whose client
/// never connects must not leave the server hanging forever).
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest application-data line accepted (the echo protocol is for short messages).
const MAX_LINE: usize = 64 * 1024;

const USAGE: &str = "\
usage:
  rustls-peer server --group <G> --cert <chain.pem> --key <key.pem> --roots <roots.pem>
                     [--listen 127.0.0.1:0] [--count N] [--require-client-cert] [--suite <S>]
  rustls-peer client --group <G> --connect <ip:port> --sni <dns name> --roots <roots.pem>
                     [--cert <chain.pem> --key <key.pem>] [--message <text>] [--suite <S>]
  rustls-peer version

  <G>: secp256r1mlkem768 | x25519mlkem768 | secp256r1 | x25519 | secp384r1
       (the only key-exchange group offered)
  <S>: aes128 | aes256 | chacha20 (restrict to that one TLS 1.3 cipher suite)

server: prints `LISTENING <ip:port>`, then for each of N connections (default 1) one line
  `RESULT group=.. suite=.. version=.. peer_cert=yes|no` or `ERROR <message>`;
  exits 0 if all N succeeded, 1 otherwise. Waits at most 30 s for each connection
  (then `ERROR accept: ...`, exit 1); socket reads/writes time out after 10 s.
client: prints `RESULT group=.. suite=.. version=.. echo=<line>` and exits 0,
  or `ERROR <message>` and exits 1.
bad arguments: this text on stderr, exit 2.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage_error("missing command");
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "server" => match ServerArgs::parse(rest) {
            Ok(a) => run_server(a),
            Err(e) => usage_error(&e),
        },
        "client" => match ClientArgs::parse(rest) {
            Ok(a) => run_client(a),
            Err(e) => usage_error(&e),
        },
        "version" if rest.is_empty() => {
            println!(
                "rustls-peer {} aws-lc-rs {}",
                env!("PEER_RUSTLS_VERSION"),
                env!("PEER_AWS_LC_RS_VERSION")
            );
            ExitCode::SUCCESS
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        "version" => usage_error("version takes no arguments"),
        other => usage_error(&format!("unknown command: {other}")),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("rustls-peer: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

// ---------------------------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------------------------

/// Flags seen on the command line: `--name value` pairs and value-less switches.
struct Flags(Vec<(String, Option<String>)>);

impl Flags {
    /// Splits `args` into flags. `valued` take one argument, `switches` take none; anything
    /// else, or a repeated flag, is an error.
    fn parse(args: &[String], valued: &[&str], switches: &[&str]) -> Result<Self, String> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument: {arg}"))?;
            if out.iter().any(|(n, _)| n == name) {
                return Err(format!("--{name} given more than once"));
            }
            if valued.contains(&name) {
                let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                out.push((name.to_string(), Some(value.clone())));
            } else if switches.contains(&name) {
                out.push((name.to_string(), None));
            } else {
                return Err(format!("unknown option: {arg}"));
            }
        }
        Ok(Self(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn required(&self, name: &str) -> Result<String, String> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// The TLS parameters common to both roles.
struct TlsChoice {
    group: &'static dyn SupportedKxGroup,
    suite: Option<SupportedCipherSuite>,
}

impl TlsChoice {
    fn parse(flags: &Flags) -> Result<Self, String> {
        let group = parse_group(&flags.required("group")?)?;
        let suite = flags.get("suite").map(parse_suite).transpose()?;
        Ok(Self { group, suite })
    }
}

fn parse_group(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "secp256r1mlkem768" => kx_group::SECP256R1MLKEM768,
        "x25519mlkem768" => kx_group::X25519MLKEM768,
        "secp256r1" => kx_group::SECP256R1,
        "x25519" => kx_group::X25519,
        "secp384r1" => kx_group::SECP384R1,
        _ => return Err(format!("unknown group: {name}")),
    })
}

fn parse_suite(name: &str) -> Result<SupportedCipherSuite, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "aes128" => cipher_suite::TLS13_AES_128_GCM_SHA256,
        "aes256" => cipher_suite::TLS13_AES_256_GCM_SHA384,
        "chacha20" => cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        _ => return Err(format!("unknown suite: {name}")),
    })
}

struct ServerArgs {
    tls: TlsChoice,
    cert: String,
    key: String,
    roots: String,
    listen: SocketAddr,
    count: usize,
    require_client_cert: bool,
}

impl ServerArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let f = Flags::parse(
            args,
            &["group", "suite", "cert", "key", "roots", "listen", "count"],
            &["require-client-cert"],
        )?;
        let listen = f.get("listen").unwrap_or("127.0.0.1:0");
        let count = f.get("count").unwrap_or("1");
        Ok(Self {
            tls: TlsChoice::parse(&f)?,
            cert: f.required("cert")?,
            key: f.required("key")?,
            roots: f.required("roots")?,
            listen: listen
                .parse()
                .map_err(|_| format!("--listen: not an ip:port: {listen}"))?,
            count: match count.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(format!("--count: not a positive integer: {count}")),
            },
            require_client_cert: f.has("require-client-cert"),
        })
    }
}

struct ClientArgs {
    tls: TlsChoice,
    connect: String,
    sni: ServerName<'static>,
    roots: String,
    identity: Option<(String, String)>,
    message: String,
}

impl ClientArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let f = Flags::parse(
            args,
            &[
                "group", "suite", "connect", "sni", "roots", "cert", "key", "message",
            ],
            &[],
        )?;
        let sni = f.required("sni")?;
        let identity = match (f.get("cert"), f.get("key")) {
            (Some(c), Some(k)) => Some((c.to_string(), k.to_string())),
            (None, None) => None,
            _ => return Err("--cert and --key go together".to_string()),
        };
        let message = f.get("message").unwrap_or("hello").to_string();
        if message.contains('\n') {
            return Err("--message must not contain a newline".to_string());
        }
        Ok(Self {
            tls: TlsChoice::parse(&f)?,
            connect: f.required("connect")?,
            sni: ServerName::try_from(sni.clone())
                .map_err(|_| format!("--sni: not a valid server name: {sni}"))?,
            roots: f.required("roots")?,
            identity,
            message,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// rustls's aws-lc-rs provider narrowed to one key-exchange group and the TLS 1.3 suites
/// (or the one requested).
fn provider_for(choice: &TlsChoice) -> Arc<CryptoProvider> {
    let mut p = provider::default_provider();
    p.kx_groups = vec![choice.group];
    p.cipher_suites = match choice.suite {
        Some(s) => vec![s],
        None => p
            .cipher_suites
            .into_iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect(),
    };
    Arc::new(p)
}

const TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading certificates from {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificates in {path}"));
    }
    Ok(certs)
}

fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("reading private key from {path}: {e}"))
}

fn load_roots(path: &str) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("bad trust anchor in {path}: {e}"))?;
    }
    Ok(Arc::new(roots))
}

fn server_config(a: &ServerArgs) -> Result<Arc<ServerConfig>, String> {
    let provider = provider_for(&a.tls);
    let roots = load_roots(&a.roots)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
    // Without --require-client-cert a client may stay anonymous, but a certificate it does send
    // is still verified against --roots.
    let verifier = if a.require_client_cert {
        verifier
    } else {
        verifier.allow_unauthenticated()
    };
    let verifier = verifier
        .build()
        .map_err(|e| format!("client verifier: {e}"))?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(TLS13_ONLY)
        .map_err(|e| format!("server config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(&a.cert)?, load_key(&a.key)?)
        .map_err(|e| format!("server certificate/key: {e}"))?;
    Ok(Arc::new(config))
}

fn client_config(a: &ClientArgs) -> Result<Arc<ClientConfig>, String> {
    let provider = provider_for(&a.tls);
    let roots = load_roots(&a.roots)?;
    // webpki verification of the server's chain and of the --sni name, using the provider's
    // signature algorithms.
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(TLS13_ONLY)
        .map_err(|e| format!("client config: {e}"))?
        .with_root_certificates(roots);
    let config = match &a.identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
            .map_err(|e| format!("client certificate/key: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

/// What was negotiated, formatted as `group=.. suite=.. version=..`.
fn negotiated(conn: &CommonState) -> String {
    let group = conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()));
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    let version = conn.protocol_version().map(|v| format!("{v:?}"));
    let none = || "none".to_string();
    format!(
        "group={} suite={} version={}",
        group.unwrap_or_else(none),
        suite.unwrap_or_else(none),
        version.unwrap_or_else(none)
    )
}

fn set_timeouts(sock: &TcpStream) -> io::Result<()> {
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    sock.set_nodelay(true)
}

/// Drives the handshake to completion (or failure, after sending any alert).
fn handshake<C, S>(conn: &mut C, sock: &mut TcpStream) -> Result<(), String>
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    while conn.is_handshaking() {
        conn.complete_io(sock)
            .map_err(|e| io_error("handshake", e))?;
    }
    Ok(())
}

/// Formats an I/O error; a socket timeout (EAGAIN/ETIMEDOUT) is named as such.
fn io_error(what: &str, e: io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!("{what}: timed out after {}s", IO_TIMEOUT.as_secs())
        }
        _ => format!("{what}: {e}"),
    }
}

/// Reads application data up to and including '\n'; returns the line without the newline.
fn read_line(stream: &mut impl Read) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return Err("connection closed before a full line was received".into()),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if line.len() >= MAX_LINE => return Err("line too long".into()),
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("reading", e)),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| "line is not UTF-8".to_string())
}

/// Sends close_notify, half-closes the socket, then drains the peer's remaining data until its
/// close_notify / EOF (for at most [`DRAIN_TIMEOUT`]) so the close is orderly on both sides and
/// no unread data turns our close into a reset. Errors here no longer matter and are ignored.
fn close<C, S>(conn: &mut C, sock: &mut TcpStream)
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    conn.send_close_notify();
    while conn.wants_write() {
        if conn.write_tls(sock).is_err() {
            return;
        }
    }
    let _ = sock.flush();
    let _ = sock.shutdown(std::net::Shutdown::Write);
    let _ = sock.set_read_timeout(Some(DRAIN_TIMEOUT));
    let mut stream = rustls::Stream::new(conn, sock);
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

fn run_server(a: ServerArgs) -> ExitCode {
    let config = match server_config(&a) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let listener = match TcpListener::bind(a.listen) {
        Ok(l) => l,
        Err(e) => return fail(&format!("bind {}: {e}", a.listen)),
    };
    match listener.local_addr() {
        Ok(addr) => emit(&format!("LISTENING {addr}")),
        Err(e) => return fail(&format!("local_addr: {e}")),
    }

    let mut failures = 0;
    for _ in 0..a.count {
        let sock = match accept(&listener) {
            Ok(s) => s,
            Err(e) => {
                // Nobody is coming: report it and stop rather than wait for the rest.
                emit(&format!("ERROR {e}"));
                return ExitCode::from(1);
            }
        };
        match serve_one(&config, sock) {
            Ok(line) => emit(&format!("RESULT {line}")),
            Err(e) => {
                failures += 1;
                emit(&format!("ERROR {e}"));
            }
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Accepts one connection, waiting at most [`ACCEPT_TIMEOUT`] (std has no accept timeout, so
/// this polls a non-blocking listener).
fn accept(listener: &TcpListener) -> Result<TcpStream, String> {
    let deadline = Instant::now() + ACCEPT_TIMEOUT;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("accept: {e}"))?;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false)
                    .map_err(|e| format!("accept: {e}"))?;
                return Ok(sock);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(format!(
                    "accept: no connection within {}s",
                    ACCEPT_TIMEOUT.as_secs()
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("accept: {e}")),
        }
    }
}

/// One server connection: handshake, echo one line, close. Returns the RESULT fields.
fn serve_one(config: &Arc<ServerConfig>, mut sock: TcpStream) -> Result<String, String> {
    set_timeouts(&sock).map_err(|e| format!("socket options: {e}"))?;
    let mut conn =
        ServerConnection::new(config.clone()).map_err(|e| format!("new connection: {e}"))?;
    handshake(&mut conn, &mut sock)?;
    let info = negotiated(&conn);
    let peer_cert = match conn.peer_certificates() {
        Some(certs) if !certs.is_empty() => "yes",
        _ => "no",
    };

    let line = read_line(&mut rustls::Stream::new(&mut conn, &mut sock))?;
    let mut stream = rustls::Stream::new(&mut conn, &mut sock);
    stream
        .write_all(format!("echo:{line}\n").as_bytes())
        .and_then(|_| stream.flush())
        .map_err(|e| io_error("writing", e))?;
    close(&mut conn, &mut sock);
    Ok(format!("{info} peer_cert={peer_cert}"))
}

fn run_client(a: ClientArgs) -> ExitCode {
    match client_once(&a) {
        Ok(line) => {
            emit(&format!("RESULT {line}"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// Connects, handshakes, sends the message, reads the echo. Returns the RESULT fields.
fn client_once(a: &ClientArgs) -> Result<String, String> {
    let config = client_config(a)?;
    let mut sock = connect(&a.connect)?;
    set_timeouts(&sock).map_err(|e| format!("socket options: {e}"))?;
    let mut conn =
        ClientConnection::new(config, a.sni.clone()).map_err(|e| format!("new connection: {e}"))?;
    handshake(&mut conn, &mut sock)?;

    let mut stream = rustls::Stream::new(&mut conn, &mut sock);
    stream
        .write_all(format!("{}\n", a.message).as_bytes())
        .and_then(|_| stream.flush())
        .map_err(|e| io_error("writing", e))?;
    // In TLS 1.3 a server that rejects our certificate says so only now, so read errors here
    // include such alerts.
    let echo = read_line(&mut stream)?;
    let info = negotiated(&conn);
    close(&mut conn, &mut sock);
    Ok(format!("{info} echo={echo}"))
}

fn connect(target: &str) -> Result<TcpStream, String> {
    let addrs = target
        .to_socket_addrs()
        .map_err(|e| format!("resolving {target}: {e}"))?;
    let mut last = format!("no address for {target}");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("connect {addr}: {e}"),
        }
    }
    Err(last)
}

/// Prints one protocol line to stdout and flushes it (the harness reads line by line).
fn emit(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn fail(msg: &str) -> ExitCode {
    emit(&format!("ERROR {msg}"));
    ExitCode::from(1)
}
