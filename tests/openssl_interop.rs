//! Interop with OpenSSL 3 (`openssl s_server` / `s_client`; Debian ships 3.0) in both directions:
//! TLS 1.3, mutual authentication against `certs/roots.pem`, AES-128-GCM and AES-256-GCM, groups P-256
//! and P-384, P-256 and P-384 leaf keys. What was negotiated is asserted on our side and, from
//! OpenSSL's `-brief` summary and an application-data exchange, on OpenSSL's side.
//!
//! OpenSSL peers limited to ChaCha20-Poly1305 or to X25519 are refused by the FIPS build (which has
//! neither) and connect to the default build.

mod common;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;

use common::peer::*;
use common::*;
use rustls::{AlertDescription, CipherSuite, NamedGroup, PeerIncompatible, ProtocolVersion};

const INSTALL: &str = "Debian: apt-get install -y openssl";

/// The line each client sends; the server answers with it reversed (`s_server -rev` does that, and
/// so does our server), so the answer proves data went both ways.
const MESSAGE: &str = "ping from the client";

/// A key-exchange group as rustls names it, as `-groups` takes it, and as s_client reports it.
struct Group {
    name: NamedGroup,
    arg: &'static str,
    temp_key: &'static str,
}

const P256: Group = Group {
    name: NamedGroup::secp256r1,
    arg: "P-256",
    temp_key: "ECDH, prime256v1, 256 bits",
};
const P384: Group = Group {
    name: NamedGroup::secp384r1,
    arg: "P-384",
    temp_key: "ECDH, secp384r1, 384 bits",
};
const X25519: Group = Group {
    name: NamedGroup::X25519,
    arg: "X25519",
    temp_key: "X25519, 253 bits",
};

const AES_128: CipherSuite = CipherSuite::TLS13_AES_128_GCM_SHA256;
const AES_256: CipherSuite = CipherSuite::TLS13_AES_256_GCM_SHA384;
const CHACHA20: CipherSuite = CipherSuite::TLS13_CHACHA20_POLY1305_SHA256;

/// (server leaf, client leaf): P-256 keys, then P-384 keys.
const LEAVES: [(&str, &str); 2] = [("foo-ca1", "bar-ca1"), ("p384-ca1", "p384-ca1")];

fn openssl_version() {
    peer_version("openssl", &["version"], INSTALL);
}

fn reversed(line: &str) -> String {
    line.chars().rev().collect()
}

/// The value of a `Key: value` line of OpenSSL's `-brief` summary (printed on stderr).
fn brief<'a>(stderr: &'a str, key: &str) -> Option<&'a str> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
}

/// Our client (all our suites and groups) against `openssl s_server` limited to `suite` and
/// `group`, presenting fixture `server` and requiring a client certificate that chains to
/// roots.pem and names fixture `client`.
fn with_s_server(
    suite: CipherSuite,
    group: &Group,
    server: &str,
    client: &str,
) -> (io::Result<Session>, Finished) {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut peer = Peer::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-tls1_3", "-naccept", "1", "-brief", "-rev"])
            .args(["-accept", &addr.to_string()])
            .args(["-ciphersuites", iana_name(suite), "-groups", group.arg])
            .args(["-cert", &chain_arg(server), "-key", &key_arg(server)])
            .args(["-Verify", "1", "-verify_return_error"])
            .args(["-CAfile", &cert_arg("roots.pem")])
            .args(["-verify_hostname", &dns_of(client)]),
        INSTALL,
    );
    let tcp = peer.connect(addr);
    let cfg = client_config(meshtls::provider(), &versions(), client).unwrap();
    let result = client_session(cfg, sni_for(server), tcp, MESSAGE);
    (result, peer.finish())
}

/// `openssl s_client` limited to `suite` and `group`, presenting fixture `client` and verifying
/// the server against roots.pem and fixture `server`'s name, against our server (all our suites and
/// groups) presenting `server` and requiring a client certificate.
fn with_s_client(
    suite: CipherSuite,
    group: &Group,
    server: &str,
    client: &str,
) -> (io::Result<Session>, Finished) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut peer = Peer::spawn(
        "openssl s_client",
        Command::new("openssl")
            .args(["s_client", "-tls1_3", "-brief"])
            .args(["-connect", &addr.to_string()])
            .args(["-ciphersuites", iana_name(suite), "-groups", group.arg])
            .args(["-cert", &chain_arg(client), "-key", &key_arg(client)])
            .args(["-servername", &dns_of(server)])
            .args(["-verify", "1", "-verify_return_error"])
            .args(["-CAfile", &cert_arg("roots.pem")])
            .args(["-verify_hostname", &dns_of(server)]),
        INSTALL,
    );
    // s_client sends its stdin once connected; it quits at EOF, so stdin stays open until the end.
    peer.stdin()
        .write_all(format!("{MESSAGE}\n").as_bytes())
        .unwrap();
    let tcp = peer.accept(&listener);
    let cfg = server_config(meshtls::provider(), &versions(), server).unwrap();
    let result = server_session(cfg, tcp, reversed);
    (result, peer.finish())
}

/// Which side of the exchange is ours.
#[derive(Clone, Copy, Debug)]
enum Ours {
    Client,
    Server,
}

/// One exchange: ours as `ours`, OpenSSL on the other side, limited to `suite` and `group`.
fn exchange(
    ours: Ours,
    suite: CipherSuite,
    group: &Group,
    server: &str,
    client: &str,
) -> (io::Result<Session>, Finished) {
    match ours {
        Ours::Client => with_s_server(suite, group, server, client),
        Ours::Server => with_s_client(suite, group, server, client),
    }
}

/// Asserts a completed exchange on both sides: what we negotiated and saw, and what OpenSSL's
/// `-brief` summary and output say.
fn check(ours: Ours, suite: CipherSuite, group: &Group, server: &str, client: &str) {
    let what = format!("ours: {ours:?}, OpenSSL limited to {suite:?} {}", group.arg);
    let (result, out) = exchange(ours, suite, group, server, client);
    let s = result.unwrap_or_else(|e| panic!("{what}: {e}; OpenSSL: {}", out.stderr));
    println!("{what}: {s}");
    // The leaf we must have received, and the name OpenSSL must have verified.
    let (our_peer, openssl_peer) = match ours {
        Ours::Client => (server, client),
        Ours::Server => (client, server),
    };
    assert_eq!(s.version, ProtocolVersion::TLSv1_3, "{what}");
    assert_eq!(s.suite, suite, "{what}");
    assert_eq!(s.group, group.name, "{what}");
    assert_eq!(s.peer_leaf, leaf(our_peer), "{what}: peer certificate");
    // The client sends MESSAGE, the server answers it reversed.
    let e = &out.stderr;
    match ours {
        Ours::Client => {
            assert_eq!(s.line, reversed(MESSAGE), "{what}: answer");
            assert!(out.status.success(), "{what}: {out:?}");
        }
        Ours::Server => {
            assert_eq!(s.line, MESSAGE, "{what}: request");
            assert_eq!(out.stdout.trim(), reversed(MESSAGE), "{what}: {out:?}");
            // Only s_client reports the group.
            assert_eq!(
                brief(e, "Server Temp Key"),
                Some(group.temp_key),
                "{what}: {e}"
            );
        }
    }
    let dns = dns_of(openssl_peer);
    assert_eq!(brief(e, "Protocol version"), Some("TLSv1.3"), "{what}: {e}");
    assert_eq!(
        brief(e, "Ciphersuite"),
        Some(iana_name(suite)),
        "{what}: {e}"
    );
    assert_eq!(
        brief(e, "Peer certificate"),
        Some(format!("CN = {dns}").as_str()),
        "{what}: {e}"
    );
    assert_eq!(brief(e, "Verification"), Some("OK"), "{what}: {e}");
    assert_eq!(
        brief(e, "Verified peername"),
        Some(dns.as_str()),
        "{what}: {e}"
    );
}

/// Every suite x group x leaf combination.
fn matrix(ours: Ours) {
    openssl_version();
    for (server, client) in LEAVES {
        for suite in [AES_128, AES_256] {
            for group in [&P256, &P384] {
                check(ours, suite, group, server, client);
            }
        }
    }
}

/// OpenSSL limited to a suite or group the FIPS build lacks. FIPS build: refused with `error` on our
/// side and `openssl_says` in OpenSSL's. Default build: connects with it.
fn limited(
    ours: Ours,
    suite: CipherSuite,
    group: &Group,
    error: rustls::Error,
    openssl_says: &str,
) {
    let (server, client) = LEAVES[0];
    if !cfg!(feature = "fips") {
        return check(ours, suite, group, server, client);
    }
    let (result, out) = exchange(ours, suite, group, server, client);
    let err = result.expect_err("the FIPS build connected");
    println!(
        "ours: {ours:?}, OpenSSL limited to {suite:?} {}: {err}; OpenSSL: {}",
        group.arg, out.stderr
    );
    assert_eq!(tls_error(&err), &error);
    assert!(out.stderr.contains(openssl_says), "{out:?}");
    assert!(!out.stderr.contains("CONNECTION ESTABLISHED"), "{out:?}");
}

#[test]
fn our_client_with_openssl_server() {
    matrix(Ours::Client);
}

#[test]
fn openssl_client_with_our_server() {
    matrix(Ours::Server);
}

/// OpenSSL's server chooses, finds nothing in common with the FIPS build and says so in an alert.
#[test]
fn openssl_server_limited_to_chacha20_or_x25519() {
    openssl_version();
    let alert = rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);
    limited(
        Ours::Client,
        CHACHA20,
        &P256,
        alert.clone(),
        "no shared cipher",
    );
    limited(
        Ours::Client,
        AES_128,
        &X25519,
        alert,
        "no suitable key share",
    );
}

/// Our FIPS server finds no suite / no group in common and tells OpenSSL with an alert.
#[test]
fn openssl_client_limited_to_chacha20_or_x25519() {
    openssl_version();
    let alert = "sslv3 alert handshake failure";
    let no_suite = rustls::Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon);
    limited(Ours::Server, CHACHA20, &P256, no_suite, alert);
    let no_group = rustls::Error::PeerIncompatible(PeerIncompatible::NoKxGroupsInCommon);
    limited(Ours::Server, AES_128, &X25519, no_group, alert);
}
