//! Coverage guard: every row of the policy table the provider offers in this build (version, suite,
//! group, signature scheme, key type) must have known-answer tests, listed below. A row missing here
//! (say, a suite added to the table) fails this test, and so does an entry naming a test function
//! that does not exist.

/// (policy-table row name, the KAT tests covering it as `file::function`).
const COVERAGE: &[(&str, &[&str])] = &[
    // TLS 1.3 suites: hash, HKDF/key schedule, record protection.
    (
        "TLS_AES_256_GCM_SHA384",
        &[
            "kat_hash::sha384_short_and_long",
            "kat_kdf::tls13_kdf_acvp",
            "kat_kdf::hkdf_wycheproof",
            "kat_aead::aes256_gcm_cavp",
            "kat_aead::aes_gcm_wycheproof",
        ],
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        &[
            "kat_hash::sha256_short_and_long",
            "kat_kdf::tls13_key_schedule_rfc8448",
            "kat_kdf::tls13_kdf_acvp",
            "kat_aead::aes128_gcm_cavp",
            "kat_aead::rfc8448_traffic_keys_record_path",
        ],
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        &[
            "kat_kdf::tls13_kdf_acvp",
            "kat_aead::chacha20_poly1305_wycheproof",
        ],
    ),
    // TLS 1.2 suites: PRF/EMS, record protection (TLS 1.2 nonce construction), signatures.
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_prf::tls12_kdf_acvp_components",
            "kat_aead::aes256_gcm_cavp",
            "kat_sig::ecdsa_cavp",
        ],
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_prf::tls12_prf_test_label",
            "kat_aead::aes128_gcm_cavp",
            "kat_sig::ecdsa_wycheproof",
        ],
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_aead::chacha20_poly1305_wycheproof",
        ],
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_aead::aes256_gcm_cavp",
            "kat_sig::rsa_pss_wycheproof",
        ],
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_aead::aes128_gcm_cavp",
            "kat_sig::rsa_pkcs1_cavp",
        ],
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_aead::chacha20_poly1305_wycheproof",
        ],
    ),
    // Key-exchange groups.
    (
        "secp256r1",
        &[
            "kat_kx::ecdh_cavp_ecccdh",
            "kat_kx::ecdh_cavp_kas_zz_only",
            "kat_kx::ecdh_wycheproof_ecpoint",
        ],
    ),
    (
        "secp384r1",
        &[
            "kat_kx::ecdh_cavp_ecccdh",
            "kat_kx::ecdh_cavp_kas_zz_only",
            "kat_kx::ecdh_wycheproof_ecpoint",
        ],
    ),
    (
        "x25519",
        &[
            "kat_kx::x25519_rfc7748",
            "kat_kdf::tls13_key_schedule_rfc8448",
        ],
    ),
    (
        "SecP256r1MLKEM768",
        &[
            "kat_kx::mlkem768_kat_through_hybrids",
            "kat_kx::mlkem768_wycheproof_through_hybrids",
        ],
    ),
    (
        "X25519MLKEM768",
        &[
            "kat_kx::mlkem768_kat_through_hybrids",
            "kat_kx::mlkem768_wycheproof_through_hybrids",
        ],
    ),
    // Handshake signature schemes.
    (
        "ecdsa_secp384r1_sha384",
        &["kat_sig::ecdsa_cavp", "kat_sig::ecdsa_wycheproof"],
    ),
    (
        "ecdsa_secp256r1_sha256",
        &["kat_sig::ecdsa_cavp", "kat_sig::ecdsa_wycheproof"],
    ),
    (
        "ed25519",
        &[
            "kat_sig::ed25519_wycheproof",
            "kat_sign::ed25519_sign_input",
        ],
    ),
    ("rsa_pss_rsae_sha512", &["kat_sig::rsa_pss_wycheproof"]),
    ("rsa_pss_rsae_sha384", &["kat_sig::rsa_pss_wycheproof"]),
    ("rsa_pss_rsae_sha256", &["kat_sig::rsa_pss_wycheproof"]),
    (
        "rsa_pkcs1_sha512",
        &["kat_sig::rsa_pkcs1_cavp", "kat_sig::rsa_pkcs1_wycheproof"],
    ),
    (
        "rsa_pkcs1_sha384",
        &["kat_sig::rsa_pkcs1_cavp", "kat_sig::rsa_pkcs1_wycheproof"],
    ),
    (
        "rsa_pkcs1_sha256",
        &["kat_sig::rsa_pkcs1_cavp", "kat_sig::rsa_pkcs1_wycheproof"],
    ),
    // Key types (their certificate signature verifiers, and signing).
    (
        "ECDSA P-256",
        &[
            "kat_sig::ecdsa_cavp",
            "kat_sign::certs_keys_choose_sign_verify",
        ],
    ),
    (
        "ECDSA P-384",
        &[
            "kat_sig::ecdsa_cavp",
            "kat_sign::certs_keys_choose_sign_verify",
        ],
    ),
    (
        "RSA",
        &[
            "kat_sig::rsa_pkcs1_cavp",
            "kat_sig::rsa_pss_wycheproof",
            "kat_sign::certs_keys_choose_sign_verify",
        ],
    ),
    (
        "Ed25519",
        &[
            "kat_sig::ed25519_wycheproof",
            "kat_sign::ed25519_sign_input",
        ],
    ),
    // Protocol versions: their key schedules.
    (
        "TLSv1.3",
        &[
            "kat_kdf::tls13_key_schedule_rfc8448",
            "kat_kdf::tls13_kdf_acvp",
        ],
    ),
    (
        "TLSv1.2",
        &[
            "kat_prf::tls12_kdf_acvp_ems",
            "kat_prf::tls12_kdf_acvp_components",
        ],
    ),
];

/// Every row of the policy table this build's provider offers, by name.
fn components() -> Vec<&'static str> {
    meshtls::policy::table()
        .iter()
        .filter(|row| row.offered())
        .map(|row| row.name)
        .collect()
}

/// Whether `tests/<file>.rs` defines test function `function`.
fn test_exists(reference: &str) -> bool {
    let Some((file, function)) = reference.split_once("::") else {
        return false;
    };
    let path = format!("{}/tests/{file}.rs", env!("CARGO_MANIFEST_DIR"));
    let Ok(src) = std::fs::read_to_string(path) else {
        return false;
    };
    src.contains(&format!("#[test]\nfn {function}()"))
}

#[test]
fn every_component_has_a_kat() {
    let names = components();
    assert!(names.len() >= 8, "{names:?}");
    let mut uncovered = Vec::new();
    for name in &names {
        match COVERAGE.iter().find(|(n, _)| n == name) {
            Some((_, tests)) => {
                assert!(!tests.is_empty(), "{name}: empty entry");
                for t in *tests {
                    assert!(test_exists(t), "{name}: no KAT test {t}");
                }
            }
            None => uncovered.push(*name),
        }
    }
    assert!(
        uncovered.is_empty(),
        "components without a KAT: {uncovered:?}"
    );
    println!("kat coverage: {} components, each with KATs", names.len());
}
