//! The `meshtls` CLI's inputs and output: every file it reads must be a regular file of at most
//! 16 MiB (a device or a FIFO is refused before it is opened, so nothing blocks or grows), `--alpn`
//! values are 1 to 255 bytes, and a closed stdout is a normal end, not a panic.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs meshtls with `args`, killing it if it takes longer than `limit` (then panics: it hung).
fn bounded(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshtls"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run meshtls");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "meshtls {args:?} still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshtls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts exit 2 with `want` in stderr and a "what to do" line; also in `--json` form.
fn refused(args: &[&str], want: &str) {
    let out = bounded(args, Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    assert!(err.contains("what to do:"), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn devices_fifos_directories_and_huge_files_are_refused_with_exit_2() {
    let dir = temp_dir("inputs");
    let fifo = dir.join("chain.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let fifo = fifo.to_str().unwrap().to_string();
    // Sparse: 17 MiB long, no disk used.
    let huge = dir.join("huge.pem");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let huge = huge.to_str().unwrap().to_string();
    let dir_s = dir.to_str().unwrap().to_string();
    let good = "certs/foo-ca1.chain.pem";

    let not_regular = "not a regular file";
    for (args, want) in [
        (vec!["check-cert", "/dev/zero"], not_regular),
        (vec!["check-cert", &fifo], not_regular),
        (vec!["check-cert", &dir_s], "directory"),
        (vec!["check-cert", &huge], "larger than 16 MiB"),
        (vec!["check-cert", good, "--key", "/dev/zero"], not_regular),
        (vec!["check-cert", good, "--key", &fifo], not_regular),
        (
            vec!["check-cert", good, "--roots", "/dev/zero"],
            not_regular,
        ),
        (vec!["check-cert", good, "--roots", &fifo], not_regular),
        (
            vec!["check-cert", good, "--roots", &huge],
            "larger than 16 MiB",
        ),
        (
            vec!["probe", "127.0.0.1:1", "--roots", "/dev/zero"],
            not_regular,
        ),
        (vec!["probe", "127.0.0.1:1", "--roots", &fifo], not_regular),
        (
            vec!["probe", "127.0.0.1:1", "--cert", "/dev/zero", "--key", good],
            not_regular,
        ),
        (
            vec!["probe", "127.0.0.1:1", "--cert", good, "--key", &fifo],
            not_regular,
        ),
    ] {
        refused(&args, want);
        let mut json = vec!["--json"];
        json.extend_from_slice(&args);
        let out = bounded(&json, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{json:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ok"], false);
        assert!(v["error"].as_str().unwrap().contains(want), "{v:#}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn alpn_values_must_be_1_to_255_bytes() {
    let long = "a".repeat(300);
    let just = "a".repeat(256);
    for bad in ["", just.as_str(), long.as_str()] {
        refused(
            &[
                "probe",
                "127.0.0.1:1",
                "--sni",
                "x.test",
                "--alpn",
                "h2",
                "--alpn",
                bad,
            ],
            "--alpn",
        );
    }
    // 1 and 255 bytes pass the check: the probe gets as far as connecting (nobody listens on 1).
    let max = "a".repeat(255);
    for ok in ["h", max.as_str()] {
        let out = bounded(
            &["probe", "127.0.0.1:1", "--sni", "x.test", "--alpn", ok],
            Duration::from_secs(20),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("cannot connect"), "{err}");
    }
}

/// `meshtls status | (reader already gone)`: the write fails with EPIPE. The report is cut short,
/// but the process ends normally with the verdict's exit code (0 or 1), not a panic (101).
#[test]
fn a_closed_stdout_is_a_normal_end() {
    let dir = temp_dir("pipe");
    let rc_file = dir.join("rc");
    let err_file = dir.join("err");
    for json in [false, true] {
        // `true` exits at once, closing the pipe's read end; meshtls starts writing after that.
        let script = r#"{ sleep 0.3; "$0" $3 status 2>"$1"; echo $? >"$2"; } | true"#;
        let status = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_meshtls"))
            .arg(&err_file)
            .arg(&rc_file)
            .arg(if json { "--json" } else { "" })
            .status()
            .expect("sh");
        assert!(status.success());
        let rc: i32 = std::fs::read_to_string(&rc_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let err = std::fs::read_to_string(&err_file).unwrap();
        assert!(rc == 0 || rc == 1, "json={json}: exit {rc}: {err}");
        assert!(!err.contains("panicked"), "json={json}: {err}");
    }

    // And `status | head -1` as a user types it.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" status | head -1"#)
        .arg(env!("CARGO_BIN_EXE_meshtls"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("build:"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let _ = std::fs::remove_dir_all(&dir);
}
