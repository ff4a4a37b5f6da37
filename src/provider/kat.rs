//! Not API: the provider's internal objects, for the known-answer tests and the self-test.
//!
//! rustls reaches most of the provider through public objects (suites, hashes, HKDF, PRF, AEAD
//! algorithms, verifiers). Four things it uses have no public handle, and a known-answer test needs
//! one: the HMAC objects, key exchange from a fixed private key, ML-KEM decapsulation with a fixed
//! key, and record protection with arbitrary additional data. Each function here returns the very
//! object, or calls the very function, the TLS path uses; nothing is reimplemented.
//!
//! Who can reach it: [`crate::fips::self_test`] calls [`seal`] and [`open`] from inside the crate.
//! Outside the crate it is `meshtls::kat` only with the test suite's `kat` cargo feature, and the
//! functions only tests use (fixed ECDH and ML-KEM keys, the HMAC handles) are compiled only then.
//! A product build, the regulated one above all, has no public way to seal with a chosen nonce or to
//! agree from a chosen private key.

use rustls::crypto::cipher::Iv;
#[cfg(feature = "kat")]
use rustls::crypto::{hmac::Hmac, ActiveKeyExchange};
use rustls::Error;
#[cfg(feature = "kat")]
use rustls::NamedGroup;

use super::aead;
#[cfg(feature = "kat")]
use super::{hash, kx};

#[cfg(feature = "kat")]
/// The provider's HMAC-SHA256 (the one HKDF-SHA256 and the TLS 1.3 Finished MAC use).
pub fn hmac_sha256() -> &'static dyn Hmac {
    &hash::HMAC_SHA256
}

#[cfg(feature = "kat")]
/// The provider's HMAC-SHA384 (the one HKDF-SHA384 and the TLS 1.3 Finished MAC use).
pub fn hmac_sha384() -> &'static dyn Hmac {
    &hash::HMAC_SHA384
}

#[cfg(feature = "kat")]
fn ecdh_group(group: NamedGroup) -> Result<&'static kx::Ecdh, Error> {
    match group {
        NamedGroup::secp256r1 => Ok(&kx::SECP256R1),
        NamedGroup::secp384r1 => Ok(&kx::SECP384R1),
        #[cfg(not(feature = "fips"))]
        NamedGroup::X25519 => Ok(&kx::X25519),
        _ => Err(Error::General(format!(
            "no ECDH group {group:?} in this build"
        ))),
    }
}

#[cfg(feature = "kat")]
/// The key exchange of ECDH `group` (`secp256r1`, `secp384r1`; `X25519` in the default build) with a
/// fixed private key (big-endian scalar of the field length, or the 32-byte X25519 scalar) instead
/// of a generated one. `complete(peer_share)` then runs the same checks and agreement as a handshake.
pub fn ecdh_with_private_key(
    group: NamedGroup,
    private: &[u8],
) -> Result<Box<dyn ActiveKeyExchange>, Error> {
    Ok(Box::new(ecdh_group(group)?.with_private_key(private)?))
}

#[cfg(feature = "kat")]
/// The client side of hybrid `group` (`secp256r1MLKEM768`; `X25519MLKEM768` in the default build)
/// with fixed keys: the ECDH private key, and an ML-KEM-768 decapsulation key (2400 bytes) with its
/// encapsulation key (1184 bytes). `complete(server_share)` then splits the share, agrees and
/// decapsulates exactly as in a handshake; the secret is the two parts in the group's wire order.
pub fn hybrid_with_keys(
    group: NamedGroup,
    ecdh_private: &[u8],
    mlkem_dk: &[u8],
    mlkem_ek: &[u8],
) -> Result<Box<dyn ActiveKeyExchange>, Error> {
    let hybrid = match group {
        NamedGroup::secp256r1MLKEM768 => &kx::SECP256R1MLKEM768,
        #[cfg(not(feature = "fips"))]
        NamedGroup::X25519MLKEM768 => &kx::X25519MLKEM768,
        _ => {
            return Err(Error::General(format!(
                "no hybrid group {group:?} in this build"
            )))
        }
    };
    Ok(Box::new(hybrid.with_keys(
        ecdh_private,
        mlkem_dk,
        mlkem_ek,
    )?))
}

/// A record-protection path of the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordAead {
    /// AES-GCM as the TLS 1.3 suites use it (module's TLS 1.3 sealing key; nonce = IV XOR seq). The
    /// key length picks AES-128 or AES-256.
    AesGcmTls13,
    /// AES-GCM as the TLS 1.2 suites use it (module's TLS 1.2 sealing key; nonce = implicit IV ‖
    /// explicit counter).
    #[cfg(all(feature = "tls12", feature = "kat"))]
    AesGcmTls12,
    /// ChaCha20-Poly1305 as both TLS versions use it (default build only).
    #[cfg(all(not(feature = "fips"), feature = "kat"))]
    ChaCha20Poly1305,
}

#[cfg(feature = "kat")]
impl RecordAead {
    /// Every path this build has.
    pub const ALL: &'static [RecordAead] = &[
        RecordAead::AesGcmTls13,
        #[cfg(all(feature = "tls12", feature = "kat"))]
        RecordAead::AesGcmTls12,
        #[cfg(all(not(feature = "fips"), feature = "kat"))]
        RecordAead::ChaCha20Poly1305,
    ];
}

fn gcm(key: &[u8]) -> Result<&'static aead::Gcm, Error> {
    match key.len() {
        16 => Ok(&aead::AES_128_GCM),
        32 => Ok(&aead::AES_256_GCM),
        n => Err(Error::General(format!("no AES-GCM key of {n} bytes"))),
    }
}

/// The TLS 1.2 explicit nonce that makes implicit IV ‖ explicit equal `nonce`.
#[cfg(all(feature = "tls12", feature = "kat"))]
fn explicit_part(nonce: &[u8; 12]) -> [u8; 8] {
    let mut explicit = [0u8; 8];
    explicit.copy_from_slice(&nonce[4..]);
    explicit
}

/// Seals `plaintext` under `key` with exactly `nonce` and `aad` through the record encrypter's own
/// seal (`seal_with_aad`: the call `MessageEncrypter::encrypt` makes, with the record header as
/// `aad`). The encrypter is fresh, with its IV set so that the first record's nonce is `nonce`
/// (TLS 1.3/ChaCha: IV = nonce, seq = 0; TLS 1.2: implicit IV = nonce[..4], explicit = nonce[4..]).
/// Returns ciphertext ‖ tag.
pub fn seal(
    alg: RecordAead,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut buf = plaintext.to_vec();
    let tag = match alg {
        RecordAead::AesGcmTls13 => gcm(key)?
            .tls13_sealer(key, Iv::from(*nonce))
            .seal_with_aad(0, aad, &mut buf)?,
        #[cfg(all(feature = "tls12", feature = "kat"))]
        RecordAead::AesGcmTls12 => aead::tls12::Tls12Gcm(gcm(key)?)
            .sealer(key, &nonce[..4])
            .seal_with_aad(u64::from_be_bytes(explicit_part(nonce)), aad, &mut buf)?,
        #[cfg(all(not(feature = "fips"), feature = "kat"))]
        RecordAead::ChaCha20Poly1305 => {
            aead::chacha::sealer(key, Iv::from(*nonce), true).seal_with_aad(0, aad, &mut buf)?
        }
    };
    buf.extend_from_slice(tag.as_ref());
    Ok(buf)
}

/// Opens `ciphertext_and_tag` through the record decrypter's own open (`open_with_aad`), with the
/// nonce set up as in [`seal`]. Fails with `DecryptError` when the tag does not verify.
pub fn open(
    alg: RecordAead,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, Error> {
    match alg {
        RecordAead::AesGcmTls13 => {
            let mut buf = ciphertext_and_tag.to_vec();
            let n = gcm(key)?
                .tls13_opener(key, Iv::from(*nonce))
                .open_with_aad(0, aad, &mut buf)?;
            buf.truncate(n);
            Ok(buf)
        }
        #[cfg(all(feature = "tls12", feature = "kat"))]
        RecordAead::AesGcmTls12 => {
            // The TLS 1.2 record payload: explicit nonce ‖ ciphertext ‖ tag.
            let mut buf = explicit_part(nonce).to_vec();
            buf.extend_from_slice(ciphertext_and_tag);
            let plain = aead::tls12::Tls12Gcm(gcm(key)?)
                .opener(key, &nonce[..4])
                .open_with_aad(aad, &mut buf)?;
            Ok(buf[plain].to_vec())
        }
        #[cfg(all(not(feature = "fips"), feature = "kat"))]
        RecordAead::ChaCha20Poly1305 => {
            let mut buf = ciphertext_and_tag.to_vec();
            let n = aead::chacha::opener(key, Iv::from(*nonce), true)
                .open_with_aad(0, aad, &mut buf)?;
            buf.truncate(n);
            Ok(buf)
        }
    }
}
