//! Key exchange: ECDHE over NIST curves, X25519 (default build only), and the ECDHE + ML-KEM-768 hybrids.
//!
//! Every key share a peer sends is length-checked before it reaches the module, and the module checks
//! that an EC point is on the curve. Hybrid groups follow draft-kwiatkowski-tls-ecdhe-mlkem:
//! - SECP256R1MLKEM768 (0x11EB): shares and secret are `P-256 ‖ ML-KEM-768`. With the approved
//!   ECDH secret first, SP 800-56C treats the ML-KEM part as auxiliary data, so the group is approved.
//! - X25519MLKEM768 (0x11EC): `ML-KEM-768 ‖ X25519`; X25519 is not approved, and NIST will not approve
//!   it in a hybrid, so this group (like X25519 alone) does not exist in the FIPS build.

use aws_lc_rs::{agreement, kem};
use rustls::crypto::{ActiveKeyExchange, CompletedKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{Error, NamedGroup, PeerMisbehaved, ProtocolVersion};

use super::mode::approved;

/// ML-KEM-768 encapsulation key (client share) length, FIPS 203.
const MLKEM768_EK_LEN: usize = 1184;
/// ML-KEM-768 ciphertext (server share) length, FIPS 203.
const MLKEM768_CT_LEN: usize = 1088;

fn bad_share() -> Error {
    Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare)
}

/// An elliptic-curve Diffie-Hellman group.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ecdh {
    name: NamedGroup,
    alg: &'static agreement::Algorithm,
    /// The exact share length: uncompressed point (0x04 ‖ X ‖ Y) or a 32-byte X25519 key.
    share_len: usize,
    /// Whether a share is an uncompressed EC point, which must start with 0x04 (RFC 8446 §4.2.8.2).
    uncompressed_point: bool,
}

/// secp256r1 (P-256), SP 800-56A Rev. 3.
pub(crate) static SECP256R1: Ecdh = Ecdh {
    name: NamedGroup::secp256r1,
    alg: &agreement::ECDH_P256,
    share_len: 65,
    uncompressed_point: true,
};

/// secp384r1 (P-384), SP 800-56A Rev. 3.
pub(crate) static SECP384R1: Ecdh = Ecdh {
    name: NamedGroup::secp384r1,
    alg: &agreement::ECDH_P384,
    share_len: 97,
    uncompressed_point: true,
};

/// X25519 (RFC 7748): not FIPS-approved.
#[cfg(not(feature = "fips"))]
pub(crate) static X25519: Ecdh = Ecdh {
    name: NamedGroup::X25519,
    alg: &agreement::X25519,
    share_len: 32,
    uncompressed_point: false,
};

// === impl Ecdh ===

impl Ecdh {
    fn generate(&self) -> Result<EcdhKey, Error> {
        let key = agreement::PrivateKey::generate(self.alg)
            .map_err(|_| Error::General("key generation failed".into()))?;
        EcdhKey::new(*self, key)
    }

    /// A key from a fixed private scalar (big-endian, field length; 32 bytes for X25519) instead of
    /// a generated one: the known-answer tests and the self-test use it, everything after
    /// construction is the path [`SupportedKxGroup::start`] takes.
    pub(crate) fn with_private_key(&self, private: &[u8]) -> Result<EcdhKey, Error> {
        let key = agreement::PrivateKey::from_private_key(self.alg, private)
            .map_err(|_| Error::General("ECDH private key rejected".into()))?;
        EcdhKey::new(*self, key)
    }

    fn check_share<'a>(&self, share: &'a [u8]) -> Result<&'a [u8], Error> {
        let form_ok = !self.uncompressed_point || share.first() == Some(&0x04);
        if share.len() == self.share_len && form_ok {
            Ok(share)
        } else {
            Err(bad_share())
        }
    }
}

impl SupportedKxGroup for Ecdh {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(self.generate()?))
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        self.name
    }

    fn fips(&self) -> bool {
        approved()
    }
}

/// One ephemeral ECDH private key and its public share.
pub(crate) struct EcdhKey {
    group: Ecdh,
    key: agreement::PrivateKey,
    share: Vec<u8>,
}

impl EcdhKey {
    fn new(group: Ecdh, key: agreement::PrivateKey) -> Result<Self, Error> {
        let share = key
            .compute_public_key()
            .map_err(|_| Error::General("public key computation failed".into()))?
            .as_ref()
            .to_vec();
        Ok(Self { group, key, share })
    }

    fn agree(&self, peer: &[u8]) -> Result<SharedSecret, Error> {
        let peer = self.group.check_share(peer)?;
        agreement::agree(
            &self.key,
            agreement::UnparsedPublicKey::new(self.group.alg, peer),
            bad_share(),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }
}

impl ActiveKeyExchange for EcdhKey {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        self.agree(peer_pub_key)
    }

    fn pub_key(&self) -> &[u8] {
        &self.share
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        self.group.name
    }
}

/// An ECDHE + ML-KEM-768 hybrid group (TLS 1.3 only).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hybrid {
    name: NamedGroup,
    classical: &'static Ecdh,
    /// Wire order: ML-KEM part first (X25519MLKEM768) or ECDH part first (SECP256R1MLKEM768).
    mlkem_first: bool,
}

/// SECP256R1MLKEM768: P-256 first, then ML-KEM-768.
pub(crate) static SECP256R1MLKEM768: Hybrid = Hybrid {
    name: NamedGroup::secp256r1MLKEM768,
    classical: &SECP256R1,
    mlkem_first: false,
};

/// X25519MLKEM768: ML-KEM-768 first, then X25519. Default build only.
#[cfg(not(feature = "fips"))]
pub(crate) static X25519MLKEM768: Hybrid = Hybrid {
    name: NamedGroup::X25519MLKEM768,
    classical: &X25519,
    mlkem_first: true,
};

// === impl Hybrid ===

impl Hybrid {
    fn join(&self, classical: &[u8], mlkem: &[u8]) -> Vec<u8> {
        let (a, b) = if self.mlkem_first {
            (mlkem, classical)
        } else {
            (classical, mlkem)
        };
        let mut out = Vec::with_capacity(a.len() + b.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        out
    }

    /// Splits a received share into (classical, ML-KEM) parts, checking the exact length.
    fn split<'a>(&self, share: &'a [u8], mlkem_len: usize) -> Result<(&'a [u8], &'a [u8]), Error> {
        if share.len() != self.classical.share_len + mlkem_len {
            return Err(bad_share());
        }
        Ok(if self.mlkem_first {
            let (pq, cl) = share.split_at(mlkem_len);
            (cl, pq)
        } else {
            share.split_at(self.classical.share_len)
        })
    }
}

impl Hybrid {
    #[cfg(feature = "kat")]
    /// The client half of an exchange from fixed keys (the ECDH private scalar and an ML-KEM-768
    /// decapsulation key with its encapsulation key) instead of generated ones, for known-answer
    /// tests; [`ActiveKeyExchange::complete`] then runs exactly as after [`SupportedKxGroup::start`].
    pub(crate) fn with_keys(
        &self,
        ecdh_private: &[u8],
        mlkem_dk: &[u8],
        mlkem_ek: &[u8],
    ) -> Result<HybridKey, Error> {
        let classical = self.classical.with_private_key(ecdh_private)?;
        let dk = kem::DecapsulationKey::new(&kem::ML_KEM_768, mlkem_dk)
            .map_err(|_| Error::General("ML-KEM decapsulation key rejected".into()))?;
        let ek = kem::EncapsulationKey::new(&kem::ML_KEM_768, mlkem_ek)
            .map_err(|_| Error::General("ML-KEM encapsulation key rejected".into()))?;
        let ek = ek
            .key_bytes()
            .map_err(|_| Error::General("ML-KEM key encoding failed".into()))?;
        let share = self.join(&classical.share, ek.as_ref());
        Ok(HybridKey {
            group: *self,
            classical,
            dk,
            share,
        })
    }
}

impl SupportedKxGroup for Hybrid {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let this = *self;
        let classical = this.classical.generate()?;
        let dk = kem::DecapsulationKey::generate(&kem::ML_KEM_768)
            .map_err(|_| Error::General("ML-KEM key generation failed".into()))?;
        let ek = dk
            .encapsulation_key()
            .and_then(|ek| ek.key_bytes())
            .map_err(|_| Error::General("ML-KEM key encoding failed".into()))?;
        let share = this.join(&classical.share, ek.as_ref());
        Ok(Box::new(HybridKey {
            group: this,
            classical,
            dk,
            share,
        }))
    }

    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        let this = *self;
        let (cl_share, ek) = this.split(client_share, MLKEM768_EK_LEN)?;
        let ek = kem::EncapsulationKey::new(&kem::ML_KEM_768, ek).map_err(|_| bad_share())?;
        let classical = this.classical.generate()?;
        let cl_secret = classical.agree(cl_share)?;
        let (ct, pq_secret) = ek.encapsulate().map_err(|_| bad_share())?;
        Ok(CompletedKeyExchange {
            group: this.name,
            pub_key: this.join(&classical.share, ct.as_ref()),
            secret: SharedSecret::from(this.join(cl_secret.secret_bytes(), pq_secret.as_ref())),
        })
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        self.name
    }

    fn fips(&self) -> bool {
        approved()
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

/// The client's half of a hybrid exchange: an ECDH key and an ML-KEM decapsulation key.
pub(crate) struct HybridKey {
    group: Hybrid,
    classical: EcdhKey,
    dk: kem::DecapsulationKey,
    share: Vec<u8>,
}

impl ActiveKeyExchange for HybridKey {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        let (cl_share, ct) = self.group.split(peer_pub_key, MLKEM768_CT_LEN)?;
        let cl_secret = self.classical.agree(cl_share)?;
        let pq_secret = self
            .dk
            .decapsulate(kem::Ciphertext::from(ct))
            .map_err(|_| bad_share())?;
        Ok(SharedSecret::from(
            self.group
                .join(cl_secret.secret_bytes(), pq_secret.as_ref()),
        ))
    }

    /// Lets rustls also offer the bare ECDH share (same key) so a server without the hybrid does not
    /// need a HelloRetryRequest.
    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        Some((self.classical.group.name, &self.classical.share))
    }

    fn complete_hybrid_component(
        self: Box<Self>,
        peer_pub_key: &[u8],
    ) -> Result<SharedSecret, Error> {
        self.classical.agree(peer_pub_key)
    }

    fn pub_key(&self) -> &[u8] {
        &self.share
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        self.group.name
    }
}
