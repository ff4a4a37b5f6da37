//! SHA-2 hashing and HMAC for rustls, from the module.
//!
//! rustls hashes the handshake transcript through [`rustls::crypto::hash::Hash`] and keys its
//! HKDF/PRF through [`rustls::crypto::hmac::Hmac`]. Both are thin adapters over aws-lc-rs `digest` and
//! `hmac`, so every byte is hashed inside the module boundary. Only SHA-256 and SHA-384 are offered:
//! they are the hashes of every suite we ship.

use aws_lc_rs::{digest, hmac as lc_hmac};
use rustls::crypto::hash::{self, HashAlgorithm};
use rustls::crypto::hmac;

use super::mode::approved;

/// A SHA-2 hash for the transcript.
pub(crate) struct Hash {
    alg: &'static digest::Algorithm,
    id: HashAlgorithm,
}

/// SHA-256 (FIPS 180-4).
pub(crate) static SHA256: Hash = Hash {
    alg: &digest::SHA256,
    id: HashAlgorithm::SHA256,
};

/// SHA-384 (FIPS 180-4).
pub(crate) static SHA384: Hash = Hash {
    alg: &digest::SHA384,
    id: HashAlgorithm::SHA384,
};

// === impl Hash ===

impl hash::Hash for Hash {
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Context(digest::Context::new(self.alg)))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        output(digest::digest(self.alg, data))
    }

    fn output_len(&self) -> usize {
        self.alg.output_len()
    }

    fn algorithm(&self) -> HashAlgorithm {
        self.id
    }

    fn fips(&self) -> bool {
        approved()
    }
}

struct Context(digest::Context);

impl hash::Context for Context {
    fn fork_finish(&self) -> hash::Output {
        output(self.0.clone().finish())
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        output(self.0.finish())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

fn output(d: digest::Digest) -> hash::Output {
    hash::Output::new(d.as_ref())
}

/// HMAC (FIPS 198-1) over a SHA-2 hash.
pub(crate) struct Hmac(&'static lc_hmac::Algorithm);

/// HMAC-SHA256.
pub(crate) static HMAC_SHA256: Hmac = Hmac(&lc_hmac::HMAC_SHA256);

/// HMAC-SHA384.
pub(crate) static HMAC_SHA384: Hmac = Hmac(&lc_hmac::HMAC_SHA384);

// === impl Hmac ===

impl Hmac {
    /// One HMAC of `message` under `key`, with the key on the stack: for a key used once (TLS
    /// 1.3's Finished MACs), where [`hmac::Hmac::with_key`] would box a key of about 1 KiB.
    pub(crate) fn sign_once(&self, key: &[u8], message: &[u8]) -> hmac::Tag {
        let key = lc_hmac::Key::new(*self.0, key);
        hmac::Tag::new(lc_hmac::sign(&key, message).as_ref())
    }
}

impl hmac::Hmac for Hmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn hmac::Key> {
        Box::new(Key(lc_hmac::Key::new(*self.0, key)))
    }

    fn hash_output_len(&self) -> usize {
        self.0.digest_algorithm().output_len()
    }

    fn fips(&self) -> bool {
        approved()
    }
}

struct Key(lc_hmac::Key);

impl hmac::Key for Key {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> hmac::Tag {
        let mut ctx = lc_hmac::Context::with_key(&self.0);
        ctx.update(first);
        for m in middle {
            ctx.update(m);
        }
        ctx.update(last);
        hmac::Tag::new(ctx.sign().as_ref())
    }

    fn tag_len(&self) -> usize {
        self.0.algorithm().digest_algorithm().output_len()
    }
}
