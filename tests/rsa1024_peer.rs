//! RSA-1024 certificates are rejected in both directions. Neither our key loader nor ring will sign with
//! an RSA-1024 key, so the peer is OpenSSL (`openssl s_server` / `s_client`, which allow 1024-bit RSA
//! at their default security level): the chain itself verifies (it is ECDSA-signed by ca1), but the
//! handshake signature made with the 1024-bit key has no verifier in our provider.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::{ClientConnection, ServerConnection, StreamOwned};

fn path(name: &str) -> String {
    cert_path(name).display().to_string()
}

/// Stops the OpenSSL peer and checks our side failed on the peer's certificate or its signature.
fn refused(peer: &mut std::process::Child, what: &str, err: &std::io::Error) {
    let _ = peer.kill();
    let _ = peer.wait();
    println!("{what}: {err}");
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert!(
        matches!(
            inner,
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::PeerMisbehaved(_))
        ),
        "unexpected error: {err:?}"
    );
}

#[test]
fn our_client_rejects_rsa1024_server() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-tls1_3",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        // Debian's openssl.cnf sets SECLEVEL=2, which refuses 1024-bit keys; this peer must use one.
        .args(["-cipher", "DEFAULT@SECLEVEL=0"])
        .args([
            "-cert",
            &path("rsa1024-ca1.crt.pem"),
            "-key",
            &path("rsa1024-ca1.key.pem"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed (Debian: apt-get install openssl)");
    // s_server's stdout is block-buffered into a pipe, so wait for the port instead of its banner.
    let tcp = (0..200)
        .find_map(|_| {
            TcpStream::connect(("127.0.0.1", port))
                .map_err(|_| std::thread::sleep(Duration::from_millis(50)))
                .ok()
        })
        .expect("s_server did not start listening");

    let cfg = client_config(meshtls::provider(), &versions(), "foo-ca1").unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let conn = ClientConnection::new(Arc::new(cfg), sni_for("rsa1024-ca1")).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    let err = tls
        .write_all(b"x")
        .and_then(|_| tls.read(&mut [0u8; 1]))
        .expect_err("RSA-1024 server accepted");
    refused(&mut server, "our client vs RSA-1024 server", &err);
}

#[test]
fn our_server_rejects_rsa1024_client() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = Command::new("openssl")
        .args([
            "s_client",
            "-tls1_3",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["-servername", FOO, "-cipher", "DEFAULT@SECLEVEL=0"])
        .args([
            "-cert",
            &path("rsa1024-ca1.crt.pem"),
            "-key",
            &path("rsa1024-ca1.key.pem"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed (Debian: apt-get install openssl)");

    let cfg = server_config(meshtls::provider(), &versions(), "foo-ca1").unwrap();
    listener.set_nonblocking(true).unwrap();
    let tcp = (0..400)
        .find_map(|_| {
            listener
                .accept()
                .map_err(|_| std::thread::sleep(Duration::from_millis(50)))
                .ok()
        })
        .expect("s_client did not connect")
        .0;
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = StreamOwned::new(ServerConnection::new(Arc::new(cfg)).unwrap(), tcp);
    let err = tls
        .read(&mut [0u8; 1])
        .expect_err("RSA-1024 client accepted");
    drop(client.stdin.take());
    refused(&mut client, "RSA-1024 client vs our server", &err);
}
