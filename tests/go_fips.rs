//! Go's crypto/tls in FIPS 140-3 mode against this build: `target/go-peer-fips`, go-peer built with
//! `GOFIPS140=v1.0.0` (the frozen Go Cryptographic Module v1.0.0) and run with
//! `GODEBUG=fips140=only`, against our provider, with mutual authentication.
//!
//! For every group either side knows (P-256, P-384, P-521, X25519, X25519MLKEM768,
//! SecP256r1MLKEM768, SecP384r1MLKEM1024) and every TLS 1.3 suite, both directions: Go pinned to the
//! group (`-curves`), ours pinned to the suite and, where we have it, to the group. Go's TLS 1.3
//! suites are not configurable, so Go offers (and accepts) what its FIPS mode allows, AES-GCM only,
//! and the suite it reports is asserted. The outcome is asserted exactly: the group and suite both
//! sides report, or each side's error. The same matrix runs in the default build, where it shows
//! what Go's FIPS mode alone refuses (X25519, ChaCha20-Poly1305). FIPS.md §8.4 tabulates the result.

mod common;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use common::peer::*;
use common::*;
use rustls::crypto::CryptoProvider;
use rustls::{AlertDescription, CipherSuite, NamedGroup, PeerIncompatible, ProtocolVersion};

const INSTALL: &str = "Go >= 1.26 (tests/peers/go-peer/go.mod), from https://go.dev/dl";

/// The run-time setting that puts Go's module in FIPS 140-3 mode and makes it refuse (return errors
/// for) what is not approved. Go documents it as a testing and assessment mode, not for production.
const GODEBUG: &str = "fips140=only";

/// The line each client sends; the server answers `echo:<line>`.
const MESSAGE: &str = "ping-from-the-client";

/// Our server's fixture (Go dials its DNS name).
const OUR_SERVER: &str = "foo-ca1";

/// Our client's fixture.
const OUR_CLIENT: &str = "bar-ca1";

/// Every group either side knows: its id, Go's name for it, and whether Go 1.26's crypto/tls keeps
/// it in FIPS 140-3 mode (its `allowedCurvePreferencesFIPS`: not X25519, but X25519MLKEM768, whose
/// ML-KEM half is approved). rustls has no name for SecP384r1MLKEM1024 (IANA 0x11ed), and neither
/// build of ours offers it.
const GROUPS: [(NamedGroup, &str, bool); 7] = [
    (NamedGroup::secp256r1, "CurveP256", true),
    (NamedGroup::secp384r1, "CurveP384", true),
    (NamedGroup::secp521r1, "CurveP521", true),
    (NamedGroup::X25519, "X25519", false),
    (NamedGroup::X25519MLKEM768, "X25519MLKEM768", true),
    (NamedGroup::secp256r1MLKEM768, "SecP256r1MLKEM768", true),
    (NamedGroup::Unknown(0x11ed), "SecP384r1MLKEM1024", true),
];

/// The TLS 1.3 suites.
const SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
];

/// The TLS 1.3 suites Go keeps in FIPS 140-3 mode: not ChaCha20-Poly1305.
const GO_FIPS_SUITES: [CipherSuite; 2] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
];

/// The groups this build's provider offers, in its order (`tests/policy.rs` pins the list).
fn our_groups() -> Vec<NamedGroup> {
    let provider = meshtls::provider();
    provider.kx_groups.iter().map(|g| g.name()).collect()
}

/// The TLS 1.3 suites this build's provider offers, in its order (`tests/policy.rs` pins them).
fn our_suites() -> Vec<CipherSuite> {
    let provider = meshtls::provider();
    provider
        .cipher_suites
        .iter()
        .filter(|s| s.version().version == ProtocolVersion::TLSv1_3)
        .map(|s| s.suite())
        .collect()
}

/// Builds both go-peer variants once per test binary (tests/peers/go-peer/build.sh, cached under
/// target/) and returns the FIPS one, printing its version line as run here.
fn go_peer_fips() -> &'static Path {
    static PEER: OnceLock<(PathBuf, String)> = OnceLock::new();
    let (bin, version) = PEER.get_or_init(|| {
        peer_version("go", &["version"], INSTALL);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let bin = root.join("target/go-peer-fips");
        let mut build = Command::new("bash");
        build.arg(root.join("tests/peers/go-peer/build.sh"));
        build_peer(&mut build, &bin);
        (bin.clone(), go_version(&bin, Some(GODEBUG)))
    });
    println!("peer: {version}");
    bin
}

/// What `bin version` says, run with `GODEBUG=godebug` or without a GODEBUG.
fn go_version(bin: &Path, godebug: Option<&str>) -> String {
    let mut cmd = Command::new(bin);
    cmd.arg("version").env_remove("GODEBUG");
    if let Some(value) = godebug {
        cmd.env("GODEBUG", value);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Go's name of a group.
fn go_name(group: NamedGroup) -> &'static str {
    GROUPS
        .iter()
        .find(|(g, ..)| *g == group)
        .expect("a known group")
        .1
}

/// go-peer in FIPS 140-3 mode as `mode` (`client` or `server`), presenting fixture `go_leaf`,
/// trusting roots.pem, expecting our fixture `ours`'s DNS identity, pinned to `group` if given.
fn go_command(mode: &str, go_leaf: &str, ours: &str, group: Option<NamedGroup>) -> Command {
    let mut cmd = Command::new(go_peer_fips());
    cmd.arg(mode).env("GODEBUG", GODEBUG);
    cmd.args(["-cert", &chain_arg(go_leaf), "-key", &key_arg(go_leaf)])
        .args([
            "-roots",
            &cert_arg("roots.pem"),
            "-expect-dns",
            &dns_of(ours),
        ]);
    if let Some(group) = group {
        cmd.args(["-curves", go_name(group)]);
    }
    cmd
}

/// One exchange over TLS 1.3 on `provider`, ours as client or server against go-peer in FIPS mode
/// (pinned to `group` if given), ours in FIPS mode exactly in the regulated build (rustls's
/// `fips()`). Returns our side's outcome and what go-peer left behind.
fn exchange(
    our_client: bool,
    provider: Arc<CryptoProvider>,
    group: Option<NamedGroup>,
) -> (io::Result<Session>, Finished) {
    let tls13 = [&rustls::version::TLS13];
    if our_client {
        let mut cmd = go_command("server", OUR_SERVER, OUR_CLIENT, group);
        let mut peer = Peer::spawn("go-peer-fips server", &mut cmd, INSTALL);
        let addr: SocketAddr = peer.line_after("LISTENING ").parse().unwrap();
        let tcp = peer.connect(addr);
        let cfg = client_config(provider, &tls13, OUR_CLIENT).unwrap();
        assert_eq!(
            cfg.fips(),
            cfg!(feature = "fips"),
            "our client in FIPS mode"
        );
        let result = client_session(cfg, sni_for(OUR_SERVER), tcp, MESSAGE);
        (result, peer.finish())
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut cmd = go_command("client", OUR_CLIENT, OUR_SERVER, group);
        cmd.args(["-connect", &addr, "-sni", &dns_of(OUR_SERVER)])
            .args(["-message", MESSAGE]);
        let mut peer = Peer::spawn("go-peer-fips client", &mut cmd, INSTALL);
        let tcp = peer.accept(&listener);
        let cfg = server_config(provider, &tls13, OUR_SERVER).unwrap();
        assert_eq!(
            cfg.fips(),
            cfg!(feature = "fips"),
            "our server in FIPS mode"
        );
        let result = server_session(cfg, tcp, |line| format!("echo:{line}"));
        (result, peer.finish())
    }
}

/// Asserts a completed exchange on both sides: TLS 1.3 on `group` and `suite`, whether Go saw a
/// HelloRetryRequest, Go in FIPS-only mode on module v1.0.0, the identities each side checked and
/// the line and its echo.
fn assert_agreed(
    what: &str,
    our_client: bool,
    (result, out): (io::Result<Session>, Finished),
    (group, suite, hrr): (NamedGroup, CipherSuite, bool),
) {
    let s = result.unwrap_or_else(|err| panic!("{what}: {err}; go-peer: {out:?}"));
    assert!(out.status.success(), "{what}: {out:?}");
    let go = go_result(&out);
    let (ours, theirs) = if our_client {
        (OUR_CLIENT, OUR_SERVER)
    } else {
        (OUR_SERVER, OUR_CLIENT)
    };
    assert_eq!(s.version, ProtocolVersion::TLSv1_3, "{what}");
    assert_eq!((s.group, s.suite), (group, suite), "{what}");
    assert_eq!(s.peer_leaf, leaf(theirs), "{what}: Go's certificate");
    assert!(
        has_identity(&s.peer_leaf, Id::Dns(&dns_of(theirs))),
        "{what}"
    );
    assert_eq!(go["version"], "TLSv1.3", "{what}");
    assert_eq!(go["suite"], iana_name(suite), "{what}");
    assert_eq!(go["group"], go_name(group), "{what}");
    assert_eq!(go["hrr"], hrr.to_string(), "{what}");
    assert_eq!((go["fips140"], go["module"]), ("only", "v1.0.0"), "{what}");
    assert_eq!(go["peer_id"], format!("dns:{}", dns_of(ours)), "{what}");
    let (client_saw, server_saw) = if our_client {
        (s.line.as_str(), go["line"])
    } else {
        (go["line"], s.line.as_str())
    };
    assert_eq!(server_saw, MESSAGE, "{what}");
    assert_eq!(client_saw, format!("echo:{MESSAGE}"), "{what}");
}

/// How our side of a refused exchange must end.
#[derive(Debug)]
enum Ours {
    /// With this TLS error (ours, or the peer's alert).
    Tls(rustls::Error),
    /// With the connection closed before any TLS record arrived.
    Eof,
}

/// What Go's server says when no TLS 1.3 suite is in common.
const GO_NO_SUITE: &str = "tls: no cipher suite supported by both client and server";

/// What Go's server says when no group is in common.
const GO_NO_GROUP: &str = "tls: no key exchanges supported by both client and server";

/// What Go's client says when its FIPS mode leaves it no group to offer.
const GO_NOTHING_TO_OFFER: &str = "tls: no supported elliptic curves for ECDHE";

/// What Go's client says when our server refuses it (the handshake_failure alert).
const GO_REFUSED: &str = "remote error: tls: handshake failure";

/// What our client gets when Go's server refuses it.
const HANDSHAKE_FAILURE: rustls::Error =
    rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);

/// Our error and a part of go-peer's `ERROR` line, for a refused `group` × `suite`; `None` if the
/// two modules must agree on it. Which check fails first is each stack's own order: Go's server
/// looks at the suites before the groups; Go's client needs a group it may offer before it sends
/// anything; our (rustls) server looks at the groups before the suites.
fn refusal(
    our_client: bool,
    group: NamedGroup,
    suite: CipherSuite,
) -> Option<(Ours, &'static str)> {
    let go_has_group = GROUPS.iter().any(|&(g, _, go_fips)| g == group && go_fips);
    let common_group = go_has_group && our_groups().contains(&group);
    let common_suite = GO_FIPS_SUITES.contains(&suite);
    let ours = |why| Ours::Tls(rustls::Error::PeerIncompatible(why));
    match (our_client, go_has_group, common_group, common_suite) {
        (true, _, _, false) => Some((Ours::Tls(HANDSHAKE_FAILURE), GO_NO_SUITE)),
        (true, _, false, _) => Some((Ours::Tls(HANDSHAKE_FAILURE), GO_NO_GROUP)),
        (false, false, _, _) => Some((Ours::Eof, GO_NOTHING_TO_OFFER)),
        (false, _, false, _) => Some((ours(PeerIncompatible::NoKxGroupsInCommon), GO_REFUSED)),
        (false, _, _, false) => Some((ours(PeerIncompatible::NoCipherSuitesInCommon), GO_REFUSED)),
        _ => None,
    }
}

/// Every group × TLS 1.3 suite, ours as `our_client`: Go pinned to the group, ours to the suite and
/// (if we have it) the group. Each cell ends as [`refusal`] says, or agreed on exactly that group
/// and suite without a retry. Suites this build lacks cannot be offered and are skipped (after
/// checking the provider lacks them). Prints each cell as a table row.
fn matrix(our_client: bool) {
    let provider = meshtls::provider();
    let direction = if our_client {
        "our client -> Go server"
    } else {
        "Go client -> our server"
    };
    let mut agreed = 0;
    for (group, go_group, _) in GROUPS {
        for suite in SUITES {
            let what = format!("{direction}, {go_group}, {}", iana_name(suite));
            if !our_suites().contains(&suite) {
                assert!(!provider.cipher_suites.iter().any(|s| s.suite() == suite));
                println!("| {what} | not offered: this build has no such suite |");
                continue;
            }
            let has_group = our_groups().contains(&group);
            let ours = narrowed(&provider, Some(suite), has_group.then_some(group));
            let (result, out) = exchange(our_client, ours, Some(group));
            match refusal(our_client, group, suite) {
                None => {
                    assert_agreed(&what, our_client, (result, out), (group, suite, false));
                    println!("| {what} | agreed |");
                    agreed += 1;
                }
                Some((expected, go_says)) => {
                    let err = result.expect_err(&what);
                    match (&expected, &err) {
                        (Ours::Tls(e), err) => assert_eq!(tls_error(err), e, "{what}"),
                        (Ours::Eof, err) => {
                            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{what}: {err}")
                        }
                    }
                    let go_error = go_error(&out);
                    assert!(go_error.contains(go_says), "{what}: {go_error}");
                    println!("| {what} | refused: ours {expected:?}, Go `{go_error}` |");
                }
            }
        }
    }
    // P-256, P-384 and SecP256r1MLKEM768 (and in the default build X25519MLKEM768) with both
    // AES-GCM suites.
    assert_eq!(agreed, if cfg!(feature = "fips") { 6 } else { 8 });
}

#[test]
fn our_client_with_go_fips_server_every_group_and_suite() {
    matrix(true);
}

#[test]
fn go_fips_client_with_our_server_every_group_and_suite() {
    matrix(false);
}

/// Neither side pinned: Go's FIPS-mode defaults (X25519MLKEM768 first, its only key share as a
/// client, since the X25519 share beside it is dropped) against this build's provider as is.
#[test]
fn go_fips_defaults_meet_our_first_common_group() {
    let fips = cfg!(feature = "fips");
    let group = if fips {
        NamedGroup::secp256r1MLKEM768
    } else {
        NamedGroup::X25519MLKEM768
    };
    for our_client in [true, false] {
        let what = format!("defaults, our client: {our_client}");
        let outcome = exchange(our_client, meshtls::provider(), None);
        println!("{what}: {:?}", outcome.1.stdout);
        // Only our server in the regulated build must ask Go for another share.
        let hrr = fips && !our_client;
        let suite = CipherSuite::TLS13_AES_128_GCM_SHA256;
        assert_agreed(&what, our_client, outcome, (group, suite, hrr));
    }
}

/// go-peer-fips links the frozen Go Cryptographic Module v1.0.0 and runs in FIPS 140-3 mode by
/// default (GOFIPS140); the tests' GODEBUG makes that mode enforcing ("only").
#[test]
fn go_peer_fips_runs_module_v1_0_0_in_fips_mode() {
    let bin = go_peer_fips();
    assert!(go_version(bin, Some(GODEBUG)).ends_with(" fips140=only module=v1.0.0"));
    assert!(go_version(bin, None).ends_with(" fips140=on module=v1.0.0"));
}
