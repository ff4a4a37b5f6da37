//! What each build offers and claims: `fips()` per build, a change detector for the exact algorithm
//! lists, the TLS 1.2 extended-master-secret rule, and rejection of SHA-1-signed certificates.

mod common;

use common::*;
use rustls::{CipherSuite, NamedGroup, SignatureScheme};

#[test]
fn fips_flags_follow_the_build() {
    let provider = meshtls::provider();
    let versions = versions();
    let client = client_config(provider.clone(), &versions, "foo-ca1").unwrap();
    let server = server_config(provider.clone(), &versions, "foo-ca1").unwrap();
    let fips = cfg!(feature = "fips");
    assert_eq!(provider.fips(), fips);
    assert_eq!(client.fips(), fips);
    assert_eq!(server.fips(), fips);
    // rustls derives require_ems from provider.fips(): TLS 1.2 needs EMS exactly in the FIPS build.
    #[cfg(feature = "tls12")]
    assert_eq!((client.require_ems, server.require_ems), (fips, fips));
    let status = meshtls::fips::check().expect("module must be usable");
    assert_eq!(status.fips_mode, fips, "{status}");
    if fips {
        assert_eq!(status.module_major, Some(3), "{status}");
        assert!(
            status.version_string.starts_with("AWS-LC FIPS 3."),
            "{status}"
        );
        // Certified exactly when the running module is the version the certificate names, and
        // never when aws-lc-sys is linked beside it (`--features fips` on top of the defaults).
        let certified = matches!(
            status.validation,
            meshtls::fips::Validation::Certified { .. }
        );
        assert_eq!(
            certified,
            status.version_string == "AWS-LC FIPS 3.1.0" && cfg!(not(feature = "non-fips")),
            "{status}"
        );
        assert_eq!(
            status.build.crypto_libraries().len(),
            if cfg!(feature = "non-fips") { 2 } else { 1 },
            "{status}"
        );
    } else {
        assert!(
            matches!(
                status.validation,
                meshtls::fips::Validation::Unvalidated { .. }
            ),
            "{status}"
        );
    }
    println!("{status}");
}

#[test]
fn algorithm_lists_are_exactly_these() {
    let p = meshtls::provider();
    let suites: Vec<CipherSuite> = p.cipher_suites.iter().map(|s| s.suite()).collect();
    let groups: Vec<NamedGroup> = p.kx_groups.iter().map(|g| g.name()).collect();
    let schemes = p.signature_verification_algorithms.supported_schemes();
    // Verifiers by their (public key, signature) algorithm identifiers, as webpki matches them.
    let verifiers: Vec<(Vec<u8>, Vec<u8>)> = p
        .signature_verification_algorithms
        .all
        .iter()
        .map(|a| {
            (
                a.public_key_alg_id().to_vec(),
                a.signature_alg_id().to_vec(),
            )
        })
        .collect();

    let mut want_suites = vec![
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        CipherSuite::TLS13_AES_128_GCM_SHA256,
    ];
    if !cfg!(feature = "fips") {
        want_suites.push(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
    }
    if cfg!(feature = "tls12") {
        want_suites.extend([
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ]);
        if !cfg!(feature = "fips") {
            want_suites.push(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
        }
        want_suites.extend([
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ]);
        if !cfg!(feature = "fips") {
            want_suites.push(CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
        }
    }
    assert_eq!(suites, want_suites);

    let want_groups = if cfg!(feature = "fips") {
        vec![
            NamedGroup::secp256r1MLKEM768,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1,
        ]
    } else {
        vec![
            NamedGroup::X25519MLKEM768,
            NamedGroup::secp256r1MLKEM768,
            NamedGroup::X25519,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1,
        ]
    };
    assert_eq!(groups, want_groups);

    assert_eq!(
        schemes,
        [
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ED25519,
            SignatureScheme::RSA_PSS_SHA512,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PKCS1_SHA512,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA256,
        ]
    );
    use rustls::pki_types::alg_id as id;
    let want: Vec<(Vec<u8>, Vec<u8>)> = [
        (id::ECDSA_P256, id::ECDSA_SHA256),
        (id::ECDSA_P256, id::ECDSA_SHA384),
        (id::ECDSA_P384, id::ECDSA_SHA256),
        (id::ECDSA_P384, id::ECDSA_SHA384),
        (id::RSA_ENCRYPTION, id::RSA_PKCS1_SHA256),
        (id::RSA_ENCRYPTION, id::RSA_PKCS1_SHA384),
        (id::RSA_ENCRYPTION, id::RSA_PKCS1_SHA512),
        (id::RSA_ENCRYPTION, id::RSA_PSS_SHA256),
        (id::RSA_ENCRYPTION, id::RSA_PSS_SHA384),
        (id::RSA_ENCRYPTION, id::RSA_PSS_SHA512),
        (id::ED25519, id::ED25519),
    ]
    .iter()
    .map(|(k, s)| (k.to_vec(), s.to_vec()))
    .collect();
    assert_eq!(verifiers, want);
}

/// The one table and the objects the provider hands rustls agree, row by row: the provider's lists
/// are exactly the offered rows in order; each object's wire id is its row's; each object's own
/// `fips()` is "module in FIPS mode and the row is approved"; a FIPS build offers only approved
/// rows; every scheme's and key type's verifiers are among the provider's.
#[test]
fn the_policy_table_is_what_the_provider_offers() {
    use meshtls::policy::{self, Kind};
    let p = meshtls::provider();
    let fips_mode = meshtls::fips::status().fips_mode;
    let offered = |kind| -> Vec<&policy::Algorithm> {
        policy::table()
            .iter()
            .filter(|r| r.kind == kind && r.offered())
            .collect()
    };

    let suites = offered(Kind::Suite);
    assert_eq!(suites.len(), p.cipher_suites.len());
    for (row, suite) in suites.iter().zip(&p.cipher_suites) {
        assert_eq!(row.wire, Some(u16::from(suite.suite())), "{}", row.name);
        assert_eq!(
            suite.fips(),
            fips_mode && row.approval.is_approved(),
            "{}",
            row.name
        );
        assert_eq!(policy::suite(suite.suite()).map(|r| r.name), Some(row.name));
    }
    let groups = offered(Kind::Group);
    assert_eq!(groups.len(), p.kx_groups.len());
    for (row, group) in groups.iter().zip(&p.kx_groups) {
        assert_eq!(row.wire, Some(u16::from(group.name())), "{}", row.name);
        assert_eq!(
            group.fips(),
            fips_mode && row.approval.is_approved(),
            "{}",
            row.name
        );
    }
    let schemes = offered(Kind::SignatureScheme);
    let mapping = p.signature_verification_algorithms.mapping;
    assert_eq!(schemes.len(), mapping.len());
    for (row, (scheme, verifiers)) in schemes.iter().zip(mapping) {
        assert_eq!(row.wire, Some(u16::from(*scheme)), "{}", row.name);
        assert_eq!(verifiers.len(), row.verifiers().len(), "{}", row.name);
        for v in *verifiers {
            assert_eq!(
                v.fips(),
                fips_mode && row.approval.is_approved(),
                "{}",
                row.name
            );
        }
    }
    let all = p.signature_verification_algorithms.all;
    let from_keys: usize = offered(Kind::Key).iter().map(|r| r.verifiers().len()).sum();
    assert_eq!(all.len(), from_keys);
    for row in offered(Kind::SignatureScheme) {
        for v in row.verifiers() {
            let same = |a: &&dyn rustls::pki_types::SignatureVerificationAlgorithm| {
                a.public_key_alg_id() == v.public_key_alg_id()
                    && a.signature_alg_id() == v.signature_alg_id()
            };
            assert!(all.iter().any(same), "{}: verifier not in `all`", row.name);
        }
    }
    let versions = offered(Kind::Version);
    assert_eq!(
        versions.iter().map(|r| r.name).collect::<Vec<_>>(),
        if cfg!(feature = "tls12") {
            vec!["TLSv1.3", "TLSv1.2"]
        } else {
            vec!["TLSv1.3"]
        }
    );
    for row in policy::table() {
        if cfg!(feature = "fips") {
            assert_eq!(row.offered(), row.in_build(), "{}", row.name);
            assert!(
                !row.offered() || row.approval.is_approved(),
                "FIPS build offers unapproved {}",
                row.name
            );
        }
        assert!(!row.approval.text().is_empty(), "{}", row.name);
    }
    assert_eq!(p.fips(), fips_mode);
    println!(
        "policy table: {} rows, {} offered in this build",
        policy::table().len(),
        policy::table().iter().filter(|r| r.offered()).count()
    );
}

#[test]
fn sha1_signed_certificates_are_rejected_both_ways() {
    let provider = meshtls::provider();
    let versions = versions();
    // Server presents a SHA-1-signed chain.
    let (mut c, mut s) = pair(
        client_config(provider.clone(), &versions, "foo-ca1").unwrap(),
        server_config(provider.clone(), &versions, "sha1-ca1").unwrap(),
        "sha1-ca1",
    );
    let err = handshake(&mut c, &mut s).expect_err("SHA-1 server certificate accepted");
    println!("server with SHA-1 cert: {err:?}");
    assert!(
        matches!(err, Failed::Client(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );

    // Client presents a SHA-1-signed chain.
    let (mut c, mut s) = pair(
        client_config(provider.clone(), &versions, "sha1-ca1").unwrap(),
        server_config(provider, &versions, "foo-ca1").unwrap(),
        "foo-ca1",
    );
    let err = handshake(&mut c, &mut s).expect_err("SHA-1 client certificate accepted");
    println!("client with SHA-1 cert: {err:?}");
    assert!(
        matches!(err, Failed::Server(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
}

#[test]
fn x25519_is_absent_from_the_fips_build() {
    let named: Vec<NamedGroup> = meshtls::provider()
        .kx_groups
        .iter()
        .map(|g| g.name())
        .collect();
    let has_x25519 =
        named.contains(&NamedGroup::X25519) || named.contains(&NamedGroup::X25519MLKEM768);
    assert_eq!(has_x25519, !cfg!(feature = "fips"));
    for g in meshtls::provider().kx_groups.iter() {
        let approved = !matches!(g.name(), NamedGroup::X25519 | NamedGroup::X25519MLKEM768);
        assert_eq!(
            g.fips(),
            approved && cfg!(feature = "fips"),
            "{:?}",
            g.name()
        );
    }
}

#[test]
fn malformed_key_shares_are_refused() {
    for g in meshtls::provider().kx_groups.iter() {
        for bad in [
            &[][..],
            &[4u8; 3][..],
            &[0u8; 65][..],
            &[4u8; 1250][..],
            &[0xffu8; 2000][..],
        ] {
            assert!(
                g.start_and_complete(bad).is_err(),
                "{:?} accepted {} bytes",
                g.name(),
                bad.len()
            );
            let kx = g.start().unwrap();
            assert!(
                kx.complete(bad).is_err(),
                "{:?} client accepted {} bytes",
                g.name(),
                bad.len()
            );
        }
        // And the honest path: a share from one side completes on the other to the same secret.
        let client = g.start().unwrap();
        let done = g.start_and_complete(client.pub_key()).unwrap();
        let secret = client.complete(&done.pub_key).unwrap();
        assert_eq!(
            secret.secret_bytes(),
            done.secret.secret_bytes(),
            "{:?}",
            g.name()
        );
    }
}

#[cfg(feature = "tls12")]
mod tls12 {
    use super::*;
    use rustls::{Error, PeerIncompatible, SupportedCipherSuite};

    /// Removes extension `ext` from the ClientHello or ServerHello that opens `flight`.
    fn strip_extension(mut flight: Vec<u8>, ext: u16) -> Vec<u8> {
        let u16_at = |b: &[u8], i: usize| usize::from(u16::from_be_bytes([b[i], b[i + 1]]));
        assert_eq!(flight[0], 22, "not a handshake record");
        let hello = flight[5];
        let mut p = 9 + 2 + 32;
        p += 1 + usize::from(flight[p]);
        if hello == 1 {
            p += 2 + u16_at(&flight, p);
            p += 1 + usize::from(flight[p]);
        } else {
            p += 3;
        }
        let total_at = p;
        let end = p + 2 + u16_at(&flight, p);
        p += 2;
        while p < end {
            let (typ, len) = (u16_at(&flight, p) as u16, u16_at(&flight, p + 2));
            if typ == ext {
                let cut = 4 + len;
                flight.drain(p..p + cut);
                let fix16 = |b: &mut Vec<u8>, i: usize| {
                    let v = (u16_at(b, i) - cut) as u16;
                    b[i..i + 2].copy_from_slice(&v.to_be_bytes());
                };
                fix16(&mut flight, total_at);
                fix16(&mut flight, 3);
                let hs = u32::from_be_bytes([0, flight[6], flight[7], flight[8]]) - cut as u32;
                flight[6..9].copy_from_slice(&hs.to_be_bytes()[1..]);
                return flight;
            }
            p += 4 + len;
        }
        panic!("extension {ext:#x} not found");
    }

    const EMS: u16 = 0x0017;

    fn once(f: fn(Vec<u8>) -> Vec<u8>) -> impl FnMut(Vec<u8>) -> Vec<u8> {
        let mut first = true;
        move |b| if std::mem::take(&mut first) { f(b) } else { b }
    }

    fn run(require_ems: bool, strip_client_hello: bool) -> Failed {
        let provider = meshtls::provider();
        let versions = [&rustls::version::TLS12];
        let mut client = client_config(provider.clone(), &versions, "foo-ca1").unwrap();
        let mut server = server_config(provider, &versions, "foo-ca1").unwrap();
        client.require_ems = require_ems;
        server.require_ems = require_ems;
        let (mut c, mut s) = pair(client, server, "foo-ca1");
        let strip: fn(Vec<u8>) -> Vec<u8> = |b| strip_extension(b, EMS);
        let keep: fn(Vec<u8>) -> Vec<u8> = |b| b;
        let (mut up, mut down) = if strip_client_hello {
            (once(strip), once(keep))
        } else {
            (once(keep), once(strip))
        };
        handshake_filtered(&mut c, &mut s, &mut up, &mut down)
            .expect_err("handshake without EMS succeeded")
    }

    fn is_ems_refusal(e: &Error) -> bool {
        matches!(
            e,
            Error::PeerIncompatible(PeerIncompatible::ExtendedMasterSecretExtensionRequired)
        )
    }

    #[cfg(feature = "fips")]
    #[test]
    fn fips_tls12_without_ems_is_refused() {
        // Config level: with require_ems the side that sees no EMS refuses.
        match run(true, true) {
            Failed::Server(e) if is_ems_refusal(&e) => {}
            other => panic!("server: {other:?}"),
        }
        match run(true, false) {
            Failed::Client(e) if is_ems_refusal(&e) => {}
            other => panic!("client: {other:?}"),
        }
        // Provider level: a config that forgot require_ems still cannot derive a non-EMS master
        // secret; whichever side derives first (the client) refuses.
        for strip_client_hello in [true, false] {
            match run(false, strip_client_hello) {
                Failed::Client(e) | Failed::Server(e) if is_ems_refusal(&e) => {}
                other => {
                    panic!("require_ems=false, strip_client_hello={strip_client_hello}: {other:?}")
                }
            }
        }
    }

    #[cfg(not(feature = "fips"))]
    #[test]
    fn default_build_does_not_apply_the_ems_rule() {
        // Without EMS the transcripts differ, so the handshake still fails, but not for want of EMS.
        let e = run(false, true);
        assert!(
            !matches!(e, Failed::Server(ref e) | Failed::Client(ref e) if is_ems_refusal(e)),
            "{e:?}"
        );
    }

    #[test]
    fn prf_refuses_plain_master_secret_only_in_fips_build() {
        let p = meshtls::provider();
        let suite = p
            .cipher_suites
            .iter()
            .find_map(|s| match s {
                SupportedCipherSuite::Tls12(t) => Some(*t),
                _ => None,
            })
            .unwrap();
        let group = p
            .kx_groups
            .iter()
            .find(|g| g.name() == NamedGroup::secp256r1)
            .unwrap();
        for label in [&b"master secret"[..], b"extended master secret"] {
            let peer = group.start().unwrap();
            let mut out = [0u8; 48];
            let r = suite.prf_provider.for_key_exchange(
                &mut out,
                group.start().unwrap(),
                peer.pub_key(),
                label,
                &[1; 64],
            );
            let refused = cfg!(feature = "fips") && label == b"master secret";
            if refused {
                assert!(matches!(r, Err(ref e) if is_ems_refusal(e)), "{r:?}");
            } else {
                r.unwrap();
                assert_ne!(out, [0u8; 48]);
            }
        }
    }
}
