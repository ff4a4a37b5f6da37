//! Interop with Go's `crypto/tls` (`tests/peers/go-peer`, standard library only, built by the test
//! with `tests/peers/go-peer/build.sh`): TLS 1.3 with mutual authentication both ways, P-256 and
//! P-384 leaves, and mesh identities checked on both sides: Go checks our leaf's DNS or URI (SPIFFE)
//! SAN inside its handshake; we check the Go peer's leaf is the expected certificate and carries the
//! expected identity. Refusals: a Go server with another identity or an untrusted chain, a Go
//! client with an untrusted chain, and Go refusing an identity it does not expect.
//!
//! Go 1.26 prefers the ML-KEM hybrids (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, then
//! X25519, P-256, P-384, P-521): against those defaults the default build ends on X25519MLKEM768 and
//! the FIPS build on SecP256r1MLKEM768. Pinned on Go's side, P-384, SecP256r1MLKEM768 (both builds)
//! and X25519MLKEM768 (default build) are negotiated both ways. The group is asserted on both sides:
//! ours from rustls, Go's from `tls.ConnectionState.CurveID`. Go's TLS 1.3 suites are not
//! configurable, so the suite is the one Go reports agreeing to, asserted equal to ours.
//!
//! This Go peer runs with FIPS 140-3 mode off; `tests/go_fips.rs` runs it in FIPS 140-3 mode.

mod common;
mod mesh_support;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::peer::*;
use common::*;
use rustls::{AlertDescription, CertificateError, NamedGroup, ProtocolVersion};

const INSTALL: &str = "Go >= 1.26 (tests/peers/go-peer/go.mod), from https://go.dev/dl";

/// The URI SAN of `spiffe-foo-ca1`.
const SPIFFE_FOO: &str = "spiffe://cluster.local/ns/ns1/sa/foo";

/// The line each client sends; the server answers `echo:<line>`.
const MESSAGE: &str = "ping-from-the-client";

/// Builds the peer once per test binary (`go build` is cached under target/, so a rebuild after
/// `.ci/run` is quick) and prints its version (Go's `runtime.Version()`) in every test.
fn go_peer() -> &'static Path {
    static PEER: OnceLock<(PathBuf, String)> = OnceLock::new();
    let (bin, version) = PEER.get_or_init(|| {
        peer_version("go", &["version"], INSTALL);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let bin = root.join("target/go-peer");
        let mut build = Command::new("bash");
        build.arg(root.join("tests/peers/go-peer/build.sh"));
        let version = build_peer(&mut build, &bin);
        (bin, version)
    });
    println!("peer: {version}");
    bin
}

/// What Go's default key-exchange preferences meet in our provider: its first hybrid we have.
fn default_group() -> NamedGroup {
    if cfg!(feature = "fips") {
        NamedGroup::secp256r1MLKEM768
    } else {
        NamedGroup::X25519MLKEM768
    }
}

/// Go's name of a group (`tls.CurveID.String()`), as go-peer reports it and `-curves` takes it.
fn go_group(group: NamedGroup) -> &'static str {
    match group {
        NamedGroup::X25519MLKEM768 => "X25519MLKEM768",
        NamedGroup::secp256r1MLKEM768 => "SecP256r1MLKEM768",
        NamedGroup::X25519 => "X25519",
        NamedGroup::secp256r1 => "CurveP256",
        NamedGroup::secp384r1 => "CurveP384",
        other => panic!("no Go name for {other:?}"),
    }
}

/// go-peer's flags presenting fixture `name`, trusting roots.pem (ca1 and ca2), expecting `id`,
/// then `extra` flags.
fn go_args(name: &str, id: Id<'_>, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "-cert".to_string(),
        chain_arg(name),
        "-key".to_string(),
        key_arg(name),
        "-roots".to_string(),
        cert_arg("roots.pem"),
    ];
    let (flag, value) = match id {
        Id::Dns(dns) => ("-expect-dns", dns),
        Id::Uri(uri) => ("-expect-uri", uri),
    };
    args.extend(
        [flag, value]
            .into_iter()
            .chain(extra.iter().copied())
            .map(String::from),
    );
    args
}

/// How go-peer names an identity it checked.
fn go_id(id: Id<'_>) -> String {
    match id {
        Id::Dns(dns) => format!("dns:{dns}"),
        Id::Uri(uri) => format!("uri:{uri}"),
    }
}

/// Our client (presenting fixture `ours`, dialling fixture `dial`'s DNS name, trusting ca1) against
/// a Go server presenting fixture `go_leaf` and requiring a client certificate carrying `go_expects`.
fn go_server(
    go_leaf: &str,
    go_expects: Id<'_>,
    extra: &[&str],
    ours: &str,
    dial: &str,
) -> (io::Result<Session>, Finished) {
    let mut peer = Peer::spawn(
        "go-peer server",
        Command::new(go_peer())
            .arg("server")
            .args(go_args(go_leaf, go_expects, extra)),
        INSTALL,
    );
    let addr: SocketAddr = peer.line_after("LISTENING ").parse().unwrap();
    let tcp = peer.connect(addr);
    let cfg = client_config(meshtls::provider(), &versions(), ours).unwrap();
    let result = client_session(cfg, sni_for(dial), tcp, MESSAGE);
    (result, peer.finish())
}

/// A Go client (presenting fixture `go_leaf`, expecting `go_expects`) against our server
/// presenting fixture `ours` and requiring a client certificate from ca1.
fn go_client(
    go_leaf: &str,
    go_expects: Id<'_>,
    extra: &[&str],
    ours: &str,
) -> (io::Result<Session>, Finished) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut peer = Peer::spawn(
        "go-peer client",
        Command::new(go_peer())
            .args(["client", "-connect", &addr, "-sni", &dns_of(ours)])
            .args(["-message", MESSAGE])
            .args(go_args(go_leaf, go_expects, extra)),
        INSTALL,
    );
    let tcp = peer.accept(&listener);
    let cfg = server_config(meshtls::provider(), &versions(), ours).unwrap();
    let result = server_session(cfg, tcp, |line| format!("echo:{line}"));
    (result, peer.finish())
}

/// A fixture and the identity the other side must check on it.
type Party<'a> = (&'a str, Id<'a>);

/// One exchange that must complete, asserted on both sides: ours as client (dialling the Go
/// server's own name) or server, our fixture, Go's (whose leaf we must receive), and the group Go
/// is pinned to (`-curves`), if any (else Go's defaults, which meet [`default_group`]).
fn check(our_client: bool, ours: Party<'_>, go: Party<'_>, pinned: Option<NamedGroup>) {
    let ((ours, our_id), (go_leaf, their_id)) = (ours, go);
    let side = if our_client { "client" } else { "server" };
    let what = format!("our {side} {ours} vs Go {go_leaf} pinned to {pinned:?}");
    let group = pinned.unwrap_or_else(default_group);
    let pin = pinned.map(|g| ["-curves", go_group(g)]);
    let go_flags = pin.as_ref().map_or(&[][..], |p| &p[..]);
    let (result, out) = if our_client {
        go_server(go_leaf, our_id, go_flags, ours, go_leaf)
    } else {
        go_client(go_leaf, our_id, go_flags, ours)
    };
    // The group the client sends a key share for: our first, Go's only one when pinned, else Go's
    // first (X25519MLKEM768, with an X25519 share beside it). Any other costs a retry.
    let share = match (our_client, pinned) {
        (true, _) => meshtls::provider().kx_groups[0].name(),
        (false, Some(pinned)) => pinned,
        (false, None) => NamedGroup::X25519MLKEM768,
    };
    let s = result.unwrap_or_else(|err| panic!("{what}: {err}; go-peer: {out:?}"));
    println!("{what}: {s}; go-peer: {}", out.stdout);
    assert!(out.status.success(), "{what}: {out:?}");
    let go = go_result(&out);
    // Our side: the negotiation, and the Go peer's leaf and identity.
    assert_eq!(s.version, ProtocolVersion::TLSv1_3, "{what}");
    assert_eq!(s.group, group, "{what}");
    assert_eq!(s.peer_leaf, leaf(go_leaf), "{what}: Go's certificate");
    assert!(has_identity(&s.peer_leaf, their_id), "{what}: {their_id:?}");
    // Go's side (FIPS 140-3 mode off): the same version, suite and group, whether it retried, and
    // the identity it checked on our leaf.
    assert_eq!(go["version"], "TLSv1.3", "{what}");
    assert_eq!(go["suite"], iana_name(s.suite), "{what}");
    assert_eq!(go["group"], go_group(group), "{what}");
    assert_eq!(go["hrr"], (group != share).to_string(), "{what}");
    assert_eq!(go["fips140"], "off", "{what}");
    assert_eq!(go["peer_id"], go_id(our_id), "{what}");
    // The client's line reached the server and the echo came back.
    let (client_saw, server_saw) = if our_client {
        (s.line.as_str(), go["line"])
    } else {
        (go["line"], s.line.as_str())
    };
    assert_eq!(server_saw, MESSAGE, "{what}");
    assert_eq!(client_saw, format!("echo:{MESSAGE}"), "{what}");
}

/// P-256 leaves with DNS identities and Go's default groups, a P-384 leaf and group with the SPIFFE
/// identity on the client, then the hybrids this build has, Go pinned to each; ours as
/// `our_client`.
fn cases(our_client: bool) {
    let (bar_dns, p384_dns) = (dns_of("bar-ca1"), dns_of("p384-ca1"));
    // Go's server/client leaf, ours, and their identities.
    let (p256_server, p256_client) = (("foo-ca1", Id::Dns(FOO)), ("bar-ca1", Id::Dns(&bar_dns)));
    let (p384_server, spiffe_client) = (
        ("p384-ca1", Id::Dns(&p384_dns)),
        ("spiffe-foo-ca1", Id::Uri(SPIFFE_FOO)),
    );
    let mut runs = vec![
        (p256_server, p256_client, None),
        (p384_server, spiffe_client, Some(NamedGroup::secp384r1)),
        (
            p256_server,
            spiffe_client,
            Some(NamedGroup::secp256r1MLKEM768),
        ),
    ];
    if cfg!(not(feature = "fips")) {
        runs.push((p384_server, p256_client, Some(NamedGroup::X25519MLKEM768)));
    }
    for (server, client, pin) in runs {
        let (ours, go) = if our_client {
            (client, server)
        } else {
            (server, client)
        };
        check(our_client, ours, go, pin);
    }
}

#[test]
fn our_client_with_go_server() {
    cases(true);
}

/// Go sends X25519MLKEM768 and X25519 key shares: with default groups the FIPS build, which has
/// neither, asks for SecP256r1MLKEM768 with a HelloRetryRequest.
#[test]
fn go_client_with_our_server() {
    cases(false);
}

/// We dial foo; the Go server presents bar's (trusted) certificate.
#[test]
fn our_client_refuses_go_server_with_another_identity() {
    let bar_dns = dns_of("bar-ca1");
    let (result, out) = go_server("bar-ca1", Id::Dns(FOO), &[], "foo-ca1", "foo-ca1");
    let err = result.expect_err("connected to the wrong identity");
    println!("{err}; go-peer: {}", out.stdout);
    match tls_error(&err) {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => {
            assert_eq!(expected, &sni_for("foo-ca1"));
            assert!(
                presented.iter().any(|p| p.contains(&bar_dns)),
                "{presented:?}"
            );
        }
        other => panic!("unexpected error: {other:?}"),
    }
    assert!(go_error(&out).contains("remote error: tls: bad certificate"));
}

/// The Go server presents foo's name under ca2, which Go trusts (roots.pem) and we do not (ca1).
#[test]
fn our_client_refuses_untrusted_go_server() {
    let (result, out) = go_server("foo-ca2", Id::Dns(FOO), &[], "foo-ca1", "foo-ca1");
    let err = result.expect_err("connected to an untrusted server");
    println!("{err}; go-peer: {}", out.stdout);
    assert_eq!(
        tls_error(&err),
        &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    assert!(go_error(&out).contains("remote error: tls: unknown certificate authority"));
}

/// A Go client whose certificate (foo's name under ca2) we do not trust. Our CertificateRequest
/// names ca1, so by default Go withholds a certificate from another CA and our server refuses the
/// anonymous client; told to present it anyway, the chain is refused.
#[test]
fn our_server_refuses_untrusted_go_client() {
    for (extra, error, go_says) in [
        (
            &[][..],
            rustls::Error::NoCertificatesPresented,
            "remote error: tls: certificate required",
        ),
        (
            &["-ignore-ca-hints"][..],
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            "remote error: tls: unknown certificate authority",
        ),
    ] {
        let (result, out) = go_client("foo-ca2", Id::Dns(FOO), extra, "foo-ca1");
        let err = result.expect_err("accepted an untrusted client");
        println!("Go client {extra:?}: {err}; go-peer: {}", out.stdout);
        assert_eq!(tls_error(&err), &error);
        assert!(go_error(&out).contains(go_says), "{out:?}");
    }
}

/// Go's identity check can fail too: as server expecting bar, as client expecting the SPIFFE id,
/// while we present foo (trusted, DNS only). Go aborts the handshake with bad_certificate.
#[test]
fn go_refuses_our_certificate_for_another_identity() {
    let bar_dns = dns_of("bar-ca1");
    let bad_certificate = rustls::Error::AlertReceived(AlertDescription::BadCertificate);
    let (result, out) = go_server("foo-ca1", Id::Dns(&bar_dns), &[], "foo-ca1", "foo-ca1");
    let err = result.expect_err("Go server accepted foo as bar");
    println!("{err}; go-peer: {}", out.stdout);
    assert_eq!(tls_error(&err), &bad_certificate);
    assert!(go_error(&out).contains(&format!("identity: peer leaf has DNS SANs [{FOO}]")));

    let (result, out) = go_client("bar-ca1", Id::Uri(SPIFFE_FOO), &[], "foo-ca1");
    let err = result.expect_err("Go client accepted foo as the SPIFFE id");
    println!("{err}; go-peer: {}", out.stdout);
    assert_eq!(tls_error(&err), &bad_certificate);
    assert!(go_error(&out).contains("identity: peer leaf has URI SANs [], expected"));
}

/// The identity check used above tells the fixtures apart (so it can fail).
#[test]
fn identity_check_tells_fixtures_apart() {
    let (foo_leaf, spiffe_leaf) = (leaf("foo-ca1"), leaf("spiffe-foo-ca1"));
    assert_eq!(uri_sans(&spiffe_leaf), [SPIFFE_FOO]);
    assert!(uri_sans(&foo_leaf).is_empty());
    assert!(has_identity(&foo_leaf, Id::Dns(FOO)));
    assert!(!has_identity(&foo_leaf, Id::Dns(&dns_of("bar-ca1"))));
    assert!(!has_identity(&foo_leaf, Id::Uri(SPIFFE_FOO)));
    assert!(has_identity(&spiffe_leaf, Id::Uri(SPIFFE_FOO)));
    assert!(!has_identity(
        &spiffe_leaf,
        Id::Uri("spiffe://cluster.local/ns/ns1/sa/bar")
    ));
    assert!(!has_identity(&spiffe_leaf, Id::Dns(FOO)));
}

/// The mesh API's client against a Go server whose only identity is a SPIFFE URI: SNI is a DNS
/// name, the chain is verified without a name match, then the URI SAN is required. Go checks our
/// DNS identity in turn.
#[tokio::test]
async fn mesh_client_requires_the_go_servers_spiffe_identity() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let (_store, bar) =
        mesh_support::workload(mesh_support::BAR, mesh_support::BAR, "roots.pem", "bar-ca1");
    for (required, accepted) in [(SPIFFE_FOO, true), (FOO, false)] {
        let mut peer = Peer::spawn(
            "go-peer server",
            Command::new(go_peer()).arg("server").args(go_args(
                "spiffe-foo-ca1",
                Id::Dns(mesh_support::BAR),
                &[],
            )),
            INSTALL,
        );
        let addr: SocketAddr = peer.line_after("LISTENING ").parse().unwrap();
        let tcp = peer.connect(addr);
        tcp.set_nonblocking(true).unwrap();
        let tcp = tokio::net::TcpStream::from_std(tcp).unwrap();
        let target = mesh_support::target(FOO, required);
        let result = bar.new_client().new_client(target).connect(tcp).await;
        if !accepted {
            let err = result
                .map(|_| ())
                .expect_err("a DNS identity matched a SPIFFE-only leaf");
            assert!(
                matches!(mesh_support::mesh_error(&err), Some(meshtls::Error::IdMismatch { found, .. }) if found == &[SPIFFE_FOO.to_string()]),
                "{err:?}"
            );
            drop(peer);
            continue;
        }
        let (io, _) = result.expect("handshake with the Go server");
        assert_eq!(io.negotiated().group, Some(default_group()));
        let mut io = BufReader::new(io);
        io.write_all(format!("{MESSAGE}\n").as_bytes())
            .await
            .unwrap();
        io.flush().await.unwrap();
        let mut reply = String::new();
        io.read_line(&mut reply).await.unwrap();
        assert_eq!(reply.trim_end(), format!("echo:{MESSAGE}"));
        io.shutdown().await.unwrap();
        drop(io);
        let out = peer.finish();
        let result = go_result(&out);
        assert_eq!(
            result["peer_id"],
            go_id(Id::Dns(mesh_support::BAR)),
            "{out:?}"
        );
    }
}
