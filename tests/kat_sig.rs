//! Known answers for signature verification, through the provider's verification algorithms
//! (`provider().signature_verification_algorithms`, the `&dyn SignatureVerificationAlgorithm`s
//! rustls-webpki calls). Each key is given as an SPKI (built from CAVP's raw key, or Wycheproof's
//! `publicKeyDer`) and handed to rustls-webpki, which parses it, checks that the verifier's
//! public-key algorithm matches, and calls the verifier with the key bits: the route a
//! certificate's or raw public key's signature takes. Valid must verify, invalid must not.

mod kat;

use kat::{de_hex, lines_starting, ran, records, text, verify_spki, Expect};
use serde::Deserialize;

/// The verifier for a CAVP `[P-256,SHA-384]`-style section.
fn ecdsa_verifier(section: &str) -> (&'static str, &'static str) {
    match section {
        "P-256,SHA-256" => ("P-256", "ecdsa-p256-sha256"),
        "P-256,SHA-384" => ("P-256", "ecdsa-p256-sha384"),
        "P-384,SHA-256" => ("P-384", "ecdsa-p384-sha256"),
        "P-384,SHA-384" => ("P-384", "ecdsa-p384-sha384"),
        other => panic!("section {other}"),
    }
}

/// CAVP ECDSA (FIPS 186-3) SigVer (`Result` P/F) and SigGen (every record valid); (R, S) DER-encoded
/// as TLS and X.509 carry them.
#[test]
fn ecdsa_cavp() {
    for (file, marker) in [
        ("SigVer_186-3_P256_P384.rsp", "Result ="),
        ("SigGen_186-3_P256_P384.rsp", "Msg ="),
    ] {
        let body = text(&format!("cavp/ecdsa/{file}"));
        let (mut n, mut invalid) = (0, 0);
        for r in records(&body) {
            let (curve, name) = ecdsa_verifier(r.param(""));
            let spki = kat::ec_spki(curve, &r.bytes("Qx"), &r.bytes("Qy"));
            let sig = kat::ecdsa_der(&r.bytes("R"), &r.bytes("S"));
            let valid = r
                .fields
                .get("Result")
                .map_or(true, |res| res.starts_with('P'));
            let ok = verify_spki(kat::verifier(name), &spki, &r.bytes("Msg"), &sig);
            assert_eq!(ok, valid, "{file} {name} {:?}", r.fields.get("Result"));
            invalid += usize::from(!valid);
            n += 1;
        }
        println!("cavp {file}: {invalid} invalid signatures rejected");
        ran(&format!("cavp {file}"), n, lines_starting(&body, marker));
    }
}

/// CAVP RSA PKCS#1 v1.5 SigVer (FIPS 186-3), 2048/3072/4096 bits with SHA-256/384/512. The modulus
/// comes in its own `n = ` block before the records that use it; `e` is zero-padded.
#[test]
fn rsa_pkcs1_cavp() {
    let file = "SigVer15_186-3_2048-4096_sha256-512.rsp";
    let body = text(&format!("cavp/rsa/{file}"));
    let (mut n, mut invalid) = (0, 0);
    let mut modulus = Vec::new();
    for r in records(&body) {
        if r.fields.len() == 1 {
            modulus = r.bytes("n");
            continue;
        }
        assert_eq!(modulus.len() * 8, r.param("mod").parse::<usize>().unwrap());
        let name = match r.get("SHAAlg") {
            "SHA256" => "rsa-pkcs1-sha256",
            "SHA384" => "rsa-pkcs1-sha384",
            "SHA512" => "rsa-pkcs1-sha512",
            other => panic!("{other}"),
        };
        let spki = kat::rsa_spki(&modulus, &r.bytes("e"));
        let valid = r.get("Result").starts_with('P');
        let ok = verify_spki(kat::verifier(name), &spki, &r.bytes("Msg"), &r.bytes("S"));
        assert_eq!(ok, valid, "{name} {}", r.get("Result"));
        invalid += usize::from(!valid);
        n += 1;
    }
    println!("cavp {file}: {invalid} invalid signatures rejected");
    ran(
        &format!("cavp {file}"),
        n,
        lines_starting(&body, "Result ="),
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigGroup {
    #[serde(deserialize_with = "de_hex")]
    public_key_der: Vec<u8>,
    #[serde(default)]
    sha: String,
    #[serde(default)]
    mgf_sha: Option<String>,
    #[serde(default)]
    s_len: Option<usize>,
    tests: Vec<SigCase>,
}

#[derive(Deserialize)]
struct SigCase {
    #[serde(rename = "tcId")]
    id: u32,
    #[serde(deserialize_with = "de_hex")]
    msg: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    sig: Vec<u8>,
    result: Expect,
    flags: Vec<String>,
}

/// Runs Wycheproof signature file `file` with verifier `name`; `acceptable` cases must verify as
/// `acceptable_verifies` says. Returns nothing; prints and asserts the count.
fn wycheproof_sig(file: &str, name: &str, hash: &str, acceptable_verifies: bool) {
    let f = kat::wycheproof::<SigGroup>(file);
    let verifier = kat::verifier(name);
    let (mut n, mut invalid, mut acceptable) = (0, 0, 0);
    for g in &f.test_groups {
        assert_eq!(g.sha, hash, "{file}");
        if let Some(mgf) = &g.mgf_sha {
            // RSA-PSS in TLS: MGF1 with the same hash, salt as long as the hash.
            assert_eq!(mgf, hash, "{file}");
            let hash_len = kat::hash_named(hash).map_or(64, |h| kat::hash(h).output_len());
            assert_eq!(g.s_len, Some(hash_len), "{file}");
        }
        for t in &g.tests {
            let ok = verify_spki(verifier, &g.public_key_der, &t.msg, &t.sig);
            let want = match t.result {
                Expect::Valid => true,
                Expect::Invalid => false,
                Expect::Acceptable => {
                    acceptable += 1;
                    acceptable_verifies
                }
            };
            assert_eq!(
                ok, want,
                "{file} tcId {} {:?} {:?}",
                t.id, t.result, t.flags
            );
            invalid += usize::from(t.result == Expect::Invalid);
            n += 1;
        }
    }
    println!("wycheproof {file}: {invalid} invalid rejected, {acceptable} acceptable");
    ran(&format!("wycheproof {file}"), n, f.number_of_tests);
}

/// Wycheproof ECDSA with DER signatures (the TLS/X.509 encoding). The files hold no `acceptable`
/// case.
#[test]
fn ecdsa_wycheproof() {
    wycheproof_sig(
        "ecdsa_secp256r1_sha256_test.json",
        "ecdsa-p256-sha256",
        "SHA-256",
        false,
    );
    wycheproof_sig(
        "ecdsa_secp384r1_sha384_test.json",
        "ecdsa-p384-sha384",
        "SHA-384",
        false,
    );
}

/// Wycheproof RSA PKCS#1 v1.5. The one `acceptable` case per file is a DigestInfo without the
/// NULL parameters (`MissingNull`): our verifiers (aws-lc) reject it, as webpki and ring do;
/// asserted.
#[test]
fn rsa_pkcs1_wycheproof() {
    wycheproof_sig(
        "rsa_signature_2048_sha256_test.json",
        "rsa-pkcs1-sha256",
        "SHA-256",
        false,
    );
    wycheproof_sig(
        "rsa_signature_3072_sha384_test.json",
        "rsa-pkcs1-sha384",
        "SHA-384",
        false,
    );
    wycheproof_sig(
        "rsa_signature_4096_sha512_test.json",
        "rsa-pkcs1-sha512",
        "SHA-512",
        false,
    );
}

/// Wycheproof RSA-PSS with MGF1 over the same hash and salt length = hash length, the only PSS
/// parameters TLS uses. No `acceptable` cases.
#[test]
fn rsa_pss_wycheproof() {
    for (file, name, hash) in [
        (
            "rsa_pss_2048_sha256_mgf1_32_test.json",
            "rsa-pss-sha256",
            "SHA-256",
        ),
        (
            "rsa_pss_3072_sha256_mgf1_32_test.json",
            "rsa-pss-sha256",
            "SHA-256",
        ),
        (
            "rsa_pss_4096_sha384_mgf1_48_test.json",
            "rsa-pss-sha384",
            "SHA-384",
        ),
        (
            "rsa_pss_4096_sha512_mgf1_64_test.json",
            "rsa-pss-sha512",
            "SHA-512",
        ),
    ] {
        wycheproof_sig(file, name, hash, false);
    }
}

/// Wycheproof Ed25519. No `acceptable` cases.
#[test]
fn ed25519_wycheproof() {
    wycheproof_sig("ed25519_test.json", "ed25519", "", false);
}
