//! Heap allocations on the handshake's hot paths, counted (allocation-counter's global allocator,
//! linked into this test binary only).
//!
//! TLS 1.3 computes each Finished MAC (RFC 8446 §4.4.4) with `Hkdf::hmac_sign`, under a key used
//! once: the provider keeps that key on the stack, where boxing it through `Hmac::with_key` cost
//! a heap allocation of about 1 KiB per MAC, four per mutual-TLS handshake.
//! `tests/kat_kdf.rs` checks the MACs' values against RFC 8448.

use rustls::crypto::tls13::OkmBlock;

#[test]
fn finished_macs_do_not_allocate() {
    let provider = meshtls::provider();
    let mut checked = 0;
    for suite in &provider.cipher_suites {
        let Some(suite) = suite.tls13() else {
            continue;
        };
        let hkdf = suite.hkdf_provider;
        let len = suite.common.hash_provider.output_len();
        let key = OkmBlock::new(&[0x5a; 48][..len]);
        let transcript = [0xa5; 48];
        // Once outside the count, so nothing lazily initialised is counted.
        let first = hkdf.hmac_sign(&key, &transcript[..len]);
        let mut again = None;
        let counted = allocation_counter::measure(|| {
            again = Some(hkdf.hmac_sign(&key, &transcript[..len]));
        });
        assert_eq!(
            counted.count_total, 0,
            "{:?}: hmac_sign allocated: {counted:?}",
            suite.common.suite
        );
        let again = again.expect("measured closure ran");
        assert_eq!(again.as_ref(), first.as_ref(), "{:?}", suite.common.suite);
        assert_eq!(first.as_ref().len(), len);
        checked += 1;
    }
    // Every build has TLS 1.3 AES-128-GCM (SHA-256) and AES-256-GCM (SHA-384).
    assert!(checked >= 2, "only {checked} TLS 1.3 suites");
}
