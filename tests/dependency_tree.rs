//! The regulated build (`--no-default-features --features fips`, with any combination of the optional
//! `cli`, `tls12`, `spiffe`, `metrics` and `hyper` features) links exactly one crypto library:
//! `cargo tree -e normal` holds aws-lc-fips-sys and none of ring, aws-lc-sys, openssl-sys, boring-sys,
//! rustls-pemfile or a RustCrypto primitive crate. This is the command FIPS.md tells an auditor to run; here it is a test.

use std::process::Command;

fn normal_tree(features: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(features)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

const FORBIDDEN: [&str; 16] = [
    "ring",
    "aws-lc-sys",
    "openssl-sys",
    "boring-sys",
    "rustls-pemfile",
    "sha1",
    "sha2",
    "hmac",
    "aes",
    "aes-gcm",
    "chacha20poly1305",
    "p256",
    "p384",
    "rsa",
    "ed25519-dalek",
    "x25519-dalek",
];

/// The optional features a user may add to the regulated build.
const OPTIONAL: [&str; 5] = ["cli", "tls12", "spiffe", "metrics", "hyper"];

/// Every combination of [`OPTIONAL`] (the empty one first), each as `,a,b...`.
fn combinations() -> Vec<String> {
    (0..1u32 << OPTIONAL.len())
        .map(|mask| {
            OPTIONAL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, f)| format!(",{f}"))
                .collect()
        })
        .collect()
}

/// The regulated build, and the regulated build plus every combination of the optional features a
/// user may add ([`OPTIONAL`]): one crypto library each time.
#[test]
fn regulated_build_links_one_crypto_library() {
    let all = combinations();
    assert_eq!(all.len(), 32);
    for extra in &all {
        let features = format!("fips{extra}");
        let names = normal_tree(&["--no-default-features", "--features", &features]);
        println!("regulated build ({features}): {}", names.join(" "));
        assert!(
            names.iter().any(|n| n == "aws-lc-fips-sys"),
            "{features}: no aws-lc-fips-sys in {names:?}"
        );
        for bad in FORBIDDEN {
            assert!(
                !names.iter().any(|n| n == bad),
                "{bad} in the regulated build ({features})"
            );
        }
        // The metrics' library only with the feature that asks for it.
        let prometheus = names.iter().any(|n| n == "prometheus-client");
        assert_eq!(prometheus, extra.contains("metrics"), "{features}");
    }
}

#[test]
fn default_build_links_only_aws_lc() {
    let names = normal_tree(&[]);
    assert!(names.iter().any(|n| n == "aws-lc-sys"));
    for bad in [
        "ring",
        "aws-lc-fips-sys",
        "openssl-sys",
        "boring-sys",
        "rustls-pemfile",
        "prometheus-client",
    ] {
        assert!(
            !names.iter().any(|n| n == bad),
            "{bad} in the default build"
        );
    }
    // One copy of the module crate: ours and aws-lc-rs' must resolve to the same aws-lc-sys.
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree", "--locked", "-e", "normal", "-d", "--prefix", "none", "--format", "{p}",
        ])
        .output()
        .unwrap();
    let dups = String::from_utf8_lossy(&out.stdout);
    assert!(!dups.contains("aws-lc"), "duplicate aws-lc crates:\n{dups}");
}
