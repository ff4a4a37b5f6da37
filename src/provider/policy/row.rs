//! The row type of the policy table: what a row says, and the rustls object behind it.

use std::fmt;

use rustls::crypto::SupportedKxGroup;
use rustls::pki_types::SignatureVerificationAlgorithm;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// What a row describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A TLS protocol version (wire id: `ProtocolVersion`).
    Version,
    /// A cipher suite (wire id: `CipherSuite`).
    Suite,
    /// A key-exchange group (wire id: `NamedGroup`).
    Group,
    /// A TLS signature scheme, for handshake signatures (wire id: `SignatureScheme`).
    SignatureScheme,
    /// A public-key type for certificates and private keys (no wire id); its row lists the
    /// certificate signature algorithms verified with such a key.
    Key,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Version => "version",
            Kind::Suite => "suite",
            Kind::Group => "group",
            Kind::SignatureScheme => "scheme",
            Kind::Key => "key",
        })
    }
}

/// Whether the FIPS 140-3 module approves an algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// Approved when the module runs in FIPS mode.
    Approved {
        /// The standards (FIPS, SP, IG) that make it approved.
        basis: &'static str,
    },
    /// Not approved; a FIPS build never offers it.
    NotApproved {
        /// Why not.
        reason: &'static str,
    },
}

impl Approval {
    /// True for [`Approval::Approved`].
    pub const fn is_approved(&self) -> bool {
        matches!(self, Approval::Approved { .. })
    }

    /// The basis, or the reason it is not approved.
    pub const fn text(&self) -> &'static str {
        match self {
            Approval::Approved { basis } => basis,
            Approval::NotApproved { reason } => reason,
        }
    }
}

/// One row of the policy table.
#[non_exhaustive]
pub struct Algorithm {
    /// What the row describes.
    pub kind: Kind,
    /// The IANA name (versions, suites, groups, schemes) or a key type's name.
    pub name: &'static str,
    /// The TLS wire id; `None` for key types.
    pub wire: Option<u16>,
    /// Whether the FIPS module approves it, and why.
    pub approval: Approval,
    object: Object,
}

/// The rustls object behind a row; `None` where this build does not compile it.
pub(super) enum Object {
    Version(Option<&'static SupportedProtocolVersion>),
    Suite(Option<SupportedCipherSuite>),
    Group(Option<&'static dyn SupportedKxGroup>),
    Scheme(&'static [&'static dyn SignatureVerificationAlgorithm]),
    Key {
        verifiers: &'static [&'static dyn SignatureVerificationAlgorithm],
        rsa_bits: Option<(usize, usize)>,
    },
}

// === impl Algorithm ===

impl Algorithm {
    /// Whether this build compiles the algorithm.
    pub fn in_build(&self) -> bool {
        match self.object {
            Object::Version(v) => v.is_some(),
            Object::Suite(s) => s.is_some(),
            Object::Group(g) => g.is_some(),
            Object::Scheme(_) | Object::Key { .. } => true,
        }
    }

    /// Whether this build's provider offers it: compiled in and, in a FIPS build, approved.
    pub fn offered(&self) -> bool {
        self.in_build() && (cfg!(not(feature = "fips")) || self.approval.is_approved())
    }

    /// For an RSA key row, the modulus sizes accepted, in bits (inclusive).
    pub fn rsa_bits(&self) -> Option<(usize, usize)> {
        match self.object {
            Object::Key { rsa_bits, .. } => rsa_bits,
            _ => None,
        }
    }

    /// The verifiers of a scheme row (in the order TLS 1.2 tries them), or the certificate
    /// signature algorithms of a key row; empty for other rows.
    pub fn verifiers(&self) -> &'static [&'static dyn SignatureVerificationAlgorithm] {
        match self.object {
            Object::Scheme(v) | Object::Key { verifiers: v, .. } => v,
            _ => &[],
        }
    }

    /// The cipher suite object, for an offered suite row.
    pub(crate) fn suite(&self) -> Option<SupportedCipherSuite> {
        match self.object {
            Object::Suite(s) if self.offered() => s,
            _ => None,
        }
    }

    /// The group object, for an offered group row.
    pub(crate) fn group(&self) -> Option<&'static dyn SupportedKxGroup> {
        match self.object {
            Object::Group(g) if self.offered() => g,
            _ => None,
        }
    }
}

impl fmt::Debug for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Algorithm")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("wire", &self.wire)
            .field("in_build", &self.in_build())
            .field("approval", &self.approval)
            .finish()
    }
}

pub(super) const fn row(
    kind: Kind,
    name: &'static str,
    wire: u16,
    approval: Approval,
    object: Object,
) -> Algorithm {
    Algorithm {
        kind,
        name,
        wire: Some(wire),
        approval,
        object,
    }
}

pub(super) const fn key(
    name: &'static str,
    approval: Approval,
    verifiers: &'static [&'static dyn SignatureVerificationAlgorithm],
    rsa_bits: Option<(usize, usize)>,
) -> Algorithm {
    Algorithm {
        kind: Kind::Key,
        name,
        wire: None,
        approval,
        object: Object::Key {
            verifiers,
            rsa_bits,
        },
    }
}
