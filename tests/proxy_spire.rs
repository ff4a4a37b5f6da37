//! `meshtls proxy --spiffe-socket`: both modes with their identity from a real SPIRE agent's
//! Workload API (`tests/spire_support`): a server proxy on SVID foo, a client proxy on SVID bar,
//! bytes through both, /status and /ready naming the SVIDs.
#![cfg(all(feature = "cli", feature = "spiffe"))]

#[allow(dead_code)]
mod proxy_support;
mod spire_support;

use std::process::Command;

use proxy_support::{echo, round_trip, upstream, Proxy};
use spire_support::Spire;

const FOO: &str = "spiffe://a.test/foo";
const BAR: &str = "spiffe://a.test/bar";
/// The SNI foo's server answers to (a SPIFFE --id needs a DNS-like --name).
const NAME: &str = "foo.a.test";

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn proxies_on_workload_api_svids_round_trip_and_show_them() {
    let spire = Spire::with_workloads("a.test", &[FOO, BAR], None)
        .expect("a SPIRE server and agent serving foo and bar");
    let endpoint = spire.endpoint("agent");
    let socket = endpoint.strip_prefix("unix://").expect("unix:// endpoint");

    let server = Proxy::start(
        "server",
        upstream(echo),
        &strings(&["--spiffe-socket", socket, "--id", FOO, "--name", NAME]),
    );
    let client = Proxy::start(
        "client",
        server.listen,
        &strings(&[
            "--spiffe-socket",
            socket,
            "--id",
            BAR,
            "--server-id",
            FOO,
            "--server-name",
            NAME,
        ]),
    );
    for i in 0..3 {
        let msg = format!("svid round trip {i}");
        let back = round_trip(client.listen, msg.as_bytes()).expect("round trip");
        assert_eq!(back, msg.as_bytes(), "{}\n{}", server.log(), client.log());
    }
    for (proxy, me, peer) in [(&server, FOO, BAR), (&client, BAR, FOO)] {
        let status = proxy.status();
        println!("{me}: /status {status}");
        assert_eq!(status["local_id"], me, "{status}");
        assert_eq!(status["certificate"]["identities"][0], me, "{status}");
        assert_eq!(status["peers"][peer], 3, "{status}");
        let ready = proxy.get("/ready");
        println!("{me}: /ready {ready:?}");
        assert_eq!(ready, (200, "ready\n".to_string()));
    }
}

#[test]
fn spiffe_socket_and_identity_files_are_exclusive_and_one_is_needed() {
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_meshtls"))
            .args(["proxy", "server", "--listen", "127.0.0.1:0"])
            .args(["--target", "127.0.0.1:9", "--id", FOO, "--name", NAME])
            .args(extra)
            .output()
            .expect("run meshtls");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cert = proxy_support::cert("spiffe-foo-ca1.chain.pem");
    let (code, err) = run(&["--spiffe-socket", "/nonexistent.sock", "--cert", &cert]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--spiffe-socket"), "{err}");
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no identity"), "{err}");
}
