//! What this binary was built as: the cargo build and the module's linkage.
//!
//! Its own module because both the CMVP judgement (`cmvp.rs`, which certificate applies) and the
//! runtime report (`status.rs`) need these facts, and neither should depend on the other for
//! them.

use std::fmt;

/// Which cargo build this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Build {
    /// Default features: AWS-LC, not a validated module.
    Default,
    /// The `fips` feature without `non-fips` (the regulated build): the AWS-LC-FIPS 3.x module and
    /// no other crypto library.
    Fips,
    /// `fips` on top of the default features: the TLS stack runs on the AWS-LC-FIPS module
    /// (aws-lc-rs prefers it), but the non-validated aws-lc-sys is linked as well. Not a regulated
    /// build, whatever the module reports: never judged certified.
    FipsWithDefault,
}

// === impl Build ===

impl Build {
    /// The build of this binary.
    pub const fn current() -> Self {
        match (cfg!(feature = "fips"), cfg!(feature = "non-fips")) {
            (true, false) => Build::Fips,
            (true, true) => Build::FipsWithDefault,
            (false, _) => Build::Default,
        }
    }

    /// Whether the TLS stack runs on the AWS-LC-FIPS module (the `fips` feature is on).
    pub const fn runs_fips_module(self) -> bool {
        matches!(self, Build::Fips | Build::FipsWithDefault)
    }

    /// The crypto libraries this build links, by crate.
    pub const fn crypto_libraries(self) -> &'static [&'static str] {
        match self {
            Build::Default => &["aws-lc-sys"],
            Build::Fips => &["aws-lc-fips-sys"],
            Build::FipsWithDefault => &["aws-lc-fips-sys", "aws-lc-sys"],
        }
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Build::Default => "default",
            Build::Fips => "fips",
            Build::FipsWithDefault => "fips+default",
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
