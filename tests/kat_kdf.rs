//! Known answers for HKDF and the TLS 1.3 key schedule, through the provider's `Hkdf` objects as
//! rustls reaches them (`Tls13CipherSuite::hkdf_provider`): `extract_from_secret`,
//! `extract_from_zero_ikm`, `expander_for_okm`, `expand_slice`/`expand_block`, `hmac_sign`.
//!
//! rustls never sees a PRK, and neither can a test: an `HkdfExpander` is opaque. A PRK is therefore
//! checked by comparing a hash-length expansion of our expander with the same expansion of an
//! expander made from the expected PRK (`expander_for_okm`), which agree only if the PRKs do.

mod kat;

use kat::{de_hex, lines_starting, ran, records_from, text, unhex, Expect};
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::tls13::{Hkdf, HkdfExpander, OkmBlock};
use rustls::{CipherSuite, NamedGroup};
use serde::Deserialize;

const SHA256: HashAlgorithm = HashAlgorithm::SHA256;
const SHA384: HashAlgorithm = HashAlgorithm::SHA384;

/// Asserts `expander` holds the PRK `expected` (see the module docs).
fn assert_prk(hkdf: &dyn Hkdf, expander: &dyn HkdfExpander, expected: &[u8], what: &str) {
    let info: &[&[u8]] = &[b"meshtls PRK check"];
    let reference = hkdf.expander_for_okm(&OkmBlock::new(expected));
    assert_eq!(
        expander.expand_block(info).as_ref(),
        reference.expand_block(info).as_ref(),
        "{what}: PRK differs"
    );
}

/// HKDF-Extract then Expand, checking the PRK when the vector gives one.
fn hkdf_case(alg: HashAlgorithm, r: &kat::Record, what: &str) {
    let hkdf = kat::hkdf(alg);
    let expander = hkdf.extract_from_secret(Some(&r.bytes("salt")), &r.bytes("IKM"));
    if r.fields.contains_key("PRK") {
        assert_prk(hkdf, expander.as_ref(), &r.bytes("PRK"), what);
    }
    let mut okm = vec![0u8; r.get("L").parse().unwrap()];
    expander
        .expand_slice(&[&r.bytes("info")], &mut okm)
        .unwrap_or_else(|_| panic!("{what}: expand refused"));
    assert_eq!(okm, r.bytes("OKM"), "{what}");
}

/// RFC 5869 appendix A (SHA-256 cases) and the 1200-byte generated vector.
#[test]
fn hkdf_rfc5869_and_generated() {
    for file in ["rfc5869_hkdf_sha256.txt", "hkdf_generated.txt"] {
        let body = text(&format!("rfc/{file}"));
        let mut n = 0;
        for r in records_from(&body, "COUNT") {
            let alg = kat::hash_named(r.get("Hash")).unwrap();
            hkdf_case(alg, &r, &format!("{file} COUNT={}", r.get("COUNT")));
            n += 1;
        }
        ran(&format!("rfc {file}"), n, lines_starting(&body, "OKM"));
    }
}

#[derive(Deserialize)]
struct HkdfGroup {
    tests: Vec<HkdfCase>,
}

#[derive(Deserialize)]
struct HkdfCase {
    #[serde(rename = "tcId")]
    id: u32,
    #[serde(deserialize_with = "de_hex")]
    ikm: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    salt: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    info: Vec<u8>,
    size: usize,
    #[serde(deserialize_with = "de_hex")]
    okm: Vec<u8>,
    result: Expect,
}

/// Wycheproof HKDF. Invalid cases ask for more than 255 * HashLen bytes: `expand_slice` must refuse
/// them (rustls maps that to an error). No `acceptable` cases exist; one would fail the test.
#[test]
fn hkdf_wycheproof() {
    for (file, alg) in [
        ("hkdf_sha256_test.json", SHA256),
        ("hkdf_sha384_test.json", SHA384),
    ] {
        let f = kat::wycheproof::<HkdfGroup>(file);
        let hkdf = kat::hkdf(alg);
        let mut n = 0;
        for t in f.test_groups.iter().flat_map(|g| &g.tests) {
            let expander = hkdf.extract_from_secret(Some(&t.salt), &t.ikm);
            let mut okm = vec![0u8; t.size];
            let got = expander.expand_slice(&[&t.info], &mut okm);
            match t.result {
                Expect::Valid => {
                    assert!(got.is_ok(), "{file} tcId {}", t.id);
                    assert_eq!(okm, t.okm, "{file} tcId {}", t.id);
                }
                Expect::Invalid => {
                    assert!(t.size > 255 * expander.hash_len(), "{file} tcId {}", t.id);
                    assert!(got.is_err(), "{file} tcId {}: too long, not refused", t.id);
                }
                Expect::Acceptable => panic!("{file} tcId {}: unexpected acceptable", t.id),
            }
            n += 1;
        }
        ran(&format!("wycheproof {file}"), n, f.number_of_tests);
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) over our expander.
fn expand_label(e: &dyn HkdfExpander, label: &[u8], ctx: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let len_be = (len as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let ctx_len = [ctx.len() as u8];
    e.expand_slice(
        &[&len_be, &label_len, b"tls13 ", label, &ctx_len, ctx],
        &mut out,
    )
    .expect("Expand-Label length");
    out
}

/// Derive-Secret (RFC 8446 §7.1): Expand-Label to HashLen with a transcript hash as context.
fn derive(e: &dyn HkdfExpander, label: &[u8], transcript_hash: &[u8]) -> Vec<u8> {
    expand_label(e, label, transcript_hash, e.hash_len())
}

#[derive(Deserialize)]
struct Rfc8448 {
    inputs: std::collections::BTreeMap<String, String>,
    expected: std::collections::BTreeMap<String, String>,
}

/// RFC 8448 §3 (TLS_AES_128_GCM_SHA256, X25519): from the key shares to every secret, traffic
/// key/IV and Finished key of the trace, with the provider's X25519 (default build), hash and HKDF,
/// and rustls's own traffic-key derivation (`derive_traffic_key`/`derive_traffic_iv`, what the
/// record layer calls) over our expander. The FIPS build has no X25519: it asserts that and starts
/// from the trace's ECDHE secret. The server Finished cannot be checked: the file does not carry the
/// transcript hash through CertificateVerify.
#[test]
fn tls13_key_schedule_rfc8448() {
    let f: Rfc8448 = serde_json::from_str(&text("tls/rfc8448_sec3_sha256.json")).unwrap();
    let input = |k: &str| unhex(&f.inputs[k]);
    let want = |k: &str| unhex(&f.expected[k]);
    let suite = kat::tls13(CipherSuite::TLS13_AES_128_GCM_SHA256);
    let (hkdf, hash) = (suite.hkdf_provider, suite.common.hash_provider);
    let mut checked = 0;
    let mut check = |got: &[u8], key: &str| {
        assert_eq!(got, &want(key)[..], "RFC 8448 {key}");
        checked += 1;
    };

    let kx =
        meshtls::kat::ecdh_with_private_key(NamedGroup::X25519, &input("client_x25519_private"));
    let ecdhe = if cfg!(feature = "fips") {
        assert!(kx.is_err(), "FIPS build must have no X25519");
        want("ecdhe_shared_secret")
    } else {
        let kx = kx.unwrap();
        assert_eq!(kx.pub_key(), &input("client_x25519_public")[..]);
        let secret = kx.complete(&input("server_x25519_public")).unwrap();
        check(secret.secret_bytes(), "ecdhe_shared_secret");
        secret.secret_bytes().to_vec()
    };

    let mut transcript = hash.start();
    transcript.update(&input("client_hello_handshake_msg"));
    transcript.update(&input("server_hello_handshake_msg"));
    let th_sh = transcript.finish().as_ref().to_vec();
    check(&th_sh, "transcript_hash_ch_sh");
    let empty_hash = hash.hash(&[]).as_ref().to_vec();
    let (th_sf, th_cf) = (
        input("transcript_hash_ch_sf"),
        input("transcript_hash_ch_cf"),
    );

    let early = hkdf.extract_from_zero_ikm(None);
    assert_prk(hkdf, early.as_ref(), &want("early_secret"), "early_secret");
    let derived = derive(early.as_ref(), b"derived", &empty_hash);
    check(&derived, "derived_for_handshake");
    let hs = hkdf.extract_from_secret(Some(&derived), &ecdhe);
    assert_prk(
        hkdf,
        hs.as_ref(),
        &want("handshake_secret"),
        "handshake_secret",
    );

    for side in ["client", "server"] {
        let label = format!("{} hs traffic", &side[..1]);
        let secret = derive(hs.as_ref(), label.as_bytes(), &th_sh);
        check(&secret, &format!("{side}_handshake_traffic_secret"));
        let e = hkdf.expander_for_okm(&OkmBlock::new(&secret));
        let key = rustls::internal::derive_traffic_key(e.as_ref(), suite.aead_alg);
        check(key.as_ref(), &format!("{side}_handshake_key"));
        let iv = rustls::internal::derive_traffic_iv(e.as_ref());
        check(iv.as_ref(), &format!("{side}_handshake_iv"));
        let finished = expand_label(e.as_ref(), b"finished", &[], e.hash_len());
        check(&finished, &format!("{side}_finished_key"));
        if side == "client" {
            let verify = hkdf.hmac_sign(&OkmBlock::new(&finished), &th_sf);
            check(verify.as_ref(), "client_finished_verify_data_from_trace");
        }
    }

    let derived = derive(hs.as_ref(), b"derived", &empty_hash);
    check(&derived, "derived_for_master");
    let master = hkdf.extract_from_zero_ikm(Some(&derived));
    assert_prk(
        hkdf,
        master.as_ref(),
        &want("master_secret"),
        "master_secret",
    );
    for side in ["client", "server"] {
        let label = format!("{} ap traffic", &side[..1]);
        let secret = derive(master.as_ref(), label.as_bytes(), &th_sf);
        check(&secret, &format!("{side}_application_traffic_secret_0"));
        let e = hkdf.expander_for_okm(&OkmBlock::new(&secret));
        let key = rustls::internal::derive_traffic_key(e.as_ref(), suite.aead_alg);
        check(key.as_ref(), &format!("{side}_application_key"));
        check(
            rustls::internal::derive_traffic_iv(e.as_ref()).as_ref(),
            &format!("{side}_application_iv"),
        );
    }
    check(
        &derive(master.as_ref(), b"exp master", &th_sf),
        "exporter_master_secret",
    );
    check(
        &derive(master.as_ref(), b"res master", &th_cf),
        "resumption_master_secret",
    );
    // Every expected value but the server Finished (see above), three PRKs checked by assert_prk,
    // and the ECDHE secret in the FIPS build (an input there).
    let not_compared = 1 + 3 + usize::from(cfg!(feature = "fips"));
    ran(
        "rfc8448 §3 values",
        checked,
        f.expected.len() - not_compared,
    );
}

/// An ACVP TLS 1.3 output: its field name, the secret it derives from, label, transcript hash.
type Output<'a> = (&'a str, &'a dyn HkdfExpander, &'a [u8], &'a [u8]);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tls13Group {
    hmac_alg: String,
    running_mode: String,
    tests: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// ACVP TLS 1.3 KDF (RFC 8446 key schedule; SHA-256 and SHA-384; DHE, PSK, PSK-DHE): eight secrets
/// per case. Transcript hashes are of the concatenated randoms (see the file's `_source`); an absent
/// PSK or DHE is HashLen zeros, which we feed through `extract_from_zero_ikm` as rustls does.
#[test]
fn tls13_kdf_acvp() {
    let (f, in_file) = kat::acvp::<Tls13Group>("tls13_kdf_rfc8446.json");
    let mut n = 0;
    for g in &f.test_groups {
        let alg = kat::hash_named(&g.hmac_alg).unwrap();
        let (hkdf, hash) = (kat::hkdf(alg), kat::hash(alg));
        assert!(["DHE", "PSK", "PSK-DHE"].contains(&g.running_mode.as_str()));
        for t in &g.tests {
            let field = |k: &str| t.get(k).and_then(|v| v.as_str()).map(unhex);
            let id = &t["tcId"];
            let th = |parts: &[&str]| {
                let mut ctx = hash.start();
                for p in parts {
                    ctx.update(&field(p).unwrap());
                }
                ctx.finish().as_ref().to_vec()
            };
            let empty_hash = hash.hash(&[]).as_ref().to_vec();
            let early = match field("psk") {
                Some(psk) => hkdf.extract_from_secret(None, &psk),
                None => hkdf.extract_from_zero_ikm(None),
            };
            let derived = derive(early.as_ref(), b"derived", &empty_hash);
            let hs = match field("dhe") {
                Some(dhe) => hkdf.extract_from_secret(Some(&derived), &dhe),
                None => hkdf.extract_from_zero_ikm(Some(&derived)),
            };
            let derived = derive(hs.as_ref(), b"derived", &empty_hash);
            let master = hkdf.extract_from_zero_ikm(Some(&derived));
            let h_early = th(&["helloClientRandom"]);
            let h_hs = th(&["helloClientRandom", "helloServerRandom"]);
            let h_ap = th(&[
                "helloClientRandom",
                "helloServerRandom",
                "finishedServerRandom",
            ]);
            let h_res = th(&[
                "helloClientRandom",
                "helloServerRandom",
                "finishedServerRandom",
                "finishedClientRandom",
            ]);
            let outputs: [Output; 8] = [
                (
                    "clientEarlyTrafficSecret",
                    early.as_ref(),
                    b"c e traffic",
                    &h_early,
                ),
                (
                    "earlyExporterMasterSecret",
                    early.as_ref(),
                    b"e exp master",
                    &h_early,
                ),
                (
                    "clientHandshakeTrafficSecret",
                    hs.as_ref(),
                    b"c hs traffic",
                    &h_hs,
                ),
                (
                    "serverHandshakeTrafficSecret",
                    hs.as_ref(),
                    b"s hs traffic",
                    &h_hs,
                ),
                (
                    "clientApplicationTrafficSecret",
                    master.as_ref(),
                    b"c ap traffic",
                    &h_ap,
                ),
                (
                    "serverApplicationTrafficSecret",
                    master.as_ref(),
                    b"s ap traffic",
                    &h_ap,
                ),
                (
                    "exporterMasterSecret",
                    master.as_ref(),
                    b"exp master",
                    &h_ap,
                ),
                (
                    "resumptionMasterSecret",
                    master.as_ref(),
                    b"res master",
                    &h_res,
                ),
            ];
            for (name, e, label, ctx) in outputs {
                let want = field(name).unwrap_or_else(|| panic!("tcId {id}: no {name}"));
                assert_eq!(derive(e, label, ctx), want, "tcId {id} {name}");
            }
            n += 1;
        }
    }
    ran("acvp tls13_kdf_rfc8446.json", n, in_file);
}
