//! `meshtls probe` against tiny loopback servers: a plain-HTTP responder and a garbage responder
//! (not TLS servers: exit 2, said so), OpenSSL servers offering only what this build lacks (a
//! finding that says "no algorithm in common"), and a mesh server probed without `--roots` (an
//! unverified chain is a finding), with the signature scheme the server signed with reported.
#![cfg(feature = "cli")]

mod common;
mod mesh_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};

use mesh_support::{FOO, STEP};
use serde_json::Value;

fn meshtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshtls"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run meshtls")
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = meshtls(&all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap(), v)
}

fn findings(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// A TCP server that answers every connection with `answer` (after reading what the client sent
/// first), then closes.
fn responder(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(STEP));
            let mut hello = [0u8; 4096];
            let _ = tcp.read(&mut hello);
            let _ = tcp.write_all(answer);
        }
    });
    addr
}

#[test]
fn a_plain_http_server_is_not_a_tls_server() {
    let addr =
        responder(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .to_string();
    let out = meshtls(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a TLS server"), "{err}");
    assert!(err.contains("plain HTTP"), "{err}");
    assert!(err.contains("what to do:"), "{err}");
    let (rc, v) = json(&["probe", &addr, "--sni", FOO]);
    assert_eq!(rc, 2);
    assert!(v["error"].as_str().unwrap().contains("not a TLS server"));
}

#[test]
fn a_garbage_server_is_not_a_tls_server() {
    let addr = responder(b"\x00\x01\x02 this is not TLS at all\n").to_string();
    let out = meshtls(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a TLS server"), "{err}");
    assert!(err.contains("00 01 02"), "the bytes are shown: {err}");
    // A handshake record with a version that is not 3.x is not TLS either.
    let addr = responder(b"\x16\x09\x09\x00\x05hello").to_string();
    let out = meshtls(&["probe", &addr, "--sni", FOO]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a TLS server"));
}

/// A mesh server (foo) on loopback, in its own runtime thread.
fn mesh_server() -> SocketAddr {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (_store, foo) = mesh_support::workload(FOO, FOO, "roots.pem", "foo-ca1");
            let (addr, mut accepted) = mesh_support::serve(foo.server()).await;
            addr_tx.send(addr).unwrap();
            while accepted.recv().await.is_some() {}
        });
    });
    addr_rx.recv().unwrap()
}

#[test]
fn without_roots_the_chain_is_unverified_and_that_is_a_finding() {
    let addr = mesh_server().to_string();
    let (rc, v) = json(&["probe", &addr, "--sni", FOO]);
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["handshake"], "ok");
    assert_eq!(v["chain_verified"], false);
    let f = findings(&v);
    assert!(
        f.iter()
            .any(|f| f.contains("not verified") && f.contains("--roots")),
        "{f:?}"
    );
    // The scheme the server signed its handshake with (foo-ca1 is a P-256 key).
    assert!(
        v["signature_scheme"].as_str().is_some_and(
            |s| s.to_lowercase().contains("p256") || s.to_lowercase().contains("secp256r1")
        ),
        "{v:#}"
    );

    // With --roots, the chain is verified and that finding is gone.
    let (_, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    assert_eq!(v["chain_verified"], true, "{v:#}");
    assert!(!findings(&v).iter().any(|f| f.contains("not verified")));
}

/// An `openssl s_server` on loopback with `extra` arguments and fixture `cert`'s chain and key.
fn openssl_server(extra: &[&str], cert: &str) -> (common::peer::Peer, String) {
    use common::peer::{chain_arg, free_port, key_arg, peer_version, Peer};
    let install = "Debian: apt-get install -y openssl";
    peer_version("openssl", &["version"], install);
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // A CA fixture has no chain file: its one certificate.
    let chain = if common::cert_path(&format!("{cert}.chain.pem")).exists() {
        chain_arg(cert)
    } else {
        common::cert_path(&format!("{cert}.crt.pem"))
            .to_string_lossy()
            .into_owned()
    };
    let mut peer = Peer::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-naccept", "2", "-brief"])
            .args(["-accept", &addr.to_string()])
            .args(extra)
            .args(["-cert", &chain, "-key", &key_arg(cert)]),
        install,
    );
    drop(peer.connect(addr)); // waits until it listens; the probe is its second connection
    (peer, addr.to_string())
}

#[test]
fn a_server_with_no_algorithm_in_common_is_a_finding_that_says_so() {
    // TLS 1.3 with AES-128-CCM only: a suite no meshtls build has.
    let (peer, addr) = openssl_server(
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"],
        "foo-ca1",
    );
    let (rc, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["failure"], "no_common_algorithm", "{v:#}");
    let handshake = v["handshake"].as_str().unwrap();
    assert!(handshake.contains("handshake_failure"), "{v:#}");
    assert!(
        findings(&v)
            .iter()
            .any(|f| f.contains("no algorithm in common")),
        "{v:#}"
    );
    // In words, without Debug output.
    assert!(!handshake.contains("HandshakeFailure"), "{v:#}");
    drop(peer);

    // TLS 1.3 with the FFDHE group only: a group no meshtls build has.
    let (peer, addr) = openssl_server(&["-tls1_3", "-groups", "ffdhe2048"], "foo-ca1");
    let (rc, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["failure"], "no_common_algorithm", "{v:#}");
    drop(peer);
}

/// What a user reads: no `Debug` output, no byte arrays, no UNIX seconds, in check-cert and probe.
#[test]
fn error_texts_are_words() {
    let leaks = |text: &str| -> Option<&'static str> {
        let bytes = text.as_bytes();
        let array = bytes
            .windows(4)
            .any(|w| w[0] == b'[' && w[1].is_ascii_digit() && (w[2] == b',' || w[3] == b','));
        if array {
            return Some("a byte array");
        }
        [
            "(UNIX)",
            "Context {",
            "OtherError",
            "Other(",
            "InvalidCertificate(",
        ]
        .into_iter()
        .find(|bad| text.contains(bad))
    };
    for chain in [
        "certs/expired-ca1.chain.pem",
        "certs/notyet-ca1.chain.pem",
        "certs/sha1-ca1.chain.pem",
        "certs/ca1.crt.pem",
        "certs/foo-ca2.chain.pem",
    ] {
        let out = meshtls(&["check-cert", chain, "--roots", "certs/ca1.crt.pem"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{chain}: {text}");
        assert_eq!(leaks(&text), None, "{chain}: {text}");
    }
    let text = String::from_utf8_lossy(
        &meshtls(&[
            "check-cert",
            "certs/expired-ca1.chain.pem",
            "--roots",
            "certs/roots.pem",
        ])
        .stdout,
    )
    .into_owned();
    assert!(text.contains("expired on 2002-01-01T00:00:00Z"), "{text}");

    // An untrusted server, as the probe reports it.
    let addr = mesh_server().to_string();
    let (_, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/ca2.crt.pem"]);
    let handshake = v["handshake"].as_str().unwrap();
    assert!(
        handshake.contains("not issued by any of the trust roots"),
        "{v:#}"
    );
    assert_eq!(leaks(&v.to_string()), None, "{v:#}");
}

/// The server's certificates are judged by the policy table: a leaf signed with ECDSA-SHA1 (which no
/// verifier of this build takes) is a finding even when the chain is not verified.
#[test]
fn the_peers_certificate_algorithms_are_judged() {
    // SECLEVEL=0: OpenSSL refuses to serve a SHA-1-signed certificate otherwise.
    let (peer, addr) = openssl_server(&["-tls1_3", "-cipher", "DEFAULT:@SECLEVEL=0"], "sha1-ca1");
    let (rc, v) = json(&["probe", &addr, "--sni", FOO]);
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["handshake"], "ok", "{v:#}");
    assert_eq!(v["peer_certificates"][0]["key"], "ECDSA P-256", "{v:#}");
    assert!(
        v["peer_certificates"][0]["signature_problem"].is_string(),
        "{v:#}"
    );
    assert!(
        findings(&v)
            .iter()
            .any(|f| f.starts_with("peer leaf:") && f.contains("not verified by this build")),
        "{v:#}"
    );
    drop(peer);

    // An RSA-2048 server: key size reported, scheme an RSA-PSS one, no certificate finding.
    let (peer, addr) = openssl_server(&["-tls1_3"], "rsa2048-ca1");
    let (_, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    assert_eq!(v["handshake"], "ok", "{v:#}");
    assert_eq!(v["peer_certificates"][0]["key"], "RSA 2048 bits", "{v:#}");
    assert!(
        v["signature_scheme"]
            .as_str()
            .unwrap()
            .starts_with("rsa_pss_rsae_"),
        "{v:#}"
    );
    assert!(
        !findings(&v).iter().any(|f| f.starts_with("peer leaf")),
        "{v:#}"
    );
    drop(peer);
}

/// The mesh's certificate rules (meshtls::identity::rules) are applied to the server's certificate too: the CA
/// certificate ca1 served as a leaf breaks them.
#[test]
fn the_mesh_certificate_rules_are_applied_to_the_server() {
    let (peer, addr) = openssl_server(&["-tls1_3"], "ca1");
    let (rc, v) = json(&["probe", &addr, "--sni", FOO]);
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["handshake"], "ok", "{v:#}");
    assert!(
        findings(&v)
            .iter()
            .any(|f| f.starts_with("peer leaf: basicConstraints says CA:TRUE")),
        "{v:#}"
    );
    drop(peer);
}
