//! meshtls: mutual TLS for service-mesh proxies, on a rustls 0.23 crypto provider that runs on AWS-LC,
//! or, with the `fips` feature, on the AWS-LC-FIPS 3.x module (FIPS 140-3, CMVP #5314/#5298).
//!
//! - [`provider()`]: our own rustls [`CryptoProvider`](rustls::crypto::CryptoProvider); every
//!   algorithm comes from the one module the build selects.
//! - [`fips`]: what module runs, whether it is in FIPS mode, and what the build may claim about it.
// `deny`, not `forbid`: `src/ffi.rs` is the one module allowed FFI (see its SAFETY comments).
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "fips", feature = "non-fips")))]
compile_error!(
    "meshtls needs a crypto module: enable `fips` (AWS-LC-FIPS) or `non-fips` (AWS-LC, the default)"
);

mod error;
mod ffi;
pub mod fips;
mod provider;

pub use error::Error;
/// Not API: internal objects for known-answer tests and the self-test (see the module's docs).
#[doc(hidden)]
pub use provider::kat;
pub use provider::provider;
