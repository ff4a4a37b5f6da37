//! Shared readers for the known-answer vectors in `tests/vectors/` (see its SOURCES.md), and the
//! provider objects the KATs drive.
//!
//! Every KAT test counts the cases it ran and calls [`ran`] (or [`ran_skipping`]), which prints the
//! count and fails unless it equals the number of cases the file holds, counted independently of the
//! parser (Wycheproof `numberOfTests`, or lines of the file's per-case marker).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use rustls::crypto::hash::{Hash, HashAlgorithm};
use rustls::crypto::tls13::Hkdf;
use rustls::pki_types::SignatureVerificationAlgorithm;
use rustls::{SupportedCipherSuite, Tls13CipherSuite};
use serde::Deserialize;

/// The text of vector file `rel` (relative to `tests/vectors/`).
pub fn text(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Hex to bytes; either case, surrounding whitespace ignored.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim()).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// Prints what ran and fails unless it is every case the file holds.
pub fn ran(name: &str, count: usize, in_file: usize) {
    println!("{name}: {count} cases");
    assert!(count > 0, "{name}: no case ran");
    assert_eq!(count, in_file, "{name}: ran {count} of {in_file} cases");
}

/// [`ran`] for a file some of whose cases are outside what TLS uses: `skipped` (with the reason
/// printed) plus `count` must be every case, and `count` must not be zero.
pub fn ran_skipping(name: &str, count: usize, skipped: usize, reason: &str, in_file: usize) {
    println!("{name}: {count} cases (skipped {skipped}: {reason})");
    assert!(count > 0, "{name}: no case ran");
    assert_eq!(
        count + skipped,
        in_file,
        "{name}: ran {count} + skipped {skipped}"
    );
}

/// How many lines of `text` start with `prefix` (the independent case count of a CAVP-style file).
pub fn lines_starting(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

/// One record of a CAVP/RFC-style `Name = value` file.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// The `[Name = value]` parameters (or `[label]`, under the key "") in force.
    pub section: BTreeMap<String, String>,
    /// The record's fields, by name.
    pub fields: BTreeMap<String, String>,
    /// Bare words on their own line (e.g. `FAIL`).
    pub words: Vec<String>,
}

impl Record {
    /// Field `name`; panics if absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("record has no {name}: {self:?}"))
    }

    /// Field `name`, hex-decoded.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        unhex(self.get(name))
    }

    /// Section parameter `name`; panics if absent.
    pub fn param(&self, name: &str) -> &str {
        self.section
            .get(name)
            .unwrap_or_else(|| panic!("no section parameter {name}: {self:?}"))
    }
}

/// Parses a CAVP/RFC-style file: `#` comments, `[K = V]` or `[label]` section lines, `K = V` fields,
/// bare words. A record ends at a blank line, a section line, or a field name it already has (some
/// files have no blank lines between records).
pub fn records(text: &str) -> Vec<Record> {
    parse(text, None)
}

/// [`records`] for files with blank lines inside records: a record starts at each `start` field.
pub fn records_from(text: &str, start: &str) -> Vec<Record> {
    parse(text, Some(start))
}

fn parse(text: &str, start: Option<&str>) -> Vec<Record> {
    let mut out = Vec::new();
    let mut section = BTreeMap::new();
    let mut cur = Record::default();
    let mut flush = |cur: &mut Record, section: &BTreeMap<String, String>| {
        if !cur.fields.is_empty() {
            let mut done = std::mem::take(cur);
            done.section = section.clone();
            out.push(done);
        }
        *cur = Record::default();
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if start.is_none() {
                flush(&mut cur, &section);
            }
        } else if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            flush(&mut cur, &section);
            match inner.split_once('=') {
                Some((k, v)) => section.insert(k.trim().to_string(), v.trim().to_string()),
                None => section.insert(String::new(), inner.trim().to_string()),
            };
        } else if let Some((k, v)) = line.split_once('=') {
            let k = k.trim().to_string();
            if cur.fields.contains_key(&k) || start == Some(k.as_str()) {
                flush(&mut cur, &section);
            }
            cur.fields.insert(k, v.trim().to_string());
        } else {
            cur.words.push(line.to_string());
        }
    }
    flush(&mut cur, &section);
    out
}

/// A Wycheproof file: the declared case count and the groups (read per algorithm).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wycheproof<G> {
    pub number_of_tests: usize,
    pub test_groups: Vec<G>,
}

/// A Wycheproof `result`.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Valid,
    Invalid,
    Acceptable,
}

/// Reads Wycheproof file `name` (under `wycheproof/`).
pub fn wycheproof<G: for<'de> Deserialize<'de>>(name: &str) -> Wycheproof<G> {
    serde_json::from_str(&text(&format!("wycheproof/{name}")))
        .unwrap_or_else(|e| panic!("wycheproof/{name}: {e}"))
}

/// Deserializes a hex string field.
pub fn de_hex<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    hex::decode(&s).map_err(serde::de::Error::custom)
}

// --- the provider's objects ---

/// The provider's TLS 1.3 suites.
pub fn tls13_suites() -> Vec<&'static Tls13CipherSuite> {
    meshtls::provider()
        .cipher_suites
        .iter()
        .filter_map(|s| match s {
            SupportedCipherSuite::Tls13(t) => Some(*t),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .collect()
}

/// The TLS 1.3 suite `suite` of the provider.
pub fn tls13(suite: rustls::CipherSuite) -> &'static Tls13CipherSuite {
    tls13_suites()
        .into_iter()
        .find(|s| s.common.suite == suite)
        .unwrap_or_else(|| panic!("provider has no {suite:?}"))
}

/// The first TLS 1.3 suite whose hash is `alg`.
fn tls13_with_hash(alg: HashAlgorithm) -> &'static Tls13CipherSuite {
    tls13_suites()
        .into_iter()
        .find(|s| s.common.hash_provider.algorithm() == alg)
        .unwrap_or_else(|| panic!("no TLS 1.3 suite with {alg:?}"))
}

/// The provider's transcript hash for `alg`, as rustls reaches it (`common.hash_provider`).
pub fn hash(alg: HashAlgorithm) -> &'static dyn Hash {
    tls13_with_hash(alg).common.hash_provider
}

/// The provider's HKDF for `alg`, as rustls reaches it (`hkdf_provider`).
pub fn hkdf(alg: HashAlgorithm) -> &'static dyn Hkdf {
    tls13_with_hash(alg).hkdf_provider
}

/// The provider's TLS 1.2 PRF for `alg`, as rustls reaches it (`prf_provider`).
#[cfg(feature = "tls12")]
pub fn prf(alg: HashAlgorithm) -> &'static dyn rustls::crypto::tls12::Prf {
    meshtls::provider()
        .cipher_suites
        .iter()
        .find_map(|s| match s {
            SupportedCipherSuite::Tls12(t) if t.common.hash_provider.algorithm() == alg => {
                Some(t.prf_provider)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no TLS 1.2 suite with {alg:?}"))
}

/// The provider's verification algorithm for `name` (`ecdsa-p256-sha256`, `rsa-pss-sha384`, ...),
/// found by its public-key and signature algorithm identifiers, as webpki finds it.
pub fn verifier(name: &str) -> &'static dyn SignatureVerificationAlgorithm {
    use rustls::pki_types::alg_id;
    let (key, sig) = match name {
        "ecdsa-p256-sha256" => (alg_id::ECDSA_P256, alg_id::ECDSA_SHA256),
        "ecdsa-p256-sha384" => (alg_id::ECDSA_P256, alg_id::ECDSA_SHA384),
        "ecdsa-p384-sha256" => (alg_id::ECDSA_P384, alg_id::ECDSA_SHA256),
        "ecdsa-p384-sha384" => (alg_id::ECDSA_P384, alg_id::ECDSA_SHA384),
        "rsa-pkcs1-sha256" => (alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA256),
        "rsa-pkcs1-sha384" => (alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA384),
        "rsa-pkcs1-sha512" => (alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA512),
        "rsa-pss-sha256" => (alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA256),
        "rsa-pss-sha384" => (alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA384),
        "rsa-pss-sha512" => (alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA512),
        "ed25519" => (alg_id::ED25519, alg_id::ED25519),
        other => panic!("no such verifier name {other}"),
    };
    meshtls::provider()
        .signature_verification_algorithms
        .all
        .iter()
        .copied()
        .find(|v| v.public_key_alg_id() == key && v.signature_alg_id() == sig)
        .unwrap_or_else(|| panic!("provider has no verifier {name}"))
}

/// The hash named by a vector file (`SHA-256`, `SHA2-256`, `SHA256`, ...), if the provider has it.
pub fn hash_named(name: &str) -> Option<HashAlgorithm> {
    match name.replace(['-', '_'], "").to_uppercase().as_str() {
        "SHA256" | "SHA2256" => Some(HashAlgorithm::SHA256),
        "SHA384" | "SHA2384" => Some(HashAlgorithm::SHA384),
        _ => None,
    }
}

// --- a little DER, to build SPKIs from CAVP keys ---

/// DER TLV with definite length.
pub fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (len.len() - skip) as u8);
        out.extend_from_slice(&len[skip..]);
    }
    out.extend_from_slice(body);
    out
}

/// A DER INTEGER from unsigned big-endian bytes.
pub fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut body = Vec::new();
    if trimmed.first().map_or(true, |b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(&trimmed);
    der(0x02, &body)
}

/// SubjectPublicKeyInfo from the AlgorithmIdentifier body and the key bits.
pub fn spki(alg_id: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key);
    let mut body = der(0x30, alg_id);
    body.extend(der(0x03, &bits));
    der(0x30, &body)
}

/// SPKI of an RSA key (rsaEncryption) from its modulus and exponent.
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut key = der_uint(n);
    key.extend(der_uint(e));
    spki(
        rustls::pki_types::alg_id::RSA_ENCRYPTION.as_ref(),
        &der(0x30, &key),
    )
}

/// SPKI of an EC key (id-ecPublicKey with the curve) from its affine coordinates.
pub fn ec_spki(curve: &str, x: &[u8], y: &[u8]) -> Vec<u8> {
    let alg = match curve {
        "P-256" => rustls::pki_types::alg_id::ECDSA_P256,
        "P-384" => rustls::pki_types::alg_id::ECDSA_P384,
        other => panic!("no curve {other}"),
    };
    let mut point = vec![0x04];
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    spki(alg.as_ref(), &point)
}

/// An ECDSA signature (r, s) as DER `Ecdsa-Sig-Value`.
pub fn ecdsa_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = der_uint(r);
    body.extend(der_uint(s));
    der(0x30, &body)
}

/// Verifies `sig` over `msg` with the provider's `verifier` and an SPKI, the way rustls-webpki does
/// for a certificate's or raw public key's SPKI: it parses the SPKI, checks the verifier's
/// public-key algorithm matches, and passes the key bits to the verifier.
pub fn verify_spki(
    verifier: &dyn SignatureVerificationAlgorithm,
    spki: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(spki);
    let Ok(entity) = webpki::RawPublicKeyEntity::try_from(&spki) else {
        return false;
    };
    entity.verify_signature(verifier, msg, sig).is_ok()
}

/// An ACVP vector file (prompt and expected answers merged per test case).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acvp<G> {
    pub test_groups: Vec<G>,
}

/// Reads ACVP file `name` (under `acvp/`) and its independent case count (`"tcId"` keys in the text).
pub fn acvp<G: for<'de> Deserialize<'de>>(name: &str) -> (Acvp<G>, usize) {
    let text = text(&format!("acvp/{name}"));
    let parsed = serde_json::from_str(&text).unwrap_or_else(|e| panic!("acvp/{name}: {e}"));
    (parsed, text.matches("\"tcId\"").count())
}
