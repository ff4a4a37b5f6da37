//! Looking rows up in the table: all of them, by name, or by wire id. Its own module, so that
//! the policy's other parts ([`super::Offer`]) use it without importing the policy back.

use rustls::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};

use super::row::{Algorithm, Kind};
use super::table::ROWS;

/// Every row: versions, suites, groups and schemes each in this build's preference order, then the
/// key types. Rows for algorithms this build lacks are included (see [`Algorithm::in_build`]).
pub fn table() -> &'static [Algorithm] {
    ROWS
}

/// The row of `kind` named `name` (as in [`Algorithm::name`]).
pub fn by_name(kind: Kind, name: &str) -> Option<&'static Algorithm> {
    ROWS.iter().find(|row| row.kind == kind && row.name == name)
}

fn find(kind: Kind, wire: u16) -> Option<&'static Algorithm> {
    ROWS.iter()
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
