//! ChaCha20-Poly1305 (RFC 8439) record protection for TLS 1.3 and TLS 1.2 (RFC 7905).
//!
//! Not FIPS-approved: this file is compiled only without the `fips` feature, so the FIPS build cannot
//! negotiate it at all.

use super::*;
use aws_lc_rs::aead::{LessSafeKey, UnboundKey, CHACHA20_POLY1305 as LC_CHACHA};

/// ChaCha20-Poly1305 for TLS 1.3 and (as [`TLS12_CHACHA20_POLY1305`]) TLS 1.2 (RFC 7905).
pub(crate) struct ChaCha;

/// The one instance.
pub(crate) static CHACHA20_POLY1305: ChaCha = ChaCha;

fn key(key: &[u8]) -> Option<LessSafeKey> {
    UnboundKey::new(&LC_CHACHA, key).ok().map(LessSafeKey::new)
}

/// The record encrypter for TLS 1.3 (`tls13`) or TLS 1.2; what both `encrypter`s return.
pub(crate) fn sealer(k: &[u8], iv: Iv, tls13: bool) -> Sealer {
    Sealer {
        key: key(k),
        iv,
        tls13,
    }
}

/// The record decrypter for TLS 1.3 (`tls13`) or TLS 1.2; what both `decrypter`s return.
pub(crate) fn opener(k: &[u8], iv: Iv, tls13: bool) -> Opener {
    Opener {
        key: key(k),
        iv,
        tls13,
    }
}

impl Tls13AeadAlgorithm for ChaCha {
    fn encrypter(&self, k: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(sealer(k.as_ref(), iv, true))
    }

    fn decrypter(&self, k: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(opener(k.as_ref(), iv, true))
    }

    fn key_len(&self) -> usize {
        32
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Ok(ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv })
    }
}

#[cfg(feature = "tls12")]
pub(crate) use self::tls12::TLS12_CHACHA20_POLY1305;

#[cfg(feature = "tls12")]
mod tls12 {
    use super::*;
    use rustls::crypto::cipher::{KeyBlockShape, Tls12AeadAlgorithm, NONCE_LEN};

    /// ChaCha20-Poly1305 for TLS 1.2 (RFC 7905): 12-byte IV from the key block, no explicit nonce.
    pub(crate) struct Tls12ChaCha;

    /// The one instance.
    pub(crate) static TLS12_CHACHA20_POLY1305: Tls12ChaCha = Tls12ChaCha;

    fn full_iv(iv: &[u8]) -> Iv {
        let mut out = [0u8; NONCE_LEN];
        let n = iv.len().min(NONCE_LEN);
        out[..n].copy_from_slice(&iv[..n]);
        Iv::from(out)
    }

    impl Tls12AeadAlgorithm for Tls12ChaCha {
        fn encrypter(&self, k: AeadKey, iv: &[u8], _extra: &[u8]) -> Box<dyn MessageEncrypter> {
            Box::new(sealer(k.as_ref(), full_iv(iv), false))
        }

        fn decrypter(&self, k: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
            Box::new(opener(k.as_ref(), full_iv(iv), false))
        }

        fn key_block_shape(&self) -> KeyBlockShape {
            KeyBlockShape {
                enc_key_len: 32,
                fixed_iv_len: NONCE_LEN,
                explicit_nonce_len: 0,
            }
        }

        fn extract_keys(
            &self,
            key: AeadKey,
            iv: &[u8],
            _explicit: &[u8],
        ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
            Ok(ConnectionTrafficSecrets::Chacha20Poly1305 {
                key,
                iv: full_iv(iv),
            })
        }
    }
}

/// The record's additional data, without allocating: TLS 1.3 (5 bytes, over the ciphertext
/// length) or TLS 1.2 (13 bytes, over the plaintext length).
struct RecordAad {
    buf: [u8; 13],
    len: usize,
}

impl RecordAad {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn aad(
    tls13: bool,
    seq: u64,
    typ: ContentType,
    version: ProtocolVersion,
    opaque_len: usize,
    plain_len: usize,
) -> RecordAad {
    let mut buf = [0u8; 13];
    if tls13 {
        buf[..5].copy_from_slice(&make_tls13_aad(opaque_len));
        RecordAad { buf, len: 5 }
    } else {
        buf.copy_from_slice(&rustls::crypto::cipher::make_tls12_aad(
            seq, typ, version, plain_len,
        ));
        RecordAad { buf, len: 13 }
    }
}

/// ChaCha20-Poly1305 record encrypter (TLS 1.3 or TLS 1.2).
pub(crate) struct Sealer {
    key: Option<LessSafeKey>,
    iv: Iv,
    tls13: bool,
}

impl Sealer {
    /// The seal of both ChaCha20-Poly1305 record paths ([`seal_xor_nonce`] with this key and IV;
    /// RFC 8446 §5.3, RFC 7905).
    pub(crate) fn seal_with_aad(
        &mut self,
        seq: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<aead::Tag, Error> {
        seal_xor_nonce(self.key.as_mut(), &self.iv, seq, aad, in_out)
    }
}

impl SealInPlace for LessSafeKey {
    fn seal(
        &mut self,
        nonce: LcNonce,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<aead::Tag, aws_lc_rs::error::Unspecified> {
        self.seal_in_place_separate_tag(nonce, Aad::from(aad), in_out)
    }
}

impl MessageEncrypter for Sealer {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total);
        payload.extend_from_chunks(&msg.payload);
        let (typ, version) = if self.tls13 {
            payload.extend_from_slice(&msg.typ.to_array());
            (ContentType::ApplicationData, ProtocolVersion::TLSv1_2)
        } else {
            (msg.typ, msg.version)
        };
        let aad = aad(
            self.tls13,
            seq,
            msg.typ,
            msg.version,
            total,
            msg.payload.len(),
        );
        let tag = self.seal_with_aad(seq, aad.as_slice(), payload.as_mut())?;
        payload.extend_from_slice(tag.as_ref());
        Ok(OutboundOpaqueMessage::new(typ, version, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + usize::from(self.tls13) + TAG_LEN
    }
}

/// ChaCha20-Poly1305 record decrypter (TLS 1.3 or TLS 1.2).
pub(crate) struct Opener {
    key: Option<LessSafeKey>,
    iv: Iv,
    tls13: bool,
}

impl Opener {
    /// The open of both ChaCha20-Poly1305 record paths ([`open_xor_nonce`] with this key and IV).
    pub(crate) fn open_with_aad(
        &self,
        seq: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize, Error> {
        open_xor_nonce(self.key.as_ref(), &self.iv, seq, aad, in_out)
    }
}

impl OpenInPlace for LessSafeKey {
    fn open<'a>(
        &self,
        nonce: LcNonce,
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Result<&'a mut [u8], aws_lc_rs::error::Unspecified> {
        self.open_in_place(nonce, Aad::from(aad), in_out)
    }
}

impl MessageDecrypter for Opener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        if payload.len() < TAG_LEN {
            return Err(Error::DecryptError);
        }
        let aad = aad(
            self.tls13,
            seq,
            msg.typ,
            msg.version,
            payload.len(),
            payload.len() - TAG_LEN,
        );
        let plain = self.open_with_aad(seq, aad.as_slice(), payload)?;
        payload.truncate(plain);
        if self.tls13 {
            msg.into_tls13_unpadded_message()
        } else {
            Ok(msg.into_plain_message())
        }
    }
}
