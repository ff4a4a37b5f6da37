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

use super::approved;

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
    fn sealing(&self, protocol: TlsProtocolId, key: &AeadKey) -> Option<TlsRecordSealingKey> {
        TlsRecordSealingKey::new(self.alg, protocol, key.as_ref()).ok()
    }

    fn opening(&self, protocol: TlsProtocolId, key: &AeadKey) -> Option<TlsRecordOpeningKey> {
        TlsRecordOpeningKey::new(self.alg, protocol, key.as_ref()).ok()
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
        Box::new(Tls13GcmSealer {
            key: self.sealing(TlsProtocolId::TLS13, &key),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Tls13GcmOpener {
            key: self.opening(TlsProtocolId::TLS13, &key),
            iv,
        })
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

impl MessageEncrypter for Tls13GcmSealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let key = self.key.as_mut().ok_or(Error::EncryptError)?;
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        let nonce = LcNonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        key.seal_in_place_append_tag(nonce, Aad::from(make_tls13_aad(total_len)), &mut payload)
            .map_err(|_| Error::EncryptError)?;
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

impl MessageDecrypter for Tls13GcmOpener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let key = self.key.as_ref().ok_or(Error::DecryptError)?;
        let payload = &mut msg.payload;
        if payload.len() < TAG_LEN {
            return Err(Error::DecryptError);
        }
        let nonce = LcNonce::assume_unique_for_key(Nonce::new(&self.iv, seq).0);
        let aad = Aad::from(make_tls13_aad(payload.len()));
        let plain_len = key
            .open_in_place(nonce, aad, payload)
            .map_err(|_| Error::DecryptError)?
            .len();
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

#[cfg(feature = "tls12")]
pub(crate) use tls12::{TLS12_AES_128_GCM, TLS12_AES_256_GCM};

#[cfg(feature = "tls12")]
mod tls12 {
    use super::*;
    use rustls::crypto::cipher::{make_tls12_aad, KeyBlockShape, Tls12AeadAlgorithm, NONCE_LEN};

    /// RFC 5288 implicit (salt) IV length.
    const FIXED_IV_LEN: usize = 4;
    /// RFC 5288 explicit nonce length.
    const EXPLICIT_LEN: usize = 8;

    /// AES-GCM for TLS 1.2 (RFC 5288).
    pub(crate) struct Tls12Gcm(pub(crate) &'static Gcm);

    /// TLS 1.2 AES-128-GCM.
    pub(crate) static TLS12_AES_128_GCM: Tls12Gcm = Tls12Gcm(&AES_128_GCM);
    /// TLS 1.2 AES-256-GCM.
    pub(crate) static TLS12_AES_256_GCM: Tls12Gcm = Tls12Gcm(&AES_256_GCM);

    fn fixed_iv(iv: &[u8]) -> [u8; FIXED_IV_LEN] {
        let mut out = [0u8; FIXED_IV_LEN];
        let n = iv.len().min(FIXED_IV_LEN);
        out[..n].copy_from_slice(&iv[..n]);
        out
    }

    // === impl Tls12Gcm ===

    impl Tls12AeadAlgorithm for Tls12Gcm {
        fn encrypter(&self, key: AeadKey, iv: &[u8], _extra: &[u8]) -> Box<dyn MessageEncrypter> {
            // `_extra` (RFC 5288's random explicit-nonce seed) is deliberately unused: the explicit
            // nonce is the sequence number, the counter the module enforces.
            Box::new(Tls12GcmSealer {
                key: self.0.sealing(TlsProtocolId::TLS12, &key),
                fixed: fixed_iv(iv),
            })
        }

        fn decrypter(&self, key: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
            Box::new(Tls12GcmOpener {
                key: self.0.opening(TlsProtocolId::TLS12, &key),
                fixed: fixed_iv(iv),
            })
        }

        fn key_block_shape(&self) -> KeyBlockShape {
            KeyBlockShape {
                enc_key_len: self.0.key_len,
                fixed_iv_len: FIXED_IV_LEN,
                explicit_nonce_len: EXPLICIT_LEN,
            }
        }

        fn extract_keys(
            &self,
            key: AeadKey,
            iv: &[u8],
            explicit: &[u8],
        ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
            let mut full = [0u8; NONCE_LEN];
            if iv.len() != FIXED_IV_LEN || explicit.len() != EXPLICIT_LEN {
                return Err(UnsupportedOperationError);
            }
            full[..FIXED_IV_LEN].copy_from_slice(iv);
            full[FIXED_IV_LEN..].copy_from_slice(explicit);
            self.0.secrets(key, Iv::from(full))
        }

        fn fips(&self) -> bool {
            approved()
        }
    }

    struct Tls12GcmSealer {
        key: Option<TlsRecordSealingKey>,
        fixed: [u8; FIXED_IV_LEN],
    }

    impl MessageEncrypter for Tls12GcmSealer {
        fn encrypt(
            &mut self,
            msg: OutboundPlainMessage<'_>,
            seq: u64,
        ) -> Result<OutboundOpaqueMessage, Error> {
            let total_len = self.encrypted_payload_len(msg.payload.len());
            let key = self.key.as_mut().ok_or(Error::EncryptError)?;
            let explicit = seq.to_be_bytes();
            let mut nonce = [0u8; NONCE_LEN];
            nonce[..FIXED_IV_LEN].copy_from_slice(&self.fixed);
            nonce[FIXED_IV_LEN..].copy_from_slice(&explicit);
            let aad = make_tls12_aad(seq, msg.typ, msg.version, msg.payload.len());

            let mut payload = PrefixedPayload::with_capacity(total_len);
            payload.extend_from_slice(&explicit);
            payload.extend_from_chunks(&msg.payload);
            let tag = key
                .seal_in_place_separate_tag(
                    LcNonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut payload.as_mut()[EXPLICIT_LEN..],
                )
                .map_err(|_| Error::EncryptError)?;
            payload.extend_from_slice(tag.as_ref());
            Ok(OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
        }

        fn encrypted_payload_len(&self, payload_len: usize) -> usize {
            EXPLICIT_LEN + payload_len + TAG_LEN
        }
    }

    struct Tls12GcmOpener {
        key: Option<TlsRecordOpeningKey>,
        fixed: [u8; FIXED_IV_LEN],
    }

    impl MessageDecrypter for Tls12GcmOpener {
        fn decrypt<'a>(
            &mut self,
            mut msg: InboundOpaqueMessage<'a>,
            seq: u64,
        ) -> Result<InboundPlainMessage<'a>, Error> {
            let key = self.key.as_ref().ok_or(Error::DecryptError)?;
            let payload = &mut msg.payload;
            if payload.len() < EXPLICIT_LEN + TAG_LEN {
                return Err(Error::DecryptError);
            }
            let mut nonce = [0u8; NONCE_LEN];
            nonce[..FIXED_IV_LEN].copy_from_slice(&self.fixed);
            nonce[FIXED_IV_LEN..].copy_from_slice(&payload[..EXPLICIT_LEN]);
            let plain_len = payload.len() - EXPLICIT_LEN - TAG_LEN;
            let aad = make_tls12_aad(seq, msg.typ, msg.version, plain_len);
            let plain = key
                .open_within(
                    LcNonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    payload,
                    EXPLICIT_LEN..,
                )
                .map_err(|_| Error::DecryptError)?
                .len();
            payload.truncate(plain);
            Ok(msg.into_plain_message())
        }
    }
}

#[cfg(not(feature = "fips"))]
pub(crate) use chacha::CHACHA20_POLY1305;
#[cfg(all(not(feature = "fips"), feature = "tls12"))]
pub(crate) use chacha::TLS12_CHACHA20_POLY1305;

#[cfg(not(feature = "fips"))]
mod chacha;
