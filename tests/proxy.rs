//! `meshtls proxy`, run as a sidecar would be: both modes as child processes over loopback, with
//! plain TCP clients, `openssl s_client`, identity files swapped as Kubernetes swaps them, SIGTERM
//! during a transfer, and the status endpoint.
#![cfg(feature = "cli")]

mod proxy_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use proxy_support::*;

/// A server proxy (foo) in front of `upstream`, and a client proxy (bar) in front of it.
fn chain(upstream: SocketAddr, server_extra: &[&str]) -> (Proxy, Proxy) {
    let mut args = identity("foo-ca1", FOO);
    args.extend(server_extra.iter().map(|s| s.to_string()));
    let server = Proxy::start("server", upstream, &args);
    let mut args = identity("bar-ca1", BAR);
    args.extend([
        "--server-id".into(),
        FOO.into(),
        "--server-name".into(),
        FOO.into(),
    ]);
    let client = Proxy::start("client", server.listen, &args);
    (server, client)
}

fn count(status: &serde_json::Value, group: &str, name: &str) -> u64 {
    status[group][name]
        .as_u64()
        .unwrap_or_else(|| panic!("{group}.{name} in {status}"))
}

#[test]
fn chain_round_trips_and_the_server_sees_the_client_identity() {
    let (server, client) = chain(upstream(echo), &[]);
    for i in 0..5 {
        let msg = format!("hello {i} through two proxies");
        let back = round_trip(client.listen, msg.as_bytes()).expect("round trip");
        assert_eq!(back, msg.as_bytes(), "{}", server.log());
    }
    let status = server.status();
    assert_eq!(status["peers"][BAR], 5, "{status}");
    assert_eq!(count(&status, "connections", "accepted"), 5);
    assert_eq!(count(&status, "connections", "failed"), 0);
    assert!(server.log().contains(&format!("peer={BAR}")));
    let status = client.status();
    assert_eq!(status["peers"][FOO], 5, "{status}");
}

/// `openssl s_client` to the server proxy; true when the upstream's greeting came through.
fn s_client(listen: SocketAddr, client_cert: Option<&str>) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-quiet",
        "-ign_eof",
        "-connect",
        &listen.to_string(),
    ])
    .args(["-servername", FOO, "-CAfile", &cert("roots.pem")]);
    if let Some(name) = client_cert {
        cmd.args(["-cert", &cert(&format!("{name}.chain.pem"))])
            .args(["-key", &cert(&format!("{name}.key.pem"))]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run openssl s_client");
    String::from_utf8_lossy(&out.stdout).contains("hello from upstream")
}

#[test]
fn openssl_client_needs_an_allowed_certificate() {
    let greeter = upstream(greet);
    let open = Proxy::start("server", greeter, &identity("foo-ca1", FOO));
    assert!(
        !s_client(open.listen, None),
        "admitted without a certificate"
    );
    assert!(s_client(open.listen, Some("bar-ca1")), "{}", open.log());
    assert!(eventually(Duration::from_secs(5), || {
        count(&open.status(), "connections", "active") == 0
    }));
    let status = open.status();
    assert_eq!(count(&status, "connections", "failed"), 1, "{status}");
    assert_eq!(status["peers"][BAR], 1, "{status}");

    let mut args = identity("foo-ca1", FOO);
    args.extend([
        "--allow-id".into(),
        "baz.ns1.serviceaccount.identity.linkerd.cluster.local".into(),
    ]);
    let strict = Proxy::start("server", greeter, &args);
    assert!(
        !s_client(strict.listen, Some("bar-ca1")),
        "bar admitted by --allow-id baz"
    );
    assert!(
        eventually(Duration::from_secs(5), || strict
            .log()
            .contains("failed (handshake)")),
        "{}",
        strict.log()
    );

    let mut args = identity("foo-ca1", FOO);
    args.extend(["--allow-id".into(), BAR.into()]);
    let allowed = Proxy::start("server", greeter, &args);
    assert!(
        s_client(allowed.listen, Some("bar-ca1")),
        "{}",
        allowed.log()
    );
}

fn serial(proxy: &Proxy) -> String {
    proxy.status()["certificate"]["serial"]
        .as_str()
        .expect("serial")
        .to_string()
}

#[test]
fn rotation_through_a_data_symlink_drops_no_connection() {
    let dir = TempDir::new("rotation");
    publish(&dir.0, "2026_01", "foo-ca1.chain.pem", "foo-ca1.key.pem");
    let files = |name: &str| dir.0.join(name).to_string_lossy().into_owned();
    let args: Vec<String> = [
        "--cert",
        &files("tls.crt"),
        "--key",
        &files("tls.key"),
        "--roots",
        &cert("roots.pem"),
        "--id",
        FOO,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let server = Proxy::start("server", upstream(echo), &args);
    let mut client_args = identity("bar-ca1", BAR);
    client_args.extend([
        "--server-id".into(),
        FOO.into(),
        "--server-name".into(),
        FOO.into(),
    ]);
    let client = Proxy::start("client", server.listen, &client_args);
    let before = serial(&server);

    let mut failures = Vec::new();
    for i in 0..200 {
        if i == 50 {
            publish(&dir.0, "2026_02", "foo-ca2.chain.pem", "foo-ca2.key.pem");
        }
        let msg = format!("connection {i}");
        match round_trip(client.listen, msg.as_bytes()) {
            Ok(back) if back == msg.as_bytes() => {}
            other => failures.push((i, format!("{other:?}"))),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(failures.is_empty(), "{failures:?}\n{}", server.log());
    assert!(eventually(Duration::from_secs(5), || serial(&server) != before));
    let status = server.status();
    assert_eq!(count(&status, "reloads", "ok"), 1, "{status}");
    assert_eq!(count(&status, "reloads", "refused"), 0, "{status}");
    let rotated = serial(&server);

    // A pair whose key is not the leaf's: refused, counted, the old pair stays in force.
    publish(&dir.0, "2026_03", "foo-ca1.chain.pem", "unmatched.key.pem");
    assert!(eventually(Duration::from_secs(5), || {
        count(&server.status(), "reloads", "refused") == 1
    }));
    assert_eq!(serial(&server), rotated);
    assert_eq!(
        round_trip(client.listen, b"still").expect("after refusal"),
        b"still"
    );
    // ..data pointing nowhere: the files cannot be read; counted once, not every poll.
    let tmp = dir.0.join("..data_tmp");
    std::os::unix::fs::symlink("..2026_missing", &tmp).expect("symlink");
    std::fs::rename(&tmp, dir.0.join("..data")).expect("swap ..data");
    assert!(eventually(Duration::from_secs(5), || {
        count(&server.status(), "reloads", "refused") == 2
    }));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(count(&server.status(), "reloads", "refused"), 2);
    assert_eq!(serial(&server), rotated);
    assert_eq!(
        round_trip(client.listen, b"unreadable").expect("with unreadable files"),
        b"unreadable"
    );
}

#[test]
fn a_large_transfer_both_ways_at_once_arrives_intact_and_is_counted_by_direction() {
    // 24 MiB of varied bytes sent while the echo comes back: both directions of both proxies
    // run at once, through whole 16 KiB records and partial ones.
    const TOTAL: usize = 24 << 20;
    let (server, client) = chain(upstream(echo), &[]);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..TOTAL)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut tcp = TcpStream::connect(client.listen).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut writer = tcp.try_clone().expect("clone");
    let sent = data.clone();
    let sending = std::thread::spawn(move || {
        // Uneven writes, so records are not all the same size.
        for piece in sent.chunks(40_000 + 123) {
            writer.write_all(piece).expect("write");
        }
        writer
            .shutdown(std::net::Shutdown::Write)
            .expect("half-close");
    });
    let mut back = Vec::with_capacity(TOTAL);
    tcp.read_to_end(&mut back).expect("read the echo");
    sending.join().expect("sender");
    assert_eq!(back.len(), TOTAL, "{}", server.log());
    assert!(back == data, "the echo differs from what was sent");
    let line = format!("bytes={TOTAL}/{TOTAL}");
    for proxy in [&server, &client] {
        assert!(
            eventually(Duration::from_secs(5), || proxy.log().contains(&line)),
            "{}",
            proxy.log()
        );
    }

    // Bytes are reported from the accepted side to the target, then back: 3 MiB in, and the
    // count upstream answers with its decimal length, in both modes.
    let (server, client) = chain(upstream(proxy_support::count), &[]);
    let answer = round_trip(client.listen, &data[..3 << 20]).expect("count");
    assert_eq!(answer, (3usize << 20).to_string().as_bytes());
    let line = format!("bytes={}/{}", 3 << 20, answer.len());
    for proxy in [&server, &client] {
        assert!(
            eventually(Duration::from_secs(5), || proxy.log().contains(&line)),
            "{line} not in:\n{}",
            proxy.log()
        );
    }
}

#[test]
fn sigterm_drains_a_transfer_in_flight_and_refuses_new_connections() {
    const TOTAL: usize = 100 << 20;
    const CHUNK: usize = 1 << 20;
    let (mut server, client) = chain(upstream(proxy_support::count), &[]);
    let mut tcp = TcpStream::connect(client.listen).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let chunk = vec![0x5a; CHUNK];
    for _ in 0..10 {
        tcp.write_all(&chunk).expect("write before SIGTERM");
    }
    assert!(eventually(Duration::from_secs(10), || {
        count(&server.status(), "connections", "active") == 1
    }));
    server.sigterm();
    assert!(
        eventually(Duration::from_secs(5), || TcpStream::connect(server.listen)
            .is_err()),
        "the server proxy still accepts after SIGTERM"
    );
    assert_eq!(server.get("/ready").0, 503);
    for _ in 10..TOTAL / CHUNK {
        tcp.write_all(&chunk).expect("write after SIGTERM");
    }
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).expect("reply");
    assert_eq!(reply, TOTAL.to_string(), "{}", server.log());
    let exit = server.wait(Duration::from_secs(30));
    assert_eq!(exit.code(), Some(0), "{}", server.log());
    // The transfer was in flight at the signal (the test's probes may have been too) and every
    // connection ended before the deadline.
    assert!(
        eventually(Duration::from_secs(2), || server
            .log()
            .contains("drained\n")),
        "{}",
        server.log()
    );
    assert!(server.log().contains("draining "), "{}", server.log());
}

#[test]
fn usage_errors_exit_2_and_help_says_who_is_admitted() {
    let meshtls = || Command::new(env!("CARGO_BIN_EXE_meshtls"));
    let help = meshtls()
        .args(["proxy", "server", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(
        help.contains("every client with a verified certificate"),
        "{help}"
    );
    let run = |extra: &[&str], identity_of: &str| {
        let mut args: Vec<String> = ["proxy", "server", "--listen", "127.0.0.1:0", "--target"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push("127.0.0.1:9".into());
        args.extend(identity(identity_of, FOO));
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = meshtls().args(&args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--allow-trust-domain", "Not A Domain"], "foo-ca1");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--allow-trust-domain"), "{err}");
    // bar's certificate does not carry --id foo.
    let (code, err) = run(&[], "bar-ca1");
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["--handshake-timeout", "10 parsecs"], "foo-ca1");
    assert_eq!(code, Some(2), "{err}");
}

/// The sum of the samples of `metric` whose labels start with `labels`.
#[cfg(feature = "metrics")]
fn sample(text: &str, metric: &str, labels: &str) -> u64 {
    let prefix = format!("{metric}{{{labels}");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn status_endpoint_answers() {
    let (server, client) = chain(upstream(echo), &[]);
    for proxy in [&server, &client] {
        assert_eq!(proxy.get("/ready"), (200, "ready\n".to_string()));
        assert_eq!(proxy.get("/nothing").0, 404);
    }
    for _ in 0..3 {
        assert_eq!(round_trip(client.listen, b"x").expect("round trip"), b"x");
    }
    // A plaintext client on the server proxy: one failed handshake.
    let _ = round_trip(server.listen, b"not TLS\r\n\r\n");
    // Counted when each connection's task ends.
    assert!(eventually(Duration::from_secs(5), || {
        count(&server.status(), "connections", "active") == 0
    }));
    let status = server.status();
    assert_eq!(status["local_id"], FOO);
    assert_eq!(status["certificate"]["identities"][0], FOO, "{status}");
    assert_eq!(status["certificate"]["not_after"], "2125-01-01T00:00:00Z");
    assert_eq!(
        status["fips"]["fips_mode"],
        cfg!(feature = "fips"),
        "{status}"
    );
    assert_eq!(count(&status, "connections", "accepted"), 4);
    assert_eq!(count(&status, "connections", "failed"), 1);
    let (code, metrics) = server.get("/metrics");
    #[cfg(feature = "metrics")]
    {
        assert_eq!(code, 200);
        assert!(metrics.contains("meshtls_handshakes_total"), "{metrics}");
        assert_eq!(
            sample(&metrics, "meshtls_handshakes_total", "side=\"server\""),
            3,
            "{metrics}"
        );
        assert_eq!(
            sample(
                &metrics,
                "meshtls_handshake_failures_total",
                "side=\"server\""
            ),
            1,
            "{metrics}"
        );
        let (_, client_metrics) = client.get("/metrics");
        assert_eq!(
            sample(
                &client_metrics,
                "meshtls_handshakes_total",
                "side=\"client\""
            ),
            3
        );
    }
    #[cfg(not(feature = "metrics"))]
    {
        assert_eq!(code, 404);
        assert!(
            metrics.contains("without the `metrics` feature"),
            "{metrics}"
        );
    }
}

#[test]
fn idle_and_connection_limits() {
    let limits = ["--idle-timeout", "1s", "--max-connections", "1"];
    let (server, client) = chain(upstream(echo), &limits);
    // One connection held open (idle), the limit reached: the next one is closed by the server.
    let mut held = TcpStream::connect(client.listen).expect("connect");
    held.write_all(b"hi").unwrap();
    let mut two = [0u8; 2];
    held.read_exact(&mut two).expect("echo");
    assert_eq!(
        round_trip(client.listen, b"second").unwrap_or_default(),
        b""
    );
    assert!(eventually(Duration::from_secs(5), || server
        .log()
        .contains("--max-connections reached")));
    // Idle for over a second: the server proxy closes it, and the limit frees up.
    held.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    assert_eq!(
        held.read_to_end(&mut rest).expect("closed by the proxies"),
        0
    );
    assert!(
        eventually(Duration::from_secs(5), || server
            .log()
            .contains("idle timeout")),
        "{}",
        server.log()
    );
    // The server proxy frees the slot as its task ends, just after it closes.
    assert!(eventually(Duration::from_secs(5), || {
        round_trip(client.listen, b"third").is_ok_and(|back| back == b"third")
    }));
}

/// The first line of `log` holding every one of `parts`.
fn line_with<'a>(log: &'a str, parts: &[&str]) -> Option<&'a str> {
    log.lines().find(|l| parts.iter().all(|p| l.contains(p)))
}

#[test]
fn handshake_events_are_logged_at_the_chosen_level() {
    let (server, client) = chain(upstream(echo), &["--log-level", "debug"]);
    assert_eq!(
        round_trip(client.listen, b"logged").expect("round trip"),
        b"logged"
    );
    let ok = ["meshtls::handshake", "result=ok", "side=server"];
    assert!(
        eventually(Duration::from_secs(5), || line_with(&server.log(), &ok)
            .is_some()),
        "{}",
        server.log()
    );
    let log = server.log();
    let line = line_with(&log, &ok).unwrap();
    println!("debug line: {line}");
    assert!(line.contains(" DEBUG "), "{line}");
    assert!(line.contains(&format!("peer={BAR}")), "{line}");
    let suite = line
        .split(' ')
        .find_map(|f| f.strip_prefix("suite="))
        .unwrap_or_else(|| panic!("no suite in {line}"));
    assert!(
        suite.starts_with("TLS13_") || suite.starts_with("TLS_"),
        "{line}"
    );
    // The client proxy logs at the default level (info): no line for its successful handshake.
    assert!(
        !client.log().contains("meshtls::handshake"),
        "{}",
        client.log()
    );

    // Default level, bar refused by the policy: one warn line with the reason.
    let refusing = Proxy::start("server", upstream(echo), &{
        let mut args = identity("foo-ca1", FOO);
        args.extend(["--allow-id".into(), FOO.into()]);
        args
    });
    let mut args = identity("bar-ca1", BAR);
    args.extend([
        "--server-id".into(),
        FOO.into(),
        "--server-name".into(),
        FOO.into(),
    ]);
    let refused = Proxy::start("client", refusing.listen, &args);
    let _ = round_trip(refused.listen, b"refused");
    let warn = ["meshtls::handshake", " WARN ", "result=failed", "reason="];
    assert!(
        eventually(Duration::from_secs(5), || line_with(&refusing.log(), &warn)
            .is_some()),
        "{}",
        refusing.log()
    );
    let log = refusing.log();
    println!("warn line: {}", line_with(&log, &warn).unwrap());
    assert!(line_with(&log, &["result=ok"]).is_none(), "{log}");
}

#[test]
fn curl_through_both_proxies_to_an_http_server() {
    let dir = TempDir::new("http");
    let body = "served through two meshtls proxies\n";
    std::fs::write(dir.0.join("hello.txt"), body).expect("write hello.txt");
    let http = HttpServer::start(&dir.0);
    let (server, client) = chain(http.addr, &[]);
    let out = Command::new("/usr/bin/curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(["--write-out", "\n%{http_code}"])
        .arg(format!("http://{}/hello.txt", client.listen))
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let (got, code) = stdout.rsplit_once('\n').expect("status code line");
    assert_eq!(code, "200", "{stdout}");
    assert_eq!(got, body, "{stdout}");
    assert_eq!(server.status()["peers"][BAR], 1);
}

#[test]
fn a_certificate_near_expiry_makes_the_proxy_unready_but_it_still_serves() {
    let dir = TempDir::new("short-lived");
    let (chain_pem, key_pem) = short_lived_leaf(&dir.0, FOO, Duration::from_secs(120));
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let args: Vec<String> = vec![
        "--cert".into(),
        path(&chain_pem),
        "--key".into(),
        path(&key_pem),
        "--roots".into(),
        cert("roots.pem"),
        "--id".into(),
        FOO.into(),
        "--ready-margin".into(),
        "5m".into(),
    ];
    let server = Proxy::start("server", upstream(echo), &args);
    let (code, body) = server.get("/ready");
    println!("/ready answered {code}: {body}");
    assert_eq!(code, 503, "{body}");
    let not_after = server.status()["certificate"]["not_after"]
        .as_str()
        .expect("not_after")
        .to_string();
    let expected =
        format!("not ready: the certificate expires at {not_after}, within the margin of 300s\n");
    assert_eq!(body, expected);

    let mut client_args = identity("bar-ca1", BAR);
    client_args.extend([
        "--server-id".into(),
        FOO.into(),
        "--server-name".into(),
        FOO.into(),
    ]);
    let client = Proxy::start("client", server.listen, &client_args);
    assert_eq!(client.get("/ready").0, 200);
    for i in 0..3 {
        let msg = format!("near expiry {i}");
        let back = round_trip(client.listen, msg.as_bytes()).expect("round trip");
        assert_eq!(back, msg.as_bytes(), "{}", server.log());
    }
}

#[test]
fn groups_and_suites_flags_restrict_what_both_proxies_negotiate() {
    let restrict = [
        "--groups",
        "secp256r1",
        "--suites",
        "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
    ];
    let mut args = identity("foo-ca1", FOO);
    args.extend(["--log-level", "debug"].iter().map(|s| s.to_string()));
    args.extend(restrict.iter().map(|s| s.to_string()));
    let server = Proxy::start("server", upstream(echo), &args);
    let mut args = identity("bar-ca1", BAR);
    args.extend(["--server-id", FOO, "--server-name", FOO].map(String::from));
    args.extend(restrict.iter().map(|s| s.to_string()));
    let client = Proxy::start("client", server.listen, &args);
    assert_eq!(
        round_trip(client.listen, b"p256").expect("round trip"),
        b"p256"
    );
    let ok = ["meshtls::handshake", "result=ok", "side=server"];
    assert!(
        eventually(Duration::from_secs(5), || line_with(&server.log(), &ok)
            .is_some()),
        "{}",
        server.log()
    );
    let log = server.log();
    let line = line_with(&log, &ok).unwrap();
    assert!(line.contains("group=secp256r1"), "{line}");
    assert!(line.contains("suite=TLS_AES_128_GCM_SHA256"), "{line}");

    // An unknown or unavailable group, or an empty list, is a usage error.
    let x25519_refused = cfg!(feature = "fips");
    for (groups, refused) in [("nope", true), ("", true), ("x25519", x25519_refused)] {
        if !refused {
            continue;
        }
        let mut args: Vec<String> = ["proxy", "server", "--listen", "127.0.0.1:0", "--target"]
            .map(String::from)
            .to_vec();
        args.push("127.0.0.1:9".into());
        args.extend(identity("foo-ca1", FOO));
        args.extend(["--groups".into(), groups.into()]);
        let out = Command::new(env!("CARGO_BIN_EXE_meshtls"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--groups {groups:?}: {err}");
        assert!(err.contains("--groups"), "{err}");
    }
}
