//! rustls's process-default provider: checking that it is ours, or making it ours.
//!
//! meshtls never reads rustls's process default: every config it builds names [`provider()`]. But a
//! library that builds its own rustls configs (an HTTP client, a gRPC stack, a server helper) may fall
//! back to `CryptoProvider::get_default()`, or install one of its own with
//! `CryptoProvider::install_default`. In a regulated binary that would be other crypto, running
//! silently beside the validated module. Call [`check`] at start-up to refuse that; call [`install`]
//! for a library that insists on a process default.
//!
//! # How ours is recognised
//!
//! A provider is ours when every component it has is one of our provider's objects: each cipher
//! suite, each key-exchange group, each signature verification algorithm, the random number source
//! and the key loader, compared by address. All of them are statics of this crate with a size of
//! their own, so an address identifies exactly one object: no other provider's object can have it,
//! and no copy made elsewhere does. This accepts a copy of ours (`(*provider()).clone()`) and a
//! subset of it (what [`policy::Offer`](crate::policy::Offer) makes), and refuses a provider that
//! mixes any other library's object in. Names, `Debug` texts and `fips()` are not compared: a
//! provider of another library can report the same names, and `fips()` says nothing about which
//! library runs.
//!
//! [`provider()`]: crate::provider()

use std::ptr;

use rustls::crypto::{CryptoProvider, KeyProvider, SecureRandom, SupportedKxGroup};
use rustls::pki_types::SignatureVerificationAlgorithm;
use rustls::SupportedCipherSuite;

use crate::provider::{sign, Rng, RNG};
use crate::Error;

/// Checks rustls's process-default provider: none installed, or ours.
///
/// Call it at start-up, after the libraries that might install a provider of their own have been
/// set up, and refuse to start on an error.
///
/// ```
/// // Nothing is installed in this doctest's process: nothing can fall back to other crypto.
/// meshtls::default_provider::check().unwrap();
/// ```
///
/// # Errors
///
/// [`Error::ForeignDefaultProvider`] when the process default is another provider, or one that
/// mixes in another library's objects; the error names the first such component.
///
/// # FIPS
///
/// In the regulated build this is what shows that a library falling back to the process default
/// still runs the validated module: with no default installed such a library fails (rustls finds
/// no provider) instead of choosing one; with ours installed it runs on the module. Neither case
/// lets non-validated crypto in. Run [`crate::fips::check`] as well: it is about the module, this
/// is about which provider rustls would hand out.
pub fn check() -> Result<(), Error> {
    match CryptoProvider::get_default() {
        None => Ok(()),
        Some(installed) => match foreign_part(installed) {
            None => Ok(()),
            Some(found) => Err(Error::ForeignDefaultProvider { found }),
        },
    }
}

/// Installs [`provider()`](crate::provider()) (a copy: rustls takes it by value) as rustls's
/// process default, for libraries that
/// take no provider and insist on the default. Installing it again is a no-op.
///
/// ```
/// meshtls::default_provider::install().unwrap();
/// let installed = rustls::crypto::CryptoProvider::get_default().unwrap();
/// assert!(meshtls::default_provider::is_ours(installed));
/// meshtls::default_provider::install().unwrap(); // already ours: fine
/// ```
///
/// # Errors
///
/// [`Error::ForeignDefaultProvider`] when another provider was installed first. rustls installs a
/// process default only once, so it stays installed: the process should not go on.
///
/// # FIPS
///
/// In the regulated build the provider installed is the one on the AWS-LC-FIPS module: whatever
/// takes the default then runs on it. Prefer passing [`provider()`](crate::provider()) to each
/// library that takes one; install the default only for those that do not.
pub fn install() -> Result<(), Error> {
    // rustls keeps the first provider installed; when it refuses, look at what is installed, which
    // may be ours (installed earlier, or concurrently by another thread).
    if (*crate::provider()).clone().install_default().is_ok() {
        return Ok(());
    }
    check()
}

/// Whether `candidate` is made only of our provider's objects (see [How ours is
/// recognised](self#how-ours-is-recognised)).
///
/// ```
/// assert!(meshtls::default_provider::is_ours(&meshtls::provider()));
/// assert!(meshtls::default_provider::is_ours(&(*meshtls::provider()).clone()));
/// ```
pub fn is_ours(candidate: &CryptoProvider) -> bool {
    foreign_part(candidate).is_none()
}

/// The first component of `candidate` that is not one of our provider's objects, described.
fn foreign_part(candidate: &CryptoProvider) -> Option<String> {
    let ours = crate::provider();
    if candidate.cipher_suites.is_empty() {
        return Some("it has no cipher suite".into());
    }
    for suite in &candidate.cipher_suites {
        if !ours.cipher_suites.iter().any(|o| same_suite(o, suite)) {
            return Some(format!("cipher suite {:?} is not ours", suite.suite()));
        }
    }
    for group in &candidate.kx_groups {
        if !ours.kx_groups.iter().any(|o| same_group(*o, *group)) {
            return Some(format!("key-exchange group {:?} is not ours", group.name()));
        }
    }
    let verify = &candidate.signature_verification_algorithms;
    let mapped = verify.mapping.iter().flat_map(|(_, algs)| algs.iter());
    for alg in verify.all.iter().chain(mapped) {
        if !ours_verifies(&ours, *alg) {
            return Some("a signature verification algorithm is not ours".into());
        }
    }
    if !ptr::addr_eq(
        candidate.secure_random as *const dyn SecureRandom,
        &RNG as *const Rng,
    ) {
        return Some("the random number source is not ours".into());
    }
    if !ptr::addr_eq(
        candidate.key_provider as *const dyn KeyProvider,
        &sign::KEYS as *const sign::Keys,
    ) {
        return Some("the private-key loader is not ours".into());
    }
    None
}

/// The same suite object: each variant borrows a static, compared by address.
fn same_suite(ours: &SupportedCipherSuite, theirs: &SupportedCipherSuite) -> bool {
    match (ours, theirs) {
        (SupportedCipherSuite::Tls13(o), SupportedCipherSuite::Tls13(t)) => ptr::eq(*o, *t),
        #[cfg(feature = "tls12")]
        (SupportedCipherSuite::Tls12(o), SupportedCipherSuite::Tls12(t)) => ptr::eq(*o, *t),
        // Unreachable where rustls is built without TLS 1.2 (one variant only).
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Same object (by address), and, as a guard should another library's group be zero-sized and
/// so placed anywhere, the same name.
fn same_group(ours: &dyn SupportedKxGroup, theirs: &dyn SupportedKxGroup) -> bool {
    ptr::addr_eq(ours as *const _, theirs as *const _) && ours.name() == theirs.name()
}

fn ours_verifies(ours: &CryptoProvider, alg: &dyn SignatureVerificationAlgorithm) -> bool {
    ours.signature_verification_algorithms
        .all
        .iter()
        .any(|o| ptr::addr_eq(*o as *const _, alg as *const _))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_and_its_copies_and_subsets_are_ours() {
        let ours = crate::provider();
        assert!(is_ours(&ours));
        let mut subset = (*ours).clone();
        subset.cipher_suites.truncate(1);
        subset.kx_groups.truncate(1);
        assert!(is_ours(&subset));
    }

    #[test]
    fn one_foreign_component_makes_it_foreign() {
        let ours = crate::provider();
        let ring = rustls::crypto::ring::default_provider();

        let mut mixed = (*ours).clone();
        mixed.kx_groups.push(ring.kx_groups[0]);
        let found = foreign_part(&mixed).unwrap();
        assert!(found.starts_with("key-exchange group"), "{found}");

        let mixed = CryptoProvider {
            secure_random: ring.secure_random,
            ..(*ours).clone()
        };
        assert_eq!(
            foreign_part(&mixed).as_deref(),
            Some("the random number source is not ours")
        );
        let mixed = CryptoProvider {
            key_provider: ring.key_provider,
            ..(*ours).clone()
        };
        assert_eq!(
            foreign_part(&mixed).as_deref(),
            Some("the private-key loader is not ours")
        );
        let mixed = CryptoProvider {
            signature_verification_algorithms: ring.signature_verification_algorithms,
            ..(*ours).clone()
        };
        assert!(foreign_part(&mixed).is_some());
        let found = foreign_part(&ring).unwrap();
        assert!(found.starts_with("cipher suite"), "{found}");
        let empty = CryptoProvider {
            cipher_suites: Vec::new(),
            ..(*ours).clone()
        };
        assert!(!is_ours(&empty));
    }
}
