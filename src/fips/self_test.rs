//! A runtime self-test at the TLS level: known answers through the provider's own objects.
//!
//! The FIPS module runs its own power-on and conditional self-tests on its primitives (and aborts
//! the process if one fails). This one checks the layer above: that the objects rustls calls
//! (HKDF in the TLS 1.3 key schedule, the record sealer and opener, the ECDSA verifier, ECDH key
//! exchange, HMAC) compute the standards' answers in this process. Expected values are constants
//! taken from the vectors in `tests/vectors/` (named at each constant), where the full sets run.

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustls::crypto::hmac::Hmac as _;
use rustls::crypto::tls13::{Hkdf as _, HkdfExpander, OkmBlock};
use rustls::crypto::ActiveKeyExchange as _;

use super::{check, Build};
use crate::policy::Kind;
use crate::provider::kat::{self, RecordAead};
use crate::provider::{hash, kx, tls13};
use crate::Error;
use rustls::pki_types::alg_id;

/// Decodes hex at compile time (a malformed constant is a build error, never a runtime panic).
const fn hex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lower-case hex"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 2 * N, "hex constant of the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

// RFC 8448 §3 (tests/vectors/tls/rfc8448_sec3_sha256.json): ECDHE secret, Transcript-Hash(CH, SH),
// and what the key schedule must derive from them.
const RFC8448_ECDHE: [u8; 32] =
    hex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d");
const RFC8448_TH_CH_SH: [u8; 32] =
    hex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8");
const RFC8448_DERIVED: [u8; 32] =
    hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
const RFC8448_S_HS_TRAFFIC: [u8; 32] =
    hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
const RFC8448_S_HS_KEY: [u8; 16] = hex("3fce516009c21727d0f2e4e86ee403bc");
const RFC8448_S_HS_IV: [u8; 12] = hex("5d313eb2671276ee13000b30");

// CAVP gcmEncryptExtIV128 (tests/vectors/cavp/aes_gcm/), [PTlen = 128][AADlen = 128] Count = 0.
const GCM_KEY: [u8; 16] = hex("c939cc13397c1d37de6ae0e1cb7c423c");
const GCM_IV: [u8; 12] = hex("b3d8cc017cbb89b39e0f67e2");
const GCM_PT: [u8; 16] = hex("c3b3c41f113a31b73d9a5cd432103069");
const GCM_AAD: [u8; 16] = hex("24825602bd12a984e0092d3e448eda5f");
const GCM_CT_TAG: [u8; 32] =
    hex("93fe7d9e9bfd10348a5606e5cafa73540032a1dc85f1c9786925a2e71d8272dd");

// CAVP ECDSA SigVer (tests/vectors/cavp/ecdsa/), [P-256,SHA-256], the first `Result = P` record:
// public key Q (uncompressed, as webpki passes it), message, and (R, S) in DER.
const ECDSA_Q: [u8; 65] = hex("04e424dc61d4bb3cb7ef4344a7f8957a0c5134e16f7a67c074f82e6e12f49abf3c970eed7aa2bc48651545949de1dddaf0127e5965ac85d1243d6f60e7dfaee927");
const ECDSA_MSG: [u8; 128] = hex("e1130af6a38ccb412a9c8d13e15dbfc9e69a16385af3c3f1e5da954fd5e7c45fd75e2b8c36699228e92840c0562fbf3772f07e17f1add56588dd45f7450e1217ad239922dd9c32695dc71ff2424ca0dec1321aa47064a044b7fe3c2b97d03ce470a592304c5ef21eed9f93da56bb232d1eeb0035f9bf0dfafdcc4606272b20a3");
const ECDSA_SIG: [u8; 71] = hex("3045022100bf96b99aa49c705c910be33142017c642ff540c76349b9dab72f981fd9347f4f022017c55095819089c2e03b9cd415abdf12444e323075d98f31920b9e0f57ec871c");

// CAVP ECC CDH P-256 (tests/vectors/cavp/ecdh/ecccdh_P256_P384.txt), the first record.
const ECDH_PRIVATE: [u8; 32] =
    hex("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
const ECDH_PUBLIC: [u8; 65] = hex("04ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b23028af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141");
const ECDH_PEER: [u8; 65] = hex("04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac");
const ECDH_Z: [u8; 32] = hex("46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b");

// RFC 4231 test case 2 (tests/vectors/rfc/rfc4231_hmac_sha256.txt): key "Jefe".
const HMAC_KEY: &[u8] = b"Jefe";
const HMAC_MSG: &[u8] = b"what do ya want for nothing?";
const HMAC_TAG: [u8; 32] = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

/// One known-answer test that passed, and how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KatRun {
    /// Its name, e.g. `aes-128-gcm-record-seal`.
    pub name: &'static str,
    /// Wall-clock time it took.
    pub duration: Duration,
    /// The `(kind, name)` rows of [`crate::policy::table`] whose objects it ran.
    pub covers: &'static [(Kind, &'static str)],
}

/// What [`self_test`] ran: every known-answer test, in order, all passed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SelfTestReport {
    /// The cargo build that ran them.
    pub build: Build,
    /// The known-answer tests, in the order they ran.
    pub kats: Vec<KatRun>,
}

/// One known-answer test: its name, the policy-table rows whose objects it runs, and the check.
struct Kat {
    name: &'static str,
    /// `(kind, name)` of the rows of [`crate::policy::table`] it exercises.
    covers: &'static [(Kind, &'static str)],
    run: fn() -> Result<(), &'static str>,
}

/// Every known-answer test, in the order [`self_test`] runs them.
const KATS: [Kat; 6] = [
    Kat {
        name: "tls13-key-schedule-rfc8448",
        covers: &[(Kind::Suite, "TLS_AES_128_GCM_SHA256")],
        run: key_schedule,
    },
    Kat {
        name: "aes-128-gcm-record-seal",
        covers: &[(Kind::Suite, "TLS_AES_128_GCM_SHA256")],
        run: gcm_seal,
    },
    Kat {
        name: "aes-128-gcm-record-open",
        covers: &[(Kind::Suite, "TLS_AES_128_GCM_SHA256")],
        run: gcm_open,
    },
    Kat {
        name: "ecdsa-p256-sha256-verify",
        covers: &[
            (Kind::SignatureScheme, "ecdsa_secp256r1_sha256"),
            (Kind::Key, "ECDSA P-256"),
        ],
        run: ecdsa_verify,
    },
    Kat {
        name: "ecdh-p256",
        covers: &[
            (Kind::Group, "secp256r1"),
            (Kind::Group, "SecP256r1MLKEM768"),
        ],
        run: ecdh_p256,
    },
    Kat {
        name: "hmac-sha256",
        covers: &[(Kind::Suite, "TLS_AES_128_GCM_SHA256")],
        run: hmac_sha256,
    },
];

/// The names of [`KATS`], as a constant.
const KAT_NAMES: [&str; KATS.len()] = {
    let mut names = [""; KATS.len()];
    let mut i = 0;
    while i < KATS.len() {
        names[i] = KATS[i].name;
        i += 1;
    }
    names
};

impl SelfTestReport {
    /// The names of every known-answer test [`self_test`] runs, in order.
    pub const KATS: &'static [&'static str] = &KAT_NAMES;

    /// Total time of all known-answer tests.
    pub fn total(&self) -> Duration {
        self.kats.iter().map(|k| k.duration).sum()
    }
}

impl fmt::Display for SelfTestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "self-test passed (build={}, {} known-answer tests, {:?}):",
            self.build,
            self.kats.len(),
            self.total()
        )?;
        for k in &self.kats {
            write!(f, " {} {:?};", k.name, k.duration)?;
        }
        Ok(())
    }
}

/// Checks the module (in the FIPS build: that it is in FIPS mode, via [`check`]), then runs a
/// compact set of TLS-level known-answer tests through the provider's own objects: the TLS 1.3 key
/// schedule (RFC 8448 §3), one AES-128-GCM record seal and one open (CAVP), one ECDSA P-256
/// verification (CAVP, plus a must-fail one), one ECDH P-256 agreement from a fixed private key
/// (CAVP), one HMAC-SHA256 (RFC 4231).
///
/// Call it once at start-up, before building TLS configurations; it takes well under 5 ms. Any
/// mismatch is [`Error::SelfTestFailed`] naming the test; do not use the TLS stack then.
pub fn self_test() -> Result<SelfTestReport, Error> {
    check()?;
    run(&KATS)
}

/// Runs `kats` in order, stopping at the first failure.
fn run(kats: &[Kat]) -> Result<SelfTestReport, Error> {
    let mut report = SelfTestReport {
        build: Build::current(),
        kats: Vec::with_capacity(kats.len()),
    };
    for kat in kats {
        let start = Instant::now();
        (kat.run)().map_err(|detail| Error::SelfTestFailed {
            kat: kat.name,
            detail,
        })?;
        report.kats.push(KatRun {
            name: kat.name,
            duration: start.elapsed(),
            covers: kat.covers,
        });
    }
    Ok(report)
}

/// The start-up run: [`self_test`] once per process, before the first mesh credentials.
static STARTUP: OnceLock<Result<SelfTestReport, Error>> = OnceLock::new();

/// The result of the start-up self-test, if it has run. In the FIPS build
/// [`creds::watch`](crate::creds::watch) runs it before the first configuration exists, and fails
/// (every time, fail-closed) if it failed; the default build does not run it.
pub fn startup_self_test() -> Option<&'static Result<SelfTestReport, Error>> {
    STARTUP.get()
}

/// Runs the start-up self-test if it has not run in this process; its error, every time, if it failed.
pub(crate) fn startup_gate() -> Result<(), Error> {
    gate(&STARTUP, self_test)
}

fn gate(
    cell: &OnceLock<Result<SelfTestReport, Error>>,
    run: impl FnOnce() -> Result<SelfTestReport, Error>,
) -> Result<(), Error> {
    match cell.get_or_init(run) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.clone()),
    }
}

fn expect(ok: bool, detail: &'static str) -> Result<(), &'static str> {
    ok.then_some(()).ok_or(detail)
}

/// HKDF-Expand-Label (RFC 8446 §7.1) of `len` ≤ 48 bytes.
fn expand_label(
    e: &dyn HkdfExpander,
    label: &[u8],
    ctx: &[u8],
    out: &mut [u8],
) -> Result<(), &'static str> {
    let len = u16::try_from(out.len()).map_err(|_| "label output length")?;
    let label_len = [u8::try_from(6 + label.len()).map_err(|_| "label length")?];
    let ctx_len = [u8::try_from(ctx.len()).map_err(|_| "context length")?];
    e.expand_slice(
        &[
            &len.to_be_bytes(),
            &label_len,
            b"tls13 ",
            label,
            &ctx_len,
            ctx,
        ],
        out,
    )
    .map_err(|_| "HKDF-Expand refused")
}

/// RFC 8448 §3: early secret → derived → handshake secret → server handshake traffic secret → its
/// key and IV, with the TLS 1.3 suites' HKDF-SHA256 and SHA-256.
fn key_schedule() -> Result<(), &'static str> {
    let hkdf = &tls13::HKDF_SHA256;
    let empty_hash = rustls::crypto::hash::Hash::hash(&hash::SHA256, &[]);
    let early = hkdf.extract_from_zero_ikm(None);
    let mut derived = [0u8; 32];
    expand_label(
        early.as_ref(),
        b"derived",
        empty_hash.as_ref(),
        &mut derived,
    )?;
    expect(derived == RFC8448_DERIVED, "derived secret")?;
    let hs = hkdf.extract_from_secret(Some(&derived), &RFC8448_ECDHE);
    let mut s_hs = [0u8; 32];
    expand_label(hs.as_ref(), b"s hs traffic", &RFC8448_TH_CH_SH, &mut s_hs)?;
    expect(
        s_hs == RFC8448_S_HS_TRAFFIC,
        "server handshake traffic secret",
    )?;
    let traffic = hkdf.expander_for_okm(&OkmBlock::new(&s_hs));
    let (mut key, mut iv) = ([0u8; 16], [0u8; 12]);
    expand_label(traffic.as_ref(), b"key", &[], &mut key)?;
    expand_label(traffic.as_ref(), b"iv", &[], &mut iv)?;
    expect(key == RFC8448_S_HS_KEY, "server handshake key")?;
    expect(iv == RFC8448_S_HS_IV, "server handshake IV")
}

/// The TLS 1.3 record sealer's seal, nonce = vector IV (IV XOR sequence number 0).
fn gcm_seal() -> Result<(), &'static str> {
    let sealed = kat::seal(
        RecordAead::AesGcmTls13,
        &GCM_KEY,
        &GCM_IV,
        &GCM_AAD,
        &GCM_PT,
    )
    .map_err(|_| "seal failed")?;
    expect(sealed == GCM_CT_TAG, "ciphertext or tag")
}

/// The TLS 1.3 record opener's open: the vector opens, and a flipped tag bit does not.
fn gcm_open() -> Result<(), &'static str> {
    let opened = kat::open(
        RecordAead::AesGcmTls13,
        &GCM_KEY,
        &GCM_IV,
        &GCM_AAD,
        &GCM_CT_TAG,
    )
    .map_err(|_| "open failed")?;
    expect(opened == GCM_PT, "plaintext")?;
    let mut forged = GCM_CT_TAG;
    forged[31] ^= 1;
    let refused = kat::open(
        RecordAead::AesGcmTls13,
        &GCM_KEY,
        &GCM_IV,
        &GCM_AAD,
        &forged,
    )
    .is_err();
    expect(refused, "forged tag accepted")
}

/// The ECDSA P-256/SHA-256 verifier the provider hands webpki (found by its algorithm ids among
/// the policy table's offered verifiers): the vector verifies, a changed message does not.
fn ecdsa_verify() -> Result<(), &'static str> {
    let v = crate::provider()
        .signature_verification_algorithms
        .all
        .iter()
        .find(|v| {
            v.public_key_alg_id() == alg_id::ECDSA_P256
                && v.signature_alg_id() == alg_id::ECDSA_SHA256
        })
        .ok_or("no ECDSA P-256/SHA-256 verifier offered")?;
    expect(
        v.verify_signature(&ECDSA_Q, &ECDSA_MSG, &ECDSA_SIG).is_ok(),
        "valid signature rejected",
    )?;
    let mut msg = ECDSA_MSG;
    msg[0] ^= 1;
    expect(
        v.verify_signature(&ECDSA_Q, &msg, &ECDSA_SIG).is_err(),
        "signature over another message accepted",
    )
}

/// P-256 key exchange from a fixed private key: our share, then Z.
fn ecdh_p256() -> Result<(), &'static str> {
    let key = kx::SECP256R1
        .with_private_key(&ECDH_PRIVATE)
        .map_err(|_| "private key rejected")?;
    expect(key.pub_key() == ECDH_PUBLIC, "public key")?;
    let z = Box::new(key)
        .complete(&ECDH_PEER)
        .map_err(|_| "agreement failed")?;
    expect(z.secret_bytes() == ECDH_Z, "shared secret")
}

/// The provider's HMAC-SHA256 (the HMAC under HKDF and the Finished MAC).
fn hmac_sha256() -> Result<(), &'static str> {
    let tag = hash::HMAC_SHA256.with_key(HMAC_KEY).sign(&[HMAC_MSG]);
    expect(tag.as_ref() == HMAC_TAG, "tag")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real computation against a wrong expected value: the runner stops there and names it.
    #[test]
    fn a_failing_kat_stops_the_run_and_is_named() {
        fn wrong_tag() -> Result<(), &'static str> {
            let sealed = kat::seal(
                RecordAead::AesGcmTls13,
                &GCM_KEY,
                &GCM_IV,
                &GCM_AAD,
                &GCM_PT,
            )
            .map_err(|_| "seal failed")?;
            let mut expected = GCM_CT_TAG;
            expected[31] ^= 1;
            expect(sealed == expected, "ciphertext or tag")
        }
        fn never() -> Result<(), &'static str> {
            panic!("runs after a failure")
        }
        let kats = [
            Kat {
                name: "hmac-sha256",
                covers: &[],
                run: hmac_sha256,
            },
            Kat {
                name: "wrong-tag",
                covers: &[],
                run: wrong_tag,
            },
            Kat {
                name: "never",
                covers: &[],
                run: never,
            },
        ];
        let err = run(&kats).unwrap_err();
        assert!(
            matches!(
                err,
                Error::SelfTestFailed {
                    kat: "wrong-tag",
                    detail: "ciphertext or tag"
                }
            ),
            "{err}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains("wrong-tag") && shown.contains("ciphertext or tag"),
            "{shown}"
        );
    }

    #[test]
    fn every_kat_runs_rows_this_build_offers() {
        let mut kinds = std::collections::HashSet::new();
        for kat in &KATS {
            assert!(!kat.covers.is_empty(), "{}", kat.name);
            for (kind, name) in kat.covers {
                let row = crate::policy::by_name(*kind, name)
                    .unwrap_or_else(|| panic!("{}: no row {kind} {name}", kat.name));
                assert!(row.offered(), "{}: {name} is not offered", kat.name);
                assert!(row.approval.is_approved(), "{}: {name}", kat.name);
                kinds.insert(*kind);
            }
        }
        for kind in [Kind::Suite, Kind::Group, Kind::SignatureScheme, Kind::Key] {
            assert!(kinds.contains(&kind), "no self-test KAT for any {kind} row");
        }
        assert_eq!(SelfTestReport::KATS.len(), KATS.len());
    }
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_gate_runs_once_and_fails_closed() {
        let runs = AtomicUsize::new(0);
        let cell = OnceLock::new();
        let failing = || {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(Error::SelfTestFailed {
                kat: "hmac-sha256",
                detail: "tag differs",
            })
        };
        for _ in 0..3 {
            let err = gate(&cell, failing).unwrap_err();
            assert!(matches!(
                err,
                Error::SelfTestFailed {
                    kat: "hmac-sha256",
                    ..
                }
            ));
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "run once, refused every time"
        );

        let cell = OnceLock::new();
        assert!(gate(&cell, self_test).is_ok());
        assert!(gate(&cell, || panic!("must not run again")).is_ok());
    }
}
