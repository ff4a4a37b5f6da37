//! Known answers for key exchange through the provider's own key-exchange code (`kx.rs`):
//! `meshtls::kat::ecdh_with_private_key` (hidden) builds the group's key from a fixed private key
//! instead of a generated one, and `hybrid_with_keys` the hybrid client key from fixed ECDH and
//! ML-KEM-768 keys; after that, `ActiveKeyExchange::pub_key`/`complete(peer_share)` are exactly what
//! a handshake runs (share length and form checks, on-curve check, agreement, ML-KEM decapsulation).

mod kat;

use kat::{de_hex, lines_starting, ran, records, text, Expect, Record};
use meshtls::kat::{ecdh_with_private_key, hybrid_with_keys};
use rustls::NamedGroup;
use serde::Deserialize;

fn point(x: &[u8], y: &[u8]) -> Vec<u8> {
    [&[0x04][..], x, y].concat()
}

fn group_of_curve(curve: &str) -> NamedGroup {
    match curve {
        "P-256" => NamedGroup::secp256r1,
        "P-384" => NamedGroup::secp384r1,
        other => panic!("curve {other}"),
    }
}

/// NIST CAVP ECC CDH primitive (SP 800-56A): own key pair from `Private`, shared `Z`.
#[test]
fn ecdh_cavp_ecccdh() {
    let body = text("cavp/ecdh/ecccdh_P256_P384.txt");
    let mut n = 0;
    for r in records(&body) {
        let group = group_of_curve(r.get("Curve"));
        let kx = ecdh_with_private_key(group, &r.bytes("Private")).unwrap();
        assert_eq!(kx.pub_key(), &point(&r.bytes("X"), &r.bytes("Y"))[..]);
        let z = kx
            .complete(&point(&r.bytes("PeerX"), &r.bytes("PeerY")))
            .unwrap();
        assert_eq!(z.secret_bytes(), &r.bytes("Z")[..], "{group:?}");
        n += 1;
    }
    ran(
        "cavp ecccdh_P256_P384.txt",
        n,
        lines_starting(&body, "Curve ="),
    );
}

/// Runs one KAS ZZ-only record; returns whether everything matched.
fn kas_case(r: &Record) -> bool {
    let group = match r.param("") {
        "EC - SHA256" => NamedGroup::secp256r1,
        "ED - SHA384" => NamedGroup::secp384r1,
        other => panic!("section {other}"),
    };
    let Ok(kx) = ecdh_with_private_key(group, &r.bytes("dsIUT")) else {
        return false;
    };
    let own_ok = kx.pub_key() == point(&r.bytes("QsIUTx"), &r.bytes("QsIUTy"));
    let peer = point(&r.bytes("QsCAVSx"), &r.bytes("QsCAVSy"));
    match kx.complete(&peer) {
        Ok(z) => own_ok && z.secret_bytes() == r.bytes("Z"),
        Err(_) => false,
    }
}

/// NIST CAVP KAS ECC ZZ-only validity tests, initiator and responder. `Result = P`: our key pair
/// from `dsIUT` is `QsIUT` and Z matches. `Result = F` (peer key off the curve, our key pair
/// altered, or Z altered): the exchange must fail or disagree with the vector somewhere.
#[test]
fn ecdh_cavp_kas_zz_only() {
    for file in [
        "KAS_ECC_ZZOnly_init_P256_P384.fax",
        "KAS_ECC_ZZOnly_resp_P256_P384.fax",
    ] {
        let body = text(&format!("cavp/ecdh/{file}"));
        let (mut n, mut failing) = (0, 0);
        for r in records(&body) {
            let pass = r.get("Result").starts_with('P');
            assert_eq!(
                kas_case(&r),
                pass,
                "{file} COUNT={} {}",
                r.get("COUNT"),
                r.get("Result")
            );
            failing += usize::from(!pass);
            n += 1;
        }
        println!("cavp {file}: {failing} cases must fail");
        ran(
            &format!("cavp {file}"),
            n,
            lines_starting(&body, "Result ="),
        );
    }
}

#[derive(Deserialize)]
struct EcdhGroup {
    curve: String,
    tests: Vec<EcdhCase>,
}

#[derive(Deserialize)]
struct EcdhCase {
    #[serde(rename = "tcId")]
    id: u32,
    #[serde(deserialize_with = "de_hex")]
    public: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    private: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    shared: Vec<u8>,
    result: Expect,
}

/// The private key at exactly `len` bytes (Wycheproof keys may carry a leading 00 or be short).
fn scalar(private: &[u8], len: usize) -> Vec<u8> {
    let trimmed: Vec<u8> = private.iter().copied().skip_while(|b| *b == 0).collect();
    assert!(trimmed.len() <= len);
    [vec![0u8; len - trimmed.len()], trimmed].concat()
}

/// Wycheproof ECDH with raw (X9.62) points, as TLS sends them. Valid: the shared secret matches.
/// Invalid (off-curve points, wrong lengths, the point at infinity...): `complete` must fail.
/// Acceptable: the only such cases are compressed points, which TLS 1.3 forbids (RFC 8446 §4.2.8.2)
/// and our key-share check refuses: asserted refused.
#[test]
fn ecdh_wycheproof_ecpoint() {
    for (file, curve, len) in [
        ("ecdh_secp256r1_ecpoint_test.json", "secp256r1", 32),
        ("ecdh_secp384r1_ecpoint_test.json", "secp384r1", 48),
    ] {
        let f = kat::wycheproof::<EcdhGroup>(file);
        let (mut n, mut refused) = (0, 0);
        for g in &f.test_groups {
            assert_eq!(g.curve, curve);
            let group = group_of_curve(if len == 32 { "P-256" } else { "P-384" });
            for t in &g.tests {
                let kx = ecdh_with_private_key(group, &scalar(&t.private, len)).unwrap();
                let got = kx.complete(&t.public);
                match t.result {
                    Expect::Valid => {
                        assert_eq!(
                            got.unwrap().secret_bytes(),
                            &t.shared[..],
                            "{file} tcId {}",
                            t.id
                        )
                    }
                    Expect::Invalid => assert!(got.is_err(), "{file} tcId {}", t.id),
                    Expect::Acceptable => {
                        assert!(
                            matches!(t.public.first(), Some(2 | 3)),
                            "{file} tcId {}",
                            t.id
                        );
                        assert!(
                            got.is_err(),
                            "{file} tcId {}: compressed point accepted",
                            t.id
                        );
                    }
                }
                refused += usize::from(t.result != Expect::Valid);
                n += 1;
            }
        }
        println!("wycheproof {file}: {refused} shares refused");
        ran(&format!("wycheproof {file}"), n, f.number_of_tests);
    }
}

/// The RFC 7748 §5.2 X25519 records (default build).
fn x25519_records() -> (Vec<Record>, usize) {
    let body = text("rfc/rfc7748_x25519.txt");
    (records(&body), lines_starting(&body, "OUTPUT_U"))
}

/// RFC 7748 X25519 in the default build; the FIPS build must not offer X25519 at all (neither as a
/// group nor through the fixed-key constructor).
#[test]
fn x25519_rfc7748() {
    let offered = meshtls::provider()
        .kx_groups
        .iter()
        .any(|g| g.name() == NamedGroup::X25519);
    let (recs, in_file) = x25519_records();
    if cfg!(feature = "fips") {
        assert!(!offered, "FIPS build offers X25519");
        assert!(ecdh_with_private_key(NamedGroup::X25519, &recs[0].bytes("INPUT_SCALAR")).is_err());
        println!("rfc rfc7748_x25519.txt: not run, X25519 absent from the FIPS build (asserted)");
        return;
    }
    assert!(offered);
    let mut n = 0;
    for r in &recs {
        let kx = ecdh_with_private_key(NamedGroup::X25519, &r.bytes("INPUT_SCALAR")).unwrap();
        let out = kx.complete(&r.bytes("INPUT_U")).unwrap();
        assert_eq!(
            out.secret_bytes(),
            &r.bytes("OUTPUT_U")[..],
            "COUNT={}",
            r.get("COUNT")
        );
        n += 1;
    }
    ran("rfc rfc7748_x25519.txt", n, in_file);
}

/// One hybrid group of this build with a known ECDH half: (group, our ECDH private key, the peer's
/// ECDH share, the ECDH secret, ML-KEM first on the wire?).
struct HybridSetup {
    group: NamedGroup,
    private: Vec<u8>,
    peer: Vec<u8>,
    secret: Vec<u8>,
    mlkem_first: bool,
}

/// The hybrid groups of this build, each with its ECDH half taken from a known answer (the first
/// CAVP ECC CDH P-256 record; RFC 7748 §5.2 case 1 for X25519).
fn hybrids() -> Vec<HybridSetup> {
    let p256 = records(&text("cavp/ecdh/ecccdh_P256_P384.txt")).remove(0);
    let mut out = vec![HybridSetup {
        group: NamedGroup::secp256r1MLKEM768,
        private: p256.bytes("Private"),
        peer: point(&p256.bytes("PeerX"), &p256.bytes("PeerY")),
        secret: p256.bytes("Z"),
        mlkem_first: false,
    }];
    if cfg!(not(feature = "fips")) {
        let x = x25519_records().0.remove(0);
        out.push(HybridSetup {
            group: NamedGroup::X25519MLKEM768,
            private: x.bytes("INPUT_SCALAR"),
            peer: x.bytes("INPUT_U"),
            secret: x.bytes("OUTPUT_U"),
            mlkem_first: true,
        });
    }
    let offered: Vec<NamedGroup> = meshtls::provider()
        .kx_groups
        .iter()
        .map(|g| g.name())
        .collect();
    for h in &out {
        assert!(offered.contains(&h.group));
    }
    out
}

/// Runs ML-KEM ciphertext `ct` through hybrid `h` with decapsulation key `dk` (encapsulation key
/// `ek`); returns the ML-KEM part of the hybrid secret, or `None` if the exchange refused.
fn hybrid_decapsulate(h: &HybridSetup, dk: &[u8], ek: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    let kx = hybrid_with_keys(h.group, &h.private, dk, ek).ok()?;
    let share = kx.pub_key().to_vec();
    // Our share: our ECDH share (as long as the peer's) and the encapsulation key, in wire order.
    assert_eq!(share.len(), ek.len() + h.peer.len());
    assert!(if h.mlkem_first {
        share.starts_with(ek)
    } else {
        share.ends_with(ek)
    });
    let server_share = if h.mlkem_first {
        [ct, &h.peer].concat()
    } else {
        [&h.peer[..], ct].concat()
    };
    let secret = kx.complete(&server_share).ok()?.secret_bytes().to_vec();
    let (ecdh, mlkem) = if h.mlkem_first {
        let (a, b) = secret.split_at(secret.len() - h.secret.len());
        (b.to_vec(), a.to_vec())
    } else {
        let (a, b) = secret.split_at(h.secret.len());
        (a.to_vec(), b.to_vec())
    };
    assert_eq!(ecdh, h.secret, "{:?}: ECDH half", h.group);
    Some(mlkem)
}

/// FIPS 203 ML-KEM-768 known answers through the hybrid groups' decapsulation: `sk` + `ct` → `ss`,
/// and implicit rejection, `sk` + `ct_n` → `ss_n`.
#[test]
fn mlkem768_kat_through_hybrids() {
    let body = text("kat/kat_MLKEM_768_first10.rsp");
    let mut n = 0;
    for r in records(&body) {
        for h in hybrids() {
            let (dk, ek) = (r.bytes("sk"), r.bytes("pk"));
            let ss = hybrid_decapsulate(&h, &dk, &ek, &r.bytes("ct")).unwrap();
            assert_eq!(ss, r.bytes("ss"), "{:?} count={}", h.group, r.get("count"));
            let ss_n = hybrid_decapsulate(&h, &dk, &ek, &r.bytes("ct_n")).unwrap();
            assert_eq!(
                ss_n,
                r.bytes("ss_n"),
                "{:?} count={} (rejection)",
                h.group,
                r.get("count")
            );
        }
        n += 1;
    }
    ran(
        "kat kat_MLKEM_768_first10.rsp",
        n,
        lines_starting(&body, "count ="),
    );
}

#[derive(Deserialize)]
struct MlKemGroup {
    tests: Vec<MlKemCase>,
}

#[derive(Deserialize)]
struct MlKemCase {
    #[serde(rename = "tcId")]
    id: u32,
    #[serde(deserialize_with = "de_hex")]
    dk: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    c: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    ek: Vec<u8>,
    /// Absent in invalid cases.
    #[serde(rename = "K", default)]
    k: Option<String>,
    result: Expect,
}

/// Wycheproof ML-KEM-768 decapsulation (expanded decapsulation keys) through the hybrids. Valid:
/// the ML-KEM secret is `K`. Invalid (wrong ciphertext or key length, corrupted key): the exchange
/// must be refused (key rejected or share rejected).
#[test]
fn mlkem768_wycheproof_through_hybrids() {
    let f = kat::wycheproof::<MlKemGroup>("mlkem_768_semi_expanded_decaps_test.json");
    let mut n = 0;
    for t in f.test_groups.iter().flat_map(|g| &g.tests) {
        for h in hybrids() {
            let got = hybrid_decapsulate(&h, &t.dk, &t.ek, &t.c);
            match t.result {
                Expect::Valid => {
                    let k = kat::unhex(t.k.as_deref().expect("valid case has K"));
                    assert_eq!(got, Some(k), "tcId {}", t.id)
                }
                Expect::Invalid => assert_eq!(got, None, "tcId {} {:?}", t.id, h.group),
                Expect::Acceptable => panic!("tcId {}: unexpected acceptable", t.id),
            }
        }
        n += 1;
    }
    ran(
        "wycheproof mlkem_768_semi_expanded_decaps_test.json",
        n,
        f.number_of_tests,
    );
}
