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

use rustls::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};

mod offer;
mod row;
mod table;
mod x509;

pub use offer::{Choice, Offer};
pub use row::{Algorithm, Approval, Kind};
pub(crate) use table::{cipher_suites, kx_groups, signature_algorithms, RSA_BITS};
pub use x509::{certificate, issued_by, CertAlgorithms};

/// Every row: versions, suites, groups and schemes each in this build's preference order, then the
/// key types. Rows for algorithms this build lacks are included (see [`Algorithm::in_build`]).
pub fn table() -> &'static [Algorithm] {
    table::ROWS
}

/// The row of `kind` named `name` (as in [`Algorithm::name`]).
pub fn by_name(kind: Kind, name: &str) -> Option<&'static Algorithm> {
    table::ROWS
        .iter()
        .find(|row| row.kind == kind && row.name == name)
}

fn find(kind: Kind, wire: u16) -> Option<&'static Algorithm> {
    table::ROWS
        .iter()
        .find(|row| row.kind == kind && row.wire == Some(wire))
}

/// The row of a TLS protocol version, if meshtls knows it.
pub fn version(version: ProtocolVersion) -> Option<&'static Algorithm> {
    find(Kind::Version, u16::from(version))
}

/// The row of a cipher suite, if meshtls knows it.
pub fn suite(suite: CipherSuite) -> Option<&'static Algorithm> {
    find(Kind::Suite, u16::from(suite))
}

/// The row of a key-exchange group, if meshtls knows it.
pub fn group(group: NamedGroup) -> Option<&'static Algorithm> {
    find(Kind::Group, u16::from(group))
}

/// The row of a TLS signature scheme, if meshtls knows it.
pub fn scheme(scheme: SignatureScheme) -> Option<&'static Algorithm> {
    find(Kind::SignatureScheme, u16::from(scheme))
}
