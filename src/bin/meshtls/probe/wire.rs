//! The first bytes a server sent, and what a failed handshake says about the server.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// The TCP stream, keeping the first bytes the server sent (to tell "not TLS" apart).
pub(super) struct Recorder {
    tcp: TcpStream,
    first: Vec<u8>,
}

impl Recorder {
    pub(super) fn new(tcp: TcpStream) -> Self {
        Self {
            tcp,
            first: Vec::new(),
        }
    }

    /// The first bytes the server sent (up to what was kept).
    pub(super) fn first(&self) -> &[u8] {
        &self.first
    }
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
pub(super) fn not_tls(first: &[u8]) -> Option<String> {
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
pub(super) fn no_common_algorithm(e: &rustls::Error) -> bool {
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
