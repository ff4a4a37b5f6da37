//! What this binary was built as: the cargo build and the module's linkage.
//!
//! Its own module because both the CMVP judgement (`cmvp.rs`, which certificate applies) and the
//! runtime report (`status.rs`) need these facts, and neither should depend on the other for
//! them.

use std::fmt;

/// Which cargo build this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// Default features: AWS-LC, not a validated module.
    Default,
    /// The `fips` feature: the AWS-LC-FIPS 3.x module.
    Fips,
}

// === impl Build ===

impl Build {
    /// The build of this binary.
    pub const fn current() -> Self {
        if cfg!(feature = "fips") {
            Build::Fips
        } else {
            Build::Default
        }
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Build::Default => "default",
            Build::Fips => "fips",
        })
    }
}

/// How the module is linked; CMVP validated the static and the shared library under separate
/// certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// Linked into the binary (aws-lc-fips-sys' default on Linux/BSD x86_64 and aarch64).
    Static,
    /// A shared library.
    Dynamic,
}

// === impl Linkage ===

impl Linkage {
    /// The linkage of this binary (see `build.rs`).
    pub const fn current() -> Self {
        if cfg!(meshtls_fips_dynamic) {
            Linkage::Dynamic
        } else {
            Linkage::Static
        }
    }
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Linkage::Static => "static",
            Linkage::Dynamic => "dynamic",
        })
    }
}
