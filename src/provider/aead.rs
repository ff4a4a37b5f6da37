//! Record protection: AES-GCM (both builds) and ChaCha20-Poly1305 (default build only).
//!
//! AES-GCM is FIPS-approved only when the module itself controls the IV (SP 800-38D §8.2, FIPS 140-3
//! IG C.H). aws-lc-rs exposes that as [`TlsRecordSealingKey`]/[`TlsRecordOpeningKey`]: the sealing
//! key refuses a nonce whose counter does not strictly increase, so a nonce can never repeat under a
//! key. We use:
//! - TLS 1.3: `TlsProtocolId::TLS13`, nonce = IV XOR record sequence number (RFC 8446 §5.3). The
//!   module learns the IV mask from the first record and checks the counter after that.
//! - TLS 1.2: `TlsProtocolId::TLS12`, nonce = 4-byte implicit IV ‖ 8-byte explicit counter, where the
//!   explicit part is the record sequence number (RFC 5288 §3, the construction IG C.H names for
//!   TLS 1.2). The module checks that the explicit counter increases.
//!
//! Secret extraction (`extract_keys`, used for kTLS) is refused in the FIPS build: record keys would
//! leave the module boundary.

use aws_lc_rs::aead::{
    self, Aad, Nonce as LcNonce, TlsProtocolId, TlsRecordOpeningKey, TlsRecordSealingKey,
};
use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter,
    MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::{ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion};

use super::mode::approved;

/// AES-GCM's tag length.
const TAG_LEN: usize = 16;

/// An AES-GCM record-protection algorithm for one key size.
pub(crate) struct Gcm {
    alg: &'static aead::Algorithm,
    key_len: usize,
}

/// AES-128-GCM.
pub(crate) static AES_128_GCM: Gcm = Gcm {
    alg: &aead::AES_128_GCM,
    key_len: 16,
};

/// AES-256-GCM.
pub(crate) static AES_256_GCM: Gcm = Gcm {
    alg: &aead::AES_256_GCM,
    key_len: 32,
};

// === impl Gcm ===

impl Gcm {
    /// Sealing key for `protocol`. Only fails for a key of the wrong length, which rustls never
    /// passes; such an encrypter then fails every record instead of panicking.
    fn sealing(&self, protocol: TlsProtocolId, key: &[u8]) -> Option<TlsRecordSealingKey> {
        TlsRecordSealingKey::new(self.alg, protocol, key).ok()
    }

    fn opening(&self, protocol: TlsProtocolId, key: &[u8]) -> Option<TlsRecordOpeningKey> {
        TlsRecordOpeningKey::new(self.alg, protocol, key).ok()
    }

    /// The TLS 1.3 record encrypter (also what [`Tls13AeadAlgorithm::encrypter`] returns).
    pub(crate) fn tls13_sealer(&self, key: &[u8], iv: Iv) -> Tls13GcmSealer {
        Tls13GcmSealer {
            key: self.sealing(TlsProtocolId::TLS13, key),
            iv,
        }
    }

    /// The TLS 1.3 record decrypter (also what [`Tls13AeadAlgorithm::decrypter`] returns).
    pub(crate) fn tls13_opener(&self, key: &[u8], iv: Iv) -> Tls13GcmOpener {
        Tls13GcmOpener {
            key: self.opening(TlsProtocolId::TLS13, key),
            iv,
        }
    }

    /// Key and IV as extractable secrets (kTLS); refused in the FIPS build.
    fn secrets(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        if cfg!(feature = "fips") {
            return Err(UnsupportedOperationError);
        }
        Ok(match self.key_len {
            16 => ConnectionTrafficSecrets::Aes128Gcm { key, iv },
            _ => ConnectionTrafficSecrets::Aes256Gcm { key, iv },
        })
    }
}

impl Tls13AeadAlgorithm for Gcm {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(self.tls13_sealer(key.as_ref(), iv))
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(self.tls13_opener(key.as_ref(), iv))
    }

    fn key_len(&self) -> usize {
        self.key_len
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        self.secrets(key, iv)
    }

    fn fips(&self) -> bool {
        approved()
    }
}

/// TLS 1.3 AES-GCM record encrypter.
pub(crate) struct Tls13GcmSealer {
    key: Option<TlsRecordSealingKey>,
    iv: Iv,
}

impl Tls13GcmSealer {
    /// The AES-GCM seal of the TLS 1.3 record path ([`seal_xor_nonce`] with the module's TLS 1.3
    /// sealing key; nonce = IV XOR `seq`, RFC 8446 §5.3), which [`MessageEncrypter::encrypt`] calls
    /// with the record-header AAD.
    pub(crate) fn seal_with_aad(
        &mut self,
        seq: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<aead::Tag, Error> {
        seal_xor_nonce(self.key.as_mut(), &self.iv, seq, aad, in_out)
    }
}

/// An aws-lc-rs key that seals in place: the TLS 1.3 AES-GCM record key (which also checks that
/// the nonce counter increases), or ChaCha20-Poly1305's.
pub(crate) trait SealInPlace {
    /// aws-lc-rs `seal_in_place_separate_tag`.
    fn seal(
        &mut self,
        nonce: LcNonce,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<aead::Tag, aws_lc_rs::error::Unspecified>;
}

impl SealInPlace for TlsRecordSealingKey {
    fn seal(
        &mut self,
        nonce: LcNonce,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<aead::Tag, aws_lc_rs::error::Unspecified> {
        self.seal_in_place_separate_tag(nonce, Aad::from(aad), in_out)
    }
}

/// The seal of every record path whose nonce is IV XOR `seq` (TLS 1.3 AES-GCM; ChaCha20-Poly1305
/// in both versions), in place, returning the tag. The record encrypters call it with the record
/// AAD, the known-answer tests with the vector's.
pub(crate) fn seal_xor_nonce(
    key: Option<&mut impl SealInPlace>,
    iv: &Iv,
    seq: u64,
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<aead::Tag, Error> {
    let key = key.ok_or(Error::EncryptError)?;
    let nonce = LcNonce::assume_unique_for_key(Nonce::new(iv, seq).0);
    key.seal(nonce, aad, in_out)
        .map_err(|_| Error::EncryptError)
}

impl MessageEncrypter for Tls13GcmSealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        let tag = self.seal_with_aad(seq, &make_tls13_aad(total_len), payload.as_mut())?;
        payload.extend_from_slice(tag.as_ref());
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

/// TLS 1.3 AES-GCM record decrypter.
pub(crate) struct Tls13GcmOpener {
    key: Option<TlsRecordOpeningKey>,
    iv: Iv,
}

impl Tls13GcmOpener {
    /// The AES-GCM open of the TLS 1.3 record path ([`open_xor_nonce`] with this key and IV), which
    /// [`MessageDecrypter::decrypt`] calls with the record-header AAD.
    pub(crate) fn open_with_aad(
        &self,
        seq: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize, Error> {
        open_xor_nonce(self.key.as_ref(), &self.iv, seq, aad, in_out)
    }
}

/// An aws-lc-rs key that opens in place: the TLS 1.3 AES-GCM record key, or ChaCha20-Poly1305's.
pub(crate) trait OpenInPlace {
    /// aws-lc-rs `open_in_place`.
    fn open<'a>(
        &self,
        nonce: LcNonce,
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Result<&'a mut [u8], aws_lc_rs::error::Unspecified>;
}

impl OpenInPlace for TlsRecordOpeningKey {
    fn open<'a>(
        &self,
        nonce: LcNonce,
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Result<&'a mut [u8], aws_lc_rs::error::Unspecified> {
        self.open_in_place(nonce, Aad::from(aad), in_out)
    }
}

/// The open of every record path whose nonce is IV XOR `seq` (TLS 1.3 AES-GCM; ChaCha20-Poly1305
/// in both versions): `in_out` is ciphertext ‖ tag, decrypted in place; returns the plaintext
/// length. The record decrypters call it with the record AAD, the known-answer tests with the
/// vector's.
pub(crate) fn open_xor_nonce(
    key: Option<&impl OpenInPlace>,
    iv: &Iv,
    seq: u64,
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<usize, Error> {
    let key = key.ok_or(Error::DecryptError)?;
    if in_out.len() < TAG_LEN {
        return Err(Error::DecryptError);
    }
    let nonce = LcNonce::assume_unique_for_key(Nonce::new(iv, seq).0);
    key.open(nonce, aad, in_out)
        .map(|plain| plain.len())
        .map_err(|_| Error::DecryptError)
}

impl MessageDecrypter for Tls13GcmOpener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        let aad = make_tls13_aad(payload.len());
        let plain_len = self.open_with_aad(seq, &aad, payload)?;
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

// The children use this file's items; this file does not use theirs (one-way arrows): callers name
// `aead::tls12::…` and `aead::chacha::…` directly.
#[cfg(feature = "tls12")]
pub(crate) mod tls12;

#[cfg(not(feature = "fips"))]
pub(crate) mod chacha;
