//! The algorithm policy: one table of every protocol version, cipher suite, key-exchange group,
//! signature scheme and key type meshtls knows, with its wire id, whether this build has it, and
//! whether the FIPS 140-3 module approves it and on what basis.
//!
//! This table is the one place those facts live. The provider's lists are its rows, filtered
//! ([`Algorithm::offered`]); `meshtls status`, `check-cert` and `probe` print and judge by it; the
//! self-test and the known-answer coverage guard look their objects up in it. Nothing anywhere
//! classifies an algorithm by its `Debug` text.
//!
//! How `fips()` follows from it: a row the module does not approve is never offered by a FIPS build
//! (and its code is not even compiled there), so every component a FIPS build offers reports
//! `fips()` exactly when the module is in FIPS mode. `tests/policy.rs` checks, row by row, that each
//! object's own `fips()` agrees with this table.
//!
//! - [`table`] and the lookups ([`version`], [`suite`], [`group`], [`scheme`]): the rows.
//! - [`certificate`] and [`issued_by`]: a certificate's key and signature algorithm judged by the
//!   rows (what `check-cert` and `probe` report, and what the TLS stack will accept).

mod lookup;
mod offer;
mod row;
mod table;
mod x509;

pub use lookup::{by_name, group, scheme, suite, table, version};
pub use offer::{Choice, Offer};
pub use row::{Algorithm, Approval, Kind};
pub(crate) use table::{cipher_suites, kx_groups, signature_algorithms, RSA_BITS};
pub use x509::{certificate, issued_by, CertAlgorithms};
