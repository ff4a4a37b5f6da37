//! Known answers for SHA-256/384 and HMAC-SHA256/384, through the provider's own objects: the
//! transcript hash rustls reaches as `Tls13CipherSuite::common.hash_provider`, and the HMAC objects
//! HKDF and the Finished MAC use (`meshtls::kat::hmac_sha256/384`, hidden).

mod kat;

use kat::{de_hex, lines_starting, ran, records, text, unhex, Expect};
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::hmac::Hmac;
use serde::Deserialize;

fn sha(bits: &str) -> HashAlgorithm {
    kat::hash_named(&format!("SHA{bits}")).unwrap()
}

/// CAVP ShortMsg/LongMsg: `Len` (bits), `Msg`, `MD`. Short messages go through `hash()`, long ones
/// through the streaming context (`start`/`update`/`fork_finish`/`finish`) rustls uses for the
/// transcript.
fn cavp_msg(file: &str, alg: HashAlgorithm) {
    let body = text(&format!("cavp/sha2/{file}"));
    let h = kat::hash(alg);
    let mut n = 0;
    for r in records(&body) {
        let len: usize = r.get("Len").parse().unwrap();
        let msg = &r.bytes("Msg")[..len / 8];
        let md = r.bytes("MD");
        assert_eq!(h.hash(msg).as_ref(), &md[..], "{file} Len={len}");
        let mut ctx = h.start();
        for chunk in msg.chunks(61) {
            ctx.update(chunk);
        }
        assert_eq!(ctx.fork_finish().as_ref(), &md[..], "{file} Len={len} fork");
        assert_eq!(ctx.finish().as_ref(), &md[..], "{file} Len={len} stream");
        n += 1;
    }
    ran(&format!("cavp {file}"), n, lines_starting(&body, "MD ="));
}

#[test]
fn sha256_short_and_long() {
    cavp_msg("SHA256ShortMsg.rsp", sha("256"));
    cavp_msg("SHA256LongMsg_first16.rsp", sha("256"));
}

#[test]
fn sha384_short_and_long() {
    cavp_msg("SHA384ShortMsg.rsp", sha("384"));
    cavp_msg("SHA384LongMsg_first16.rsp", sha("384"));
}

/// CAVP Monte Carlo (SHAVS §6.4): 100 checkpoints of 1000 chained hashes each, through the
/// streaming context.
fn cavp_monte(file: &str, alg: HashAlgorithm) {
    let body = text(&format!("cavp/sha2/{file}"));
    let h = kat::hash(alg);
    let recs = records(&body);
    let mut seed = recs[0].bytes("Seed");
    let mut n = 0;
    for r in &recs[1..] {
        let (mut a, mut b, mut c) = (seed.clone(), seed.clone(), seed.clone());
        for _ in 3..1003 {
            let mut ctx = h.start();
            ctx.update(&a);
            ctx.update(&b);
            ctx.update(&c);
            let next = ctx.finish().as_ref().to_vec();
            (a, b, c) = (b, c, next);
        }
        assert_eq!(c, r.bytes("MD"), "{file} COUNT={}", r.get("COUNT"));
        seed = c;
        n += 1;
    }
    ran(&format!("cavp {file}"), n, lines_starting(&body, "COUNT ="));
}

#[test]
fn sha256_monte() {
    cavp_monte("SHA256Monte.rsp", sha("256"));
}

#[test]
fn sha384_monte() {
    cavp_monte("SHA384Monte.rsp", sha("384"));
}

/// The full tag of `msg` under `key`, computed both ways rustls calls a key (`sign` and
/// `sign_concat` over a split message), which must agree.
fn mac(hmac: &dyn Hmac, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let k = hmac.with_key(key);
    let whole = k.sign(&[msg]).as_ref().to_vec();
    let (a, rest) = msg.split_at(msg.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    assert_eq!(k.sign_concat(a, &[b], c).as_ref(), &whole[..]);
    assert_eq!(whole.len(), hmac.hash_output_len());
    assert_eq!(k.tag_len(), hmac.hash_output_len());
    whole
}

fn hmac_for(alg: HashAlgorithm) -> &'static dyn Hmac {
    match alg {
        HashAlgorithm::SHA256 => meshtls::kat::hmac_sha256(),
        HashAlgorithm::SHA384 => meshtls::kat::hmac_sha384(),
        other => panic!("no HMAC for {other:?}"),
    }
}

/// RFC 4231 test cases (full-length tags).
#[test]
fn hmac_rfc4231() {
    for (file, alg) in [
        ("rfc4231_hmac_sha256.txt", sha("256")),
        ("rfc4231_hmac_sha384.txt", sha("384")),
    ] {
        let body = text(&format!("rfc/{file}"));
        let mut n = 0;
        for r in records(&body) {
            let tag = mac(hmac_for(alg), &r.bytes("Key"), &r.bytes("Msg"));
            assert_eq!(tag, r.bytes("MD"), "{file}");
            n += 1;
        }
        ran(&format!("rfc {file}"), n, lines_starting(&body, "MD ="));
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MacGroup {
    tag_size: usize,
    tests: Vec<MacCase>,
}

#[derive(Deserialize)]
struct MacCase {
    #[serde(rename = "tcId")]
    id: u32,
    #[serde(deserialize_with = "de_hex")]
    key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    msg: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    tag: Vec<u8>,
    result: Expect,
}

/// Wycheproof HMAC. Groups with `tagSize` below the hash length hold truncated tags: we compare the
/// leftmost `tagSize` bits of our full tag (what a truncating verifier would do); TLS itself only
/// uses full tags, which the other groups cover. Valid: equal; invalid (modified tags): different.
/// The files hold no `acceptable` case; one would fail the test.
#[test]
fn hmac_wycheproof() {
    for (file, alg) in [
        ("hmac_sha256_test.json", sha("256")),
        ("hmac_sha384_test.json", sha("384")),
    ] {
        let f = kat::wycheproof::<MacGroup>(file);
        let mut n = 0;
        for g in &f.test_groups {
            for t in &g.tests {
                let full = mac(hmac_for(alg), &t.key, &t.msg);
                let ours = &full[..g.tag_size / 8];
                match t.result {
                    Expect::Valid => assert_eq!(ours, &t.tag[..], "{file} tcId {}", t.id),
                    Expect::Invalid => assert_ne!(ours, &t.tag[..], "{file} tcId {}", t.id),
                    Expect::Acceptable => panic!("{file} tcId {}: unexpected acceptable", t.id),
                }
                n += 1;
            }
        }
        ran(&format!("wycheproof {file}"), n, f.number_of_tests);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcvpMacGroup {
    mac_len: usize,
    tests: Vec<AcvpMacCase>,
}

#[derive(Deserialize)]
struct AcvpMacCase {
    #[serde(rename = "tcId")]
    id: u32,
    key: String,
    msg: String,
    mac: String,
}

/// ACVP HMAC: `macLen` bits, the MAC being the leftmost `macLen` bits of the full tag.
#[test]
fn hmac_acvp() {
    for (file, alg) in [
        ("hmac_sha2_256.json", sha("256")),
        ("hmac_sha2_384.json", sha("384")),
    ] {
        let (f, in_file) = kat::acvp::<AcvpMacGroup>(file);
        let mut n = 0;
        for g in &f.test_groups {
            for t in &g.tests {
                let full = mac(hmac_for(alg), &unhex(&t.key), &unhex(&t.msg));
                assert_eq!(
                    &full[..g.mac_len / 8],
                    &unhex(&t.mac)[..],
                    "{file} tcId {}",
                    t.id
                );
                n += 1;
            }
        }
        ran(&format!("acvp {file}"), n, in_file);
    }
}
