//! The ECDHE + ML-KEM hybrids against a real peer in another process: `tests/peers/rustls-peer`, built
//! on rustls's own aws-lc-rs provider (a separate cargo project with its own lockfile, so it is not
//! part of our dependency graph). SECP256R1MLKEM768 in both builds; X25519MLKEM768 in the default
//! build; in the FIPS build a peer offering only X25519MLKEM768 or X25519 is refused.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::peer::{build_peer, cert_arg};
use common::*;
use rustls::{ClientConnection, NamedGroup, ServerConnection, StreamOwned};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Builds the peer once (a no-op when `.ci/run` already built it) and returns its path.
///
/// The peer gets its own `--target-dir`, so where it lands does not depend on `CARGO_TARGET_DIR`
/// (which cargo would otherwise honour for the peer too, and which this test cannot guess).
fn peer() -> &'static PathBuf {
    static PEER: OnceLock<PathBuf> = OnceLock::new();
    PEER.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("tests/peers/rustls-peer");
        // Beside the Go peer (`target/go-peer`), whatever CARGO_TARGET_DIR says.
        let target = root.join("target/rustls-peer");
        let mut build = Command::new(env!("CARGO"));
        build
            .args([
                "build",
                "--release",
                "--locked",
                "--quiet",
                "--manifest-path",
            ])
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target);
        let bin = target.join("release/rustls-peer");
        println!("peer: {}", build_peer(&mut build, &bin));
        bin
    })
}

fn group_arg(g: NamedGroup) -> &'static str {
    match g {
        NamedGroup::secp256r1MLKEM768 => "secp256r1mlkem768",
        NamedGroup::X25519MLKEM768 => "x25519mlkem768",
        NamedGroup::X25519 => "x25519",
        NamedGroup::secp256r1 => "secp256r1",
        other => panic!("no peer flag for {other:?}"),
    }
}

/// Starts `rustls-peer server` for one connection; returns it and its address.
fn peer_server(group: NamedGroup) -> (Child, String) {
    let mut child = Command::new(peer())
        .args([
            "server",
            "--group",
            group_arg(group),
            "--count",
            "1",
            "--require-client-cert",
        ])
        .args([
            "--cert",
            &cert_arg("foo-ca1.chain.pem"),
            "--key",
            &cert_arg("foo-ca1.key.pem"),
        ])
        .args(["--roots", &cert_arg("ca1.crt.pem")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("peer starts");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("peer said {line:?}"))
        .to_string();
    (child, addr)
}

fn finish(child: Child) -> (bool, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Our client against the peer's server, offering only `group`.
fn our_client(group: NamedGroup) -> Result<(NamedGroup, String), String> {
    let (child, addr) = peer_server(group);
    let cfg = client_config(
        narrowed(&meshtls::provider(), None, Some(group)),
        &versions(),
        "foo-ca1",
    )
    .unwrap();
    let tcp = TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let conn = ClientConnection::new(Arc::new(cfg), sni_for("foo-ca1")).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    let result = (|| {
        tls.write_all(b"hybrid\n").map_err(|e| e.to_string())?;
        let mut echo = String::new();
        tls.read_to_string(&mut echo).map_err(|e| e.to_string())?;
        Ok((
            tls.conn.negotiated_key_exchange_group().unwrap().name(),
            echo,
        ))
    })();
    drop(tls);
    let (_, peer_out) = finish(child);
    println!("peer server: {}", peer_out.trim());
    result
}

/// The peer's client against our server, the peer offering only `group`.
fn our_server(group: NamedGroup) -> Result<(NamedGroup, bool, String), String> {
    let cfg = server_config(meshtls::provider(), &versions(), "foo-ca1").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let child = Command::new(peer())
        .args([
            "client",
            "--group",
            group_arg(group),
            "--connect",
            &addr,
            "--sni",
            FOO,
        ])
        .args([
            "--roots",
            &cert_arg("ca1.crt.pem"),
            "--message",
            "from-peer",
        ])
        .args([
            "--cert",
            &cert_arg("foo-ca1.chain.pem"),
            "--key",
            &cert_arg("foo-ca1.key.pem"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("peer starts");
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut tls = StreamOwned::new(ServerConnection::new(Arc::new(cfg)).unwrap(), tcp);
    let result = (|| {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while byte[0] != b'\n' {
            tls.read_exact(&mut byte).map_err(|e| e.to_string())?;
            line.push(byte[0]);
        }
        tls.write_all(b"echo:")
            .and_then(|_| tls.write_all(&line))
            .map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        tls.flush().map_err(|e| e.to_string())?;
        let group = tls.conn.negotiated_key_exchange_group().unwrap().name();
        Ok((
            group,
            tls.conn.peer_certificates().is_some(),
            String::from_utf8_lossy(&line).into_owned(),
        ))
    })();
    drop(tls); // close the socket so the peer sees EOF
    let (ok, out) = finish(child);
    println!("peer client: {}", out.trim());
    result.and_then(|r| {
        if ok {
            Ok(r)
        } else {
            Err(format!("peer failed: {out}"))
        }
    })
}

fn hybrids() -> Vec<NamedGroup> {
    let mut g = vec![NamedGroup::secp256r1MLKEM768];
    if !cfg!(feature = "fips") {
        g.push(NamedGroup::X25519MLKEM768);
    }
    g
}

#[test]
fn our_client_completes_hybrid_handshakes_with_peer() {
    for group in hybrids() {
        let (negotiated, echo) = our_client(group).unwrap_or_else(|e| panic!("{group:?}: {e}"));
        assert_eq!(negotiated, group);
        assert_eq!(echo, "echo:hybrid\n");
    }
}

#[test]
fn our_server_completes_hybrid_handshakes_with_peer() {
    for group in hybrids() {
        let (negotiated, client_cert, line) =
            our_server(group).unwrap_or_else(|e| panic!("{group:?}: {e}"));
        assert_eq!(negotiated, group);
        assert!(client_cert, "peer client sent no certificate");
        assert_eq!(line, "from-peer\n");
    }
}

#[cfg(feature = "fips")]
#[test]
fn fips_build_refuses_x25519_peers() {
    for group in [NamedGroup::X25519MLKEM768, NamedGroup::X25519] {
        let err = our_server(group).expect_err("our server accepted an X25519 peer");
        println!("{group:?} peer vs our server: {err}");
        // Our client cannot even offer the group: the provider does not have it.
        assert!(!meshtls::provider()
            .kx_groups
            .iter()
            .any(|g| g.name() == group));
        // Our client (offering its own groups) against a peer server limited to the group.
        let (child, addr) = peer_server(group);
        let cfg = client_config(meshtls::provider(), &versions(), "foo-ca1").unwrap();
        let tcp = TcpStream::connect(&addr).unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut tls = StreamOwned::new(
            ClientConnection::new(Arc::new(cfg), sni_for("foo-ca1")).unwrap(),
            tcp,
        );
        let err = tls
            .write_all(b"x\n")
            .and_then(|_| tls.read(&mut [0u8; 8]))
            .expect_err("handshake succeeded");
        let (ok, out) = finish(child);
        println!("our client vs {group:?} peer: {err}; peer: {}", out.trim());
        assert!(!ok, "peer server reported success");
        assert!(
            err.to_string().contains("HandshakeFailure") || err.to_string().contains("handshake"),
            "{err}"
        );
    }
}
