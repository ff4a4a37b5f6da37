//! Helpers for tests against real peers in other processes (OpenSSL, Go, ...): a child-process guard
//! that always kills the peer, bounded waits for its port / connection / exit, one TLS exchange over
//! TCP on our side reporting what was negotiated, and identity checks on a certificate.
//!
//! Everything is on 127.0.0.1 and every wait is bounded by [`TIMEOUT`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{
    CipherSuite, ClientConfig, ClientConnection, CommonState, NamedGroup, ProtocolVersion,
    ServerConfig, ServerConnection, StreamOwned,
};

/// Upper bound for every wait on a peer: start-up, connect/accept, socket reads, exit.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Interval between checks while polling for a port, a connection or an exit.
const POLL: Duration = Duration::from_millis(20);

/// Runs `program args` (e.g. `openssl version`), prints and returns its output. Panics with what
/// to install if the program is missing, so a missing peer fails the test rather than skipping it.
pub fn peer_version(program: &str, args: &[&str], install: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}` ({e}): install it ({install})"));
    assert!(out.status.success(), "`{program} {args:?}` failed: {out:?}");
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    println!("peer: {version}");
    version
}

/// Builds a peer program with `build` (which must succeed) and returns what `bin version` says.
pub fn build_peer(build: &mut Command, bin: &std::path::Path) -> String {
    let status = build.status().unwrap_or_else(|e| panic!("{build:?}: {e}"));
    assert!(status.success(), "building the peer failed: {build:?}");
    let out = Command::new(bin)
        .arg("version")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert!(out.status.success(), "{} version: {out:?}", bin.display());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A port on 127.0.0.1 that was free a moment ago (for peers that cannot report theirs).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// What a peer process left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A peer process with stdin, stdout and stderr piped. Killed (and reaped) when dropped, so a
/// failing test never leaves it running.
pub struct Peer {
    name: String,
    child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Peer {
    /// Starts `cmd`; `install` says what to install if the program is missing.
    pub fn spawn(name: &str, cmd: &mut Command, install: &str) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({e}): install it ({install})"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Peer {
            name: name.to_string(),
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// The peer's stdin (until [`Peer::close_stdin`]).
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().expect("stdin already closed")
    }

    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits for a stdout line starting with `prefix` and returns the rest of it.
    pub fn line_after(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: no `{prefix}` line within {TIMEOUT:?}", self.name)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait();
                    let stderr = self.take_stderr();
                    panic!(
                        "{} exited ({status}) without a `{prefix}` line; stdout: {:?}; stderr: {stderr}",
                        self.name, self.stdout
                    )
                }
            }
        }
    }

    /// Connects to `addr` as soon as the peer listens there (it may not print that it does: OpenSSL's
    /// s_server block-buffers stdout into a pipe). Panics if the peer exits first or on timeout.
    pub fn connect(&mut self, addr: SocketAddr) -> TcpStream {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match TcpStream::connect_timeout(&addr, TIMEOUT) {
                Ok(tcp) => return with_timeouts(tcp),
                Err(e) => {
                    self.poll_alive(deadline, &format!("listening on {addr} ({e})"));
                }
            }
        }
    }

    /// Accepts the peer's connection on `listener`. Panics if the peer exits first or on timeout.
    pub fn accept(&mut self, listener: &TcpListener) -> TcpStream {
        let deadline = Instant::now() + TIMEOUT;
        listener.set_nonblocking(true).unwrap();
        loop {
            match listener.accept() {
                Ok((tcp, _)) => {
                    tcp.set_nonblocking(false).unwrap();
                    return with_timeouts(tcp);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.poll_alive(deadline, "connecting");
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    /// One polling step while waiting for the peer to do `what`: panics if it has exited or the
    /// deadline has passed, otherwise pauses for [`POLL`].
    fn poll_alive(&mut self, deadline: Instant, what: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            let stderr = self.take_stderr();
            panic!(
                "{} exited ({status}) before {what}; stderr: {stderr}",
                self.name
            );
        }
        assert!(
            Instant::now() < deadline,
            "{}: not {what} within {TIMEOUT:?}",
            self.name
        );
        thread::sleep(POLL);
    }

    /// Waits for the peer to exit (killing it after [`TIMEOUT`]).
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("{} still running after {TIMEOUT:?}", self.name);
            }
            thread::sleep(POLL);
        }
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Closes stdin, waits for the peer to exit and returns its status and output.
    pub fn finish(mut self) -> Finished {
        self.close_stdin();
        let status = self.wait();
        // The reader thread ends at EOF, which follows the exit.
        self.stdout.extend(self.lines.iter());
        Finished {
            status,
            stdout: self.stdout.join("\n"),
            stderr: self.take_stderr(),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_timeouts(tcp: TcpStream) -> TcpStream {
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    tcp
}

/// What our side of one exchange saw.
#[derive(Debug)]
pub struct Session {
    pub version: ProtocolVersion,
    pub suite: CipherSuite,
    pub group: NamedGroup,
    /// The peer's end-entity certificate.
    pub peer_leaf: CertificateDer<'static>,
    /// The line the peer sent (without the newline).
    pub line: String,
}

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {:?} {:?}, peer leaf of {} bytes, line {:?}",
            self.version,
            self.suite,
            self.group,
            self.peer_leaf.len(),
            self.line
        )
    }
}

impl Session {
    fn of(conn: &CommonState, line: Vec<u8>) -> Session {
        Session {
            version: conn.protocol_version().expect("version"),
            suite: conn.negotiated_cipher_suite().expect("suite").suite(),
            group: conn
                .negotiated_key_exchange_group()
                .expect("key exchange group")
                .name(),
            peer_leaf: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .expect("the peer presented a certificate")
                .clone(),
            line: String::from_utf8(line).expect("UTF-8 line"),
        }
    }
}

/// Our client over `tcp`: handshake, send `message` and a newline, read one line back, close.
/// A refused handshake is the `Err` (see [`tls_error`]).
pub fn client_session(
    config: ClientConfig,
    server_name: ServerName<'static>,
    tcp: TcpStream,
    message: &str,
) -> io::Result<Session> {
    let conn = ClientConnection::new(Arc::new(config), server_name).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(format!("{message}\n").as_bytes())?;
    tls.flush()?;
    // In TLS 1.3 a server refusing our certificate says so after our Finished: it shows here.
    let line = read_line(&mut tls)?;
    let session = Session::of(&tls.conn, line);
    close(tls);
    Ok(session)
}

/// Our server over `tcp`: handshake, read one line, answer `reply(line)` and a newline, close.
pub fn server_session(
    config: ServerConfig,
    tcp: TcpStream,
    reply: impl FnOnce(&str) -> String,
) -> io::Result<Session> {
    let mut tls = StreamOwned::new(ServerConnection::new(Arc::new(config)).unwrap(), tcp);
    let line = read_line(&mut tls)?;
    let answer = reply(std::str::from_utf8(&line).expect("UTF-8 line"));
    tls.write_all(format!("{answer}\n").as_bytes())?;
    tls.flush()?;
    let session = Session::of(&tls.conn, line);
    close(tls);
    Ok(session)
}

fn read_line(tls: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        tls.read_exact(&mut byte)?;
        if byte[0] == b'\n' {
            return Ok(line);
        }
        line.push(byte[0]);
    }
}

/// Sends close_notify, then reads until the peer closes too (bounded by the socket timeout), so
/// the peer sees an orderly close rather than a reset.
fn close<C, S>(mut tls: StreamOwned<C, TcpStream>)
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
    S: rustls::SideData,
{
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Write);
    let mut buf = [0u8; 256];
    while matches!(tls.read(&mut buf), Ok(n) if n > 0) {}
}

/// The rustls error inside an I/O error from a refused exchange: itself, or the source of the
/// `meshtls::Error::Untrusted` a mesh handshake reports a refused peer certificate as. Panics on
/// any other error (a reset or timeout is not a TLS refusal).
pub fn tls_error(err: &io::Error) -> &rustls::Error {
    let inner = err.get_ref();
    inner
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .or_else(|| match inner?.downcast_ref::<meshtls::Error>()? {
            meshtls::Error::Untrusted { source, .. } => Some(source),
            _ => None,
        })
        .unwrap_or_else(|| panic!("not a TLS error: {err:?}"))
}

/// The IANA (and OpenSSL / Go) name of a TLS 1.3 suite.
pub fn iana_name(suite: CipherSuite) -> &'static str {
    match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        other => panic!("not a TLS 1.3 suite: {other:?}"),
    }
}

/// A peer identity as a mesh checks it: a DNS or a URI (SPIFFE) subject alternative name.
#[derive(Clone, Copy, Debug)]
pub enum Id<'a> {
    Dns(&'a str),
    Uri(&'a str),
}

/// Whether the leaf `cert` carries `id`, by meshtls's own identity check (DNS and URI SANs).
pub fn has_identity(cert: &CertificateDer<'_>, id: Id<'_>) -> bool {
    let (Id::Dns(s) | Id::Uri(s)) = id;
    let id: meshtls::Id = s.parse().expect("an identity");
    meshtls::identity::verify_id(cert, &id).is_ok()
}

/// The URI (SPIFFE) identities of a certificate.
pub fn uri_sans(cert: &[u8]) -> Vec<String> {
    meshtls::identity::identities(cert)
        .expect("parsable certificate")
        .into_iter()
        .filter(|id| matches!(id, meshtls::Id::Uri(_)))
        .map(|id| id.to_string())
        .collect()
}

/// The path of a `certs/` file as a command-line argument for a peer.
pub fn cert_arg(file: &str) -> String {
    super::cert_path(file).display().to_string()
}

/// The chain file of fixture `name` as a command-line argument.
pub fn chain_arg(name: &str) -> String {
    cert_arg(&format!("{name}.chain.pem"))
}

/// The key file of fixture `name` as a command-line argument.
pub fn key_arg(name: &str) -> String {
    cert_arg(&format!("{name}.key.pem"))
}

/// The end-entity certificate of fixture `name`.
pub fn leaf(name: &str) -> CertificateDer<'static> {
    super::chain(name).remove(0)
}

/// The DNS identity (SAN) of fixture `name`, as [`super::sni_for`] knows it.
pub fn dns_of(name: &str) -> String {
    match super::sni_for(name) {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        other => panic!("{name}: not a DNS name: {other:?}"),
    }
}

/// go-peer's (`tests/peers/go-peer`) `RESULT key=value ...` line.
pub fn go_result(out: &Finished) -> std::collections::HashMap<&str, &str> {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("go-peer reported no RESULT: {out:?}"))
        .split(' ')
        .map(|kv| kv.split_once('=').expect("key=value"))
        .collect()
}

/// go-peer's `ERROR ...` line (it must have failed).
pub fn go_error(out: &Finished) -> &str {
    assert!(!out.status.success(), "go-peer succeeded: {out:?}");
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("ERROR "))
        .unwrap_or_else(|| panic!("go-peer reported no ERROR: {out:?}"))
}
