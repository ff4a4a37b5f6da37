//! The `meshtls` binary, run as a user would: every subcommand, in human and JSON form, with the
//! exit codes 0 (ok), 1 (finding) and 2 (usage or I/O error), on certs/ fixtures and live servers.
#![cfg(feature = "cli")]

mod common;
mod mesh_support;

use std::process::{Command, Output};

use mesh_support::*;
use serde_json::Value;

fn meshtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshtls"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run meshtls")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs with `--json` and parses stdout.
fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = meshtls(&all);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)));
    (code(&out), v)
}

fn cert(file: &str) -> String {
    format!("certs/{file}")
}

#[test]
fn status_reports_the_build_and_every_algorithm() {
    let (rc, v) = json(&["status"]);
    let provider = meshtls::provider();
    let names = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect()
    };
    // The provider's lists, named by the policy table (never by Debug text).
    let suites: Vec<String> = provider
        .cipher_suites
        .iter()
        .map(|s| meshtls::policy::suite(s.suite()).unwrap().name.to_string())
        .collect();
    let groups: Vec<String> = provider
        .kx_groups
        .iter()
        .map(|g| meshtls::policy::group(g.name()).unwrap().name.to_string())
        .collect();
    // Every row of the table, with its wire id in hex.
    let rows = v["algorithms"].as_array().unwrap();
    assert_eq!(rows.len(), meshtls::policy::table().len());
    for (row, want) in rows.iter().zip(meshtls::policy::table()) {
        assert_eq!(row["name"], want.name);
        assert_eq!(row["kind"], want.kind.to_string());
        assert_eq!(row["in_build"], want.in_build());
        assert_eq!(row["offered"], want.offered());
        assert_eq!(
            row["wire"],
            serde_json::json!(want.wire.map(|w| format!("0x{w:04x}")))
        );
        let text = want.approval.text();
        assert!(row["basis"] == text || row["reason"] == text, "{row:#}");
    }
    assert_eq!(names("suites"), suites);
    assert_eq!(names("groups"), groups);
    assert!(!names("signature_schemes").is_empty());
    assert!(names("versions").contains(&"TLSv1.3".to_string()));
    assert!(v["entropy"].as_str().unwrap().contains("CTR_DRBG"));

    let approved: Vec<bool> = ["suites", "groups", "signature_schemes", "versions"]
        .iter()
        .flat_map(|k| {
            v[*k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["approved"].as_bool().unwrap())
        })
        .collect();
    if cfg!(all(feature = "fips", feature = "non-fips")) {
        // `--features fips` on top of the defaults links aws-lc-sys too: never certified.
        assert_eq!(
            v["crypto_libraries"],
            serde_json::json!(["aws-lc-fips-sys", "aws-lc-sys"])
        );
        assert_eq!(v["validation"]["claim"], "unvalidated", "{v:#}");
        assert_eq!(v["validation"]["certificate"], Value::Null);
        let findings = v["findings"].as_array().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f.as_str().unwrap().contains("two crypto libraries")),
            "{v:#}"
        );
        assert_eq!(rc, 1, "two crypto libraries are a finding");
    } else if cfg!(feature = "fips") {
        assert_eq!(
            v["crypto_libraries"],
            serde_json::json!(["aws-lc-fips-sys"])
        );
        assert_eq!(v["build"], "fips");
        assert_eq!(v["fips_mode"], true);
        assert_eq!(v["module"], "AWS-LC-FIPS");
        assert_eq!(v["module_major"], 3);
        assert_eq!(v["validation"]["claim"], "certified");
        assert_eq!(v["validation"]["certificate"], "#5314");
        assert!(
            approved.iter().all(|a| *a),
            "everything offered is approved"
        );
        assert_eq!(v["findings"], serde_json::json!([]));
        assert_eq!(rc, 0);
    } else {
        assert_eq!(v["build"], "default");
        assert_eq!(v["crypto_libraries"], serde_json::json!(["aws-lc-sys"]));
        assert_eq!(v["fips_mode"], false);
        assert_eq!(v["validation"]["claim"], "unvalidated");
        assert!(
            approved.iter().all(|a| !*a),
            "nothing is approved off the FIPS module"
        );
        assert_eq!(v["findings"].as_array().unwrap().len(), 1);
        assert_eq!(rc, 1, "an unvalidated build is a finding");
    }

    // The human form says the same.
    let out = meshtls(&["status"]);
    assert_eq!(code(&out), rc);
    let text = stdout(&out);
    assert!(text.contains("validation:"));
    assert!(text.contains("TLS_AES_256_GCM_SHA384"));
    assert!(text.contains("0x1302"), "wire ids in hex");
    // Every build lists the ChaCha20 rows; only the default build offers them.
    let chacha = text
        .lines()
        .find(|l| l.contains("TLS_CHACHA20_POLY1305_SHA256"))
        .unwrap();
    assert_eq!(
        chacha.contains(" offered "),
        cfg!(not(feature = "fips")),
        "{chacha}"
    );
}

#[test]
fn self_test_reports_every_kat_with_its_time() {
    let (rc, v) = json(&["self-test"]);
    assert_eq!(rc, 0, "{v:#}");
    let names: Vec<&str> = v["kats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert_eq!(k["passed"], true);
            assert!(k["micros"].is_u64());
            k["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(names, meshtls::fips::SelfTestReport::KATS);
    assert_eq!(
        v["build"],
        if cfg!(feature = "fips") {
            "fips"
        } else {
            "default"
        }
    );

    let out = meshtls(&["self-test"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for name in meshtls::fips::SelfTestReport::KATS {
        assert!(text.contains(&format!("pass  {name}")), "{text}");
    }
}

#[test]
fn check_cert_accepts_good_chains() {
    for (name, id) in [
        ("foo-ca1", FOO),
        ("foo-int1", FOO),
        ("spiffe-foo-ca1", FOO_SPIFFE),
        (
            "p384-ca1",
            "p384.ns1.serviceaccount.identity.linkerd.cluster.local",
        ),
        (
            "rsa2048-ca1",
            "rsa2048.ns1.serviceaccount.identity.linkerd.cluster.local",
        ),
        (
            "ed25519-ca1",
            "ed25519.ns1.serviceaccount.identity.linkerd.cluster.local",
        ),
    ] {
        let chain = cert(&format!("{name}.chain.pem"));
        let key = cert(&format!("{name}.key.pem"));
        let args = [
            "check-cert",
            &chain,
            "--key",
            &key,
            "--roots",
            "certs/roots.pem",
            "--id",
            id,
        ];
        let (rc, v) = json(&args);
        assert_eq!(rc, 0, "{name}: {v:#}");
        assert_eq!(v["ok"], true);
        assert_eq!(v["identities"][0], id, "{name}");
        let days = v["certificates"][0]["days_left"].as_i64().unwrap();
        assert!(days > 365 * 50, "{name}: valid for decades");
    }
    let out = meshtls(&["check-cert", "certs/foo-int1.chain.pem"]);
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains("chain[1]:"),
        "the intermediate is judged too"
    );
}

#[test]
fn check_cert_findings() {
    let cases: &[(&[&str], &str)] = &[
        (&["certs/rsa1024-ca1.chain.pem"], "1024 bits"),
        (
            &["certs/sha1-ca1.chain.pem"],
            "signatures are not verified by this build",
        ),
        (&["certs/expired-ca1.chain.pem"], "expired"),
        (&["certs/notyet-ca1.chain.pem"], "not valid until"),
        (&["certs/nosan-ca1.chain.pem"], "no DNS or URI SAN"),
        (
            &[
                "certs/foo-ca1.chain.pem",
                "--key",
                "certs/unmatched.key.pem",
            ],
            "does not match",
        ),
        (
            &[
                "certs/foo-ca1.chain.pem",
                "--key",
                "certs/rsa1024-ca1.key.pem",
            ],
            "policy",
        ),
        (&["certs/foo-ca1.chain.pem", "--id", BAR], "not for"),
        (
            &["certs/foo-ca2.chain.pem", "--roots", "certs/ca1.crt.pem"],
            "does not verify",
        ),
        (
            &["certs/foo-int1.crt.pem", "--roots", "certs/roots.pem"],
            "does not verify",
        ),
        (
            &["certs/expired-ca1.chain.pem", "--roots", "certs/roots.pem"],
            "does not verify",
        ),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["check-cert"];
        args.extend_from_slice(extra);
        let out = meshtls(&args);
        assert_eq!(code(&out), 1, "{extra:?}: {}", stdout(&out));
        assert!(stdout(&out).contains("FINDING"), "{extra:?}");
        assert!(
            stdout(&out).contains(expect),
            "{extra:?}: want {expect:?} in {}",
            stdout(&out)
        );
        let (rc, v) = json(&args);
        assert_eq!(rc, 1);
        assert_eq!(v["ok"], false);
        assert!(!v["findings"].as_array().unwrap().is_empty());
    }
}

#[test]
fn check_cert_bad_input_is_exit_2_with_advice() {
    let empty = std::env::temp_dir().join(format!("meshtls-empty-{}.pem", std::process::id()));
    std::fs::write(&empty, b"").unwrap();
    let empty = empty.to_str().unwrap().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["check-cert", "certs/missing.pem"],
        vec!["check-cert", "README.md"],
        vec!["check-cert", &empty],
        vec![
            "check-cert",
            "certs/foo-ca1.chain.pem",
            "--key",
            "README.md",
        ],
        vec![
            "check-cert",
            "certs/foo-ca1.chain.pem",
            "--key",
            "certs/missing.pem",
        ],
        vec!["check-cert", "certs/foo-ca1.chain.pem", "--roots", &empty],
        vec![
            "check-cert",
            "certs/foo-ca1.chain.pem",
            "--id",
            "not a name",
        ],
        vec!["check-cert"],
        vec!["no-such-command"],
    ];
    for args in cases {
        let out = meshtls(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?}: says why");
        if args.len() > 1 && args[0] == "check-cert" {
            assert!(
                stderr(&out).contains("what to do:"),
                "{args:?}: {}",
                stderr(&out)
            );
            let (rc, v) = json(&args);
            assert_eq!(rc, 2);
            assert_eq!(v["ok"], false);
            assert!(v["todo"].as_str().is_some_and(|t| !t.is_empty()));
        }
    }
}

#[test]
fn demo_does_mutual_tls_between_two_identities() {
    let out = meshtls(&["demo"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(FOO) && text.contains(BAR));
    assert!(text.contains("hello from bar") && text.contains("hello from foo"));

    let (rc, v) = json(&["demo"]);
    assert_eq!(rc, 0);
    assert_eq!(v["server_identity"], FOO);
    assert_eq!(v["client_identity"], BAR);
    assert_eq!(v["version"], "TLSv1.3");
    assert_eq!(v["suite"], "TLS_AES_256_GCM_SHA384");
    assert_eq!(v["alpn"], "transport.l5d.io/v1");
    assert_eq!(v["fips_mode"], cfg!(feature = "fips"));
    let group = if cfg!(feature = "fips") {
        "SecP256r1MLKEM768"
    } else {
        "X25519MLKEM768"
    };
    assert_eq!(v["group"], group);

    let out = meshtls(&["demo", "--certs", "/nonexistent"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("what to do"));
}

/// A mesh server (foo, requiring nothing of clients) on loopback, in its own runtime thread.
fn live_server() -> (
    std::net::SocketAddr,
    std::sync::mpsc::Receiver<Option<String>>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                if let Ok((_, io)) = foo.server().accept(tcp).await {
                    let _ = tx.send(io.client_id().map(|c| c.to_string()));
                }
            }
        });
    });
    (addr_rx.recv().unwrap(), rx)
}

#[test]
fn probe_reports_what_was_negotiated() {
    let (addr, seen) = live_server();
    let addr = addr.to_string();
    let args = [
        "probe",
        &addr,
        "--sni",
        FOO,
        "--roots",
        "certs/roots.pem",
        "--id",
        FOO,
        "--cert",
        "certs/bar-ca1.chain.pem",
        "--key",
        "certs/bar-ca1.key.pem",
    ];
    let (rc, v) = json(&args);
    assert_eq!(v["handshake"], "ok", "{v:#}");
    assert_eq!(v["version"], "TLSv1.3");
    assert_eq!(v["suite"], "TLS_AES_256_GCM_SHA384");
    assert_eq!(v["signature_scheme"], "ecdsa_secp256r1_sha256");
    assert_eq!(v["peer_certificates"][0]["key"], "ECDSA P-256");
    assert_eq!(v["chain_verified"], true);
    assert_eq!(v["peer_identities"][0], FOO);
    assert!(v["peer_days_left"].as_i64().unwrap() > 365 * 50);
    assert_eq!(
        seen.recv().unwrap().as_deref(),
        Some(BAR),
        "the server saw our client cert"
    );
    if cfg!(feature = "fips") {
        assert_eq!(v["group"], "SecP256r1MLKEM768");
        for key in ["version", "suite", "group", "signature_scheme"] {
            assert_eq!(v[format!("{key}_approved")], true, "{key}: {v:#}");
        }
        assert_eq!(rc, 0, "{v:#}");
    } else {
        assert_eq!(v["group"], "X25519MLKEM768");
        assert_eq!(v["group_approved"], false);
        assert_eq!(rc, 1, "nothing is approved off the FIPS module");
    }

    // The wrong identity is a finding, whatever the build.
    let (rc, v) = json(&[
        "probe",
        &addr,
        "--sni",
        FOO,
        "--roots",
        "certs/roots.pem",
        "--id",
        BAR,
    ]);
    assert_eq!(rc, 1);
    assert!(
        v["identity"].as_str().unwrap().starts_with("REFUSED"),
        "{v:#}"
    );
    // An untrusted server is a finding reported with the handshake error.
    let (rc, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/ca2.crt.pem"]);
    assert_eq!(rc, 1);
    assert!(
        v["handshake"].as_str().unwrap().contains("unknown issuer"),
        "{v:#}"
    );
}

#[test]
fn probe_io_errors_are_exit_2() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = meshtls(&["probe", &closed.to_string(), "--sni", FOO]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));

    // A server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = meshtls(&["probe", &addr, "--sni", FOO, "--timeout", "1"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("within 1s"), "{}", stderr(&out));
    drop(silent);

    for args in [
        vec!["probe"],
        vec!["probe", "no-port"],
        vec!["probe", "127.0.0.1:1", "--cert", "certs/bar-ca1.chain.pem"],
        vec!["probe", "127.0.0.1:1", "--roots", "README.md"],
    ] {
        let out = meshtls(&args);
        assert_eq!(code(&out), 2, "{args:?}");
    }
}

#[test]
fn probe_of_a_chacha20_only_openssl_server_is_a_finding() {
    use common::peer::{chain_arg, free_port, key_arg, peer_version, Peer};
    let install = "Debian: apt-get install -y openssl";
    peer_version("openssl", &["version"], install);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut peer = Peer::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-tls1_3", "-naccept", "2", "-brief"])
            .args(["-accept", &addr.to_string()])
            .args(["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"])
            .args(["-cert", &chain_arg("foo-ca1"), "-key", &key_arg("foo-ca1")]),
        install,
    );
    drop(peer.connect(addr)); // waits until it listens; the probe is its second connection
    let addr = addr.to_string();
    let (rc, v) = json(&["probe", &addr, "--sni", FOO, "--roots", "certs/roots.pem"]);
    assert_eq!(rc, 1, "{v:#}");
    if cfg!(feature = "fips") {
        // Nothing in common: the handshake fails, reported as a finding with rustls's error.
        let handshake = v["handshake"].as_str().unwrap();
        assert!(handshake.starts_with("FAILED"), "{v:#}");
        assert!(handshake.contains("handshake_failure"), "{v:#}");
        assert_eq!(v["failure"], "no_common_algorithm", "{v:#}");
    } else {
        assert_eq!(v["handshake"], "ok", "{v:#}");
        assert_eq!(v["suite"], "TLS_CHACHA20_POLY1305_SHA256");
        assert_eq!(v["suite_approved"], false);
    }
    drop(peer);
}
