//! RSA-1024 certificates are rejected in both directions. Neither our key loader nor ring will sign with
//! an RSA-1024 key, so the peer is OpenSSL (`openssl s_server` / `s_client`, which allow 1024-bit RSA
//! at their default security level): the chain itself verifies (it is ECDSA-signed by ca1), but the
//! handshake signature made with the 1024-bit key has no verifier in our provider.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::Command;

use common::peer::*;
use common::*;

const INSTALL: &str = "Debian: apt-get install -y openssl";

/// Checks our side failed on the peer's certificate or its signature.
fn refused(what: &str, err: &std::io::Error) {
    println!("{what}: {err}");
    assert!(
        matches!(
            tls_error(err),
            rustls::Error::InvalidCertificate(_) | rustls::Error::PeerMisbehaved(_)
        ),
        "unexpected error: {err:?}"
    );
}

#[test]
fn our_client_rejects_rsa1024_server() {
    peer_version("openssl", &["version"], INSTALL);
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut server = Peer::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-tls1_3", "-accept", &addr.to_string()])
            // Debian's openssl.cnf sets SECLEVEL=2, which refuses 1024-bit keys; this peer must use one.
            .args(["-cipher", "DEFAULT@SECLEVEL=0"])
            .args(["-cert", &cert_arg("rsa1024-ca1.crt.pem")])
            .args(["-key", &cert_arg("rsa1024-ca1.key.pem")]),
        INSTALL,
    );
    let tcp = server.connect(addr);
    let cfg = client_config(meshtls::provider(), &versions(), "foo-ca1").unwrap();
    let err = client_session(cfg, sni_for("rsa1024-ca1"), tcp, "x")
        .expect_err("RSA-1024 server accepted");
    refused("our client vs RSA-1024 server", &err);
}

#[test]
fn our_server_rejects_rsa1024_client() {
    peer_version("openssl", &["version"], INSTALL);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = Peer::spawn(
        "openssl s_client",
        Command::new("openssl")
            .args(["s_client", "-tls1_3", "-connect", &addr.to_string()])
            .args(["-servername", FOO, "-cipher", "DEFAULT@SECLEVEL=0"])
            .args(["-cert", &cert_arg("rsa1024-ca1.crt.pem")])
            .args(["-key", &cert_arg("rsa1024-ca1.key.pem")]),
        INSTALL,
    );
    let tcp = client.accept(&listener);
    let cfg = server_config(meshtls::provider(), &versions(), "foo-ca1").unwrap();
    let err = server_session(cfg, tcp, str::to_string).expect_err("RSA-1024 client accepted");
    refused("RSA-1024 client vs our server", &err);
}
