//! Known answers for the TLS 1.2 PRF and extended master secret, through the TLS 1.2 suites'
//! `prf_provider` (`rustls::crypto::tls12::Prf`), the way rustls calls it:
//! - master secrets through `for_key_exchange`, fed the vector's pre-master secret by a stand-in
//!   key exchange (rustls passes the ECDHE exchange there);
//! - key blocks and other outputs through `for_secret`.
//!
//! The FIPS build's PRF refuses the RFC 5246 "master secret" label (approved only with EMS): for those
//! cases the FIPS builds assert the refusal, then still check the key block from the vector's master
//! secret.
#![cfg(feature = "tls12")]

mod kat;

use kat::{ran_skipping, records, text, unhex};
use rustls::crypto::tls12::Prf;
use rustls::crypto::{ActiveKeyExchange, SharedSecret};
use rustls::{Error, NamedGroup, PeerIncompatible};
use serde::Deserialize;

/// A key exchange whose secret is a given pre-master secret.
struct PreMaster(Vec<u8>);

impl ActiveKeyExchange for PreMaster {
    fn complete(self: Box<Self>, _peer: &[u8]) -> Result<SharedSecret, Error> {
        Ok(SharedSecret::from(self.0))
    }

    fn pub_key(&self) -> &[u8] {
        &[]
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }
}

/// The master secret via `for_key_exchange`, or the PRF's refusal.
fn master(prf: &dyn Prf, pms: &[u8], label: &[u8], seed: &[u8]) -> Result<[u8; 48], Error> {
    let mut out = [0u8; 48];
    prf.for_key_exchange(
        &mut out,
        Box::new(PreMaster(pms.to_vec())),
        &[],
        label,
        seed,
    )?;
    Ok(out)
}

fn key_block(prf: &dyn Prf, master: &[u8], server: &[u8], client: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    prf.for_secret(
        &mut out,
        master,
        b"key expansion",
        &[server, client].concat(),
    );
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    hash_alg: String,
    key_block_length: usize,
    tests: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// Runs ACVP TLS 1.2 KDF `file`: master secret with `label` over the `seed_fields`, then key block.
/// Groups with a PRF hash no suite of ours uses (SHA-512) are skipped, asserted to be exactly those.
fn acvp(file: &str, label: &[u8], seed_fields: &[&str]) -> (usize, usize) {
    let (f, in_file) = kat::acvp::<Group>(file);
    let (mut n, mut refused, mut skipped) = (0, 0, 0);
    for g in &f.test_groups {
        let Some(alg) = kat::hash_named(&g.hash_alg) else {
            assert_eq!(g.hash_alg, "SHA2-512", "{file}");
            skipped += g.tests.len();
            continue;
        };
        let prf = kat::prf(alg);
        for t in &g.tests {
            let field = |k: &str| unhex(t[k].as_str().unwrap());
            let id = &t["tcId"];
            let seed: Vec<u8> = seed_fields.iter().flat_map(|k| field(k)).collect();
            let want_master = field("masterSecret");
            match master(prf, &field("preMasterSecret"), label, &seed) {
                Ok(got) => assert_eq!(&got[..], &want_master[..], "{file} tcId {id}"),
                Err(e) => {
                    assert!(
                        cfg!(feature = "fips") && label == b"master secret",
                        "{file} tcId {id}: {e}"
                    );
                    assert_eq!(
                        e,
                        Error::PeerIncompatible(
                            PeerIncompatible::ExtendedMasterSecretExtensionRequired
                        )
                    );
                    refused += 1;
                }
            }
            let block = key_block(
                prf,
                &want_master,
                &field("serverRandom"),
                &field("clientRandom"),
                g.key_block_length / 8,
            );
            assert_eq!(block, field("keyBlock"), "{file} tcId {id} keyBlock");
            n += 1;
        }
    }
    println!("acvp {file}: {refused} of the master secrets refused (non-EMS, FIPS)");
    ran_skipping(
        &format!("acvp {file}"),
        n,
        skipped,
        "SHA-512 PRF, not a TLS 1.2 suite hash here",
        in_file,
    );
    (n, refused)
}

/// ACVP kdf-components (RFC 5246 master secret + key block): the default build derives every master
/// secret; the FIPS builds refuse every one, and check every key block.
#[test]
fn tls12_kdf_acvp_components() {
    let (n, refused) = acvp(
        "tls12_kdf_components.json",
        b"master secret",
        &["clientHelloRandom", "serverHelloRandom"],
    );
    assert!(n > 0);
    assert_eq!(refused, if cfg!(feature = "fips") { n } else { 0 });
}

/// ACVP RFC 7627 extended master secret + key block: derived in every build.
#[test]
fn tls12_kdf_acvp_ems() {
    let (n, refused) = acvp(
        "tls12_kdf_ems_rfc7627.json",
        b"extended master secret",
        &["sessionHash"],
    );
    assert!(n > 0);
    assert_eq!(refused, 0);
}

/// The 'test label' PRF vectors through `for_secret`. The file also holds SHA-224 and SHA-512 PRFs,
/// which no TLS 1.2 suite of ours uses: those are skipped, and the test asserts that the skipped
/// cases are exactly those.
#[test]
fn tls12_prf_test_label() {
    let body = text("tls/tls12_prf_test_label.txt");
    let (mut n, mut skipped) = (0, 0);
    for block in body.split("\n\n") {
        let Some(hash) = block
            .lines()
            .find_map(|l| l.split("using TLS1.2PRF-").nth(1))
        else {
            continue;
        };
        let r = &records(block)[0];
        let Some(alg) = kat::hash_named(hash.trim()) else {
            assert!(["SHA224", "SHA512"].contains(&hash.trim()), "{hash}");
            skipped += 1;
            continue;
        };
        let mut out = vec![0u8; r.get("OutLen").parse().unwrap()];
        kat::prf(alg).for_secret(
            &mut out,
            &r.bytes("Secret"),
            &r.bytes("Label"),
            &r.bytes("Seed"),
        );
        assert_eq!(out, r.bytes("Output"), "{hash}");
        n += 1;
    }
    ran_skipping(
        "tls tls12_prf_test_label.txt",
        n,
        skipped,
        "SHA-224/SHA-512 PRF, not a TLS 1.2 suite hash here",
        kat::lines_starting(&body, "Output ="),
    );
}
