//! TLS 1.2 AES-GCM record protection (RFC 5288): nonce = 4-byte implicit IV ‖ 8-byte explicit
//! counter, sealed with the module's `TlsProtocolId::TLS12` key so the module checks that the
//! counter increases (see the parent module for why that makes the IV module-built).

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

impl Tls12Gcm {
    /// The TLS 1.2 record encrypter (also what [`Tls12AeadAlgorithm::encrypter`] returns).
    pub(crate) fn sealer(&self, key: &[u8], iv: &[u8]) -> Tls12GcmSealer {
        Tls12GcmSealer {
            key: self.0.sealing(TlsProtocolId::TLS12, key),
            fixed: fixed_iv(iv),
        }
    }

    /// The TLS 1.2 record decrypter (also what [`Tls12AeadAlgorithm::decrypter`] returns).
    pub(crate) fn opener(&self, key: &[u8], iv: &[u8]) -> Tls12GcmOpener {
        Tls12GcmOpener {
            key: self.0.opening(TlsProtocolId::TLS12, key),
            fixed: fixed_iv(iv),
        }
    }
}

impl Tls12AeadAlgorithm for Tls12Gcm {
    fn encrypter(&self, key: AeadKey, iv: &[u8], _extra: &[u8]) -> Box<dyn MessageEncrypter> {
        // `_extra` (RFC 5288's random explicit-nonce seed) is deliberately unused: the explicit
        // nonce is the sequence number, the counter the module enforces.
        Box::new(self.sealer(key.as_ref(), iv))
    }

    fn decrypter(&self, key: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
        Box::new(self.opener(key.as_ref(), iv))
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

/// TLS 1.2 AES-GCM record encrypter.
pub(crate) struct Tls12GcmSealer {
    key: Option<TlsRecordSealingKey>,
    fixed: [u8; FIXED_IV_LEN],
}

impl Tls12GcmSealer {
    /// The one AES-GCM seal of the TLS 1.2 record path: nonce = implicit IV ‖ `explicit`
    /// (RFC 5288), sealed in place by the module's TLS 1.2 sealing key, which requires
    /// `explicit` to increase. [`MessageEncrypter::encrypt`] passes the record sequence number
    /// and the RFC 5246 AAD; the known-answer tests pass the vector's nonce tail and AAD.
    pub(crate) fn seal_with_aad(
        &mut self,
        explicit: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<aead::Tag, Error> {
        let key = self.key.as_mut().ok_or(Error::EncryptError)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..FIXED_IV_LEN].copy_from_slice(&self.fixed);
        nonce[FIXED_IV_LEN..].copy_from_slice(&explicit.to_be_bytes());
        key.seal_in_place_separate_tag(
            LcNonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            in_out,
        )
        .map_err(|_| Error::EncryptError)
    }
}

impl MessageEncrypter for Tls12GcmSealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let aad = make_tls12_aad(seq, msg.typ, msg.version, msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_slice(&seq.to_be_bytes());
        payload.extend_from_chunks(&msg.payload);
        let tag = self.seal_with_aad(seq, &aad, &mut payload.as_mut()[EXPLICIT_LEN..])?;
        payload.extend_from_slice(tag.as_ref());
        Ok(OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        EXPLICIT_LEN + payload_len + TAG_LEN
    }
}

/// TLS 1.2 AES-GCM record decrypter.
pub(crate) struct Tls12GcmOpener {
    key: Option<TlsRecordOpeningKey>,
    fixed: [u8; FIXED_IV_LEN],
}

impl Tls12GcmOpener {
    /// The one AES-GCM open of the TLS 1.2 record path: `in_out` is explicit nonce ‖ ciphertext ‖
    /// tag (the record payload); nonce = implicit IV ‖ explicit nonce. Decrypts in place and
    /// returns the plaintext range within `in_out`.
    pub(crate) fn open_with_aad(
        &self,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<std::ops::Range<usize>, Error> {
        let key = self.key.as_ref().ok_or(Error::DecryptError)?;
        if in_out.len() < EXPLICIT_LEN + TAG_LEN {
            return Err(Error::DecryptError);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..FIXED_IV_LEN].copy_from_slice(&self.fixed);
        nonce[FIXED_IV_LEN..].copy_from_slice(&in_out[..EXPLICIT_LEN]);
        let plain_len = key
            .open_within(
                LcNonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                in_out,
                EXPLICIT_LEN..,
            )
            .map_err(|_| Error::DecryptError)?
            .len();
        Ok(0..plain_len)
    }
}

impl MessageDecrypter for Tls12GcmOpener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        let plain_len = payload
            .len()
            .checked_sub(EXPLICIT_LEN + TAG_LEN)
            .ok_or(Error::DecryptError)?;
        let aad = make_tls12_aad(seq, msg.typ, msg.version, plain_len);
        let plain = self.open_with_aad(&aad, payload)?;
        payload.truncate(plain.end);
        Ok(msg.into_plain_message())
    }
}
