//! Reads the locked versions of `rustls` and `aws-lc-rs` from this package's Cargo.lock and hands
//! them to the program as `PEER_RUSTLS_VERSION` / `PEER_AWS_LC_RS_VERSION`, so that
//! `rustls-peer version` always reports what was actually built (nothing is hard-coded).

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_string());
    let lock_path = Path::new(&dir).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=build.rs");

    let lock = fs::read_to_string(&lock_path).unwrap_or_else(|e| {
        println!("cargo:warning=cannot read {}: {e}", lock_path.display());
        String::new()
    });

    for (krate, var) in [
        ("rustls", "PEER_RUSTLS_VERSION"),
        ("aws-lc-rs", "PEER_AWS_LC_RS_VERSION"),
    ] {
        let versions = locked_versions(&lock, krate);
        let value = if versions.is_empty() {
            println!("cargo:warning={krate} not found in Cargo.lock");
            "unknown".to_string()
        } else {
            versions.join(",")
        };
        println!("cargo:rustc-env={var}={value}");
    }
}

/// All versions of `krate` listed in a Cargo.lock (normally exactly one).
fn locked_versions(lock: &str, krate: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut version = None;
        for line in block.lines() {
            let line = line.trim();
            if let Some(v) = toml_string_value(line, "name") {
                name = Some(v);
            } else if let Some(v) = toml_string_value(line, "version") {
                version = Some(v);
            }
        }
        if let (Some(n), Some(v)) = (name, version) {
            if n == krate {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// Parses a line of the form `key = "value"`.
fn toml_string_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    rest.strip_prefix('"')?.strip_suffix('"')
}
