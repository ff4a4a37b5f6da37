//! The running module, as it reports itself: [`status`], the fail-closed [`check`], and
//! [`entropy_source`].
//!
//! Kept apart from the CMVP table (`cmvp.rs`): the table is fixed facts judged by a pure
//! function, this module asks the library at run time and hands the facts to that judgement.

use std::fmt;

use super::build::{Build, Linkage};
use super::cmvp::{Validation, Version};
use crate::Error;

/// The module and what may be claimed about it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FipsStatus {
    /// The cargo build.
    pub build: Build,
    /// `AWS-LC-FIPS` or `AWS-LC`.
    pub module: &'static str,
    /// The module's own version string (`awslc_version_string()`), e.g. `AWS-LC FIPS 3.1.0`.
    pub version_string: String,
    /// The parsed library version.
    pub version: Option<Version>,
    /// The module major version in the FIPS build (3 for AWS-LC-FIPS 3.x), `None` otherwise.
    pub module_major: Option<u32>,
    /// Whether the module reports FIPS mode (`FIPS_mode() == 1`).
    pub fips_mode: bool,
    /// How the module is linked.
    pub linkage: Linkage,
    /// The validation claim.
    pub validation: Validation,
}

// === impl FipsStatus ===

impl fmt::Display for FipsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "build={} module={} version=\"{}\" fips_mode={} linkage={} validation={}",
            self.build,
            self.module,
            self.version_string,
            self.fips_mode,
            self.linkage,
            self.validation
        )
    }
}

/// Reports the running module. Never fails; see [`check`] for the fail-closed variant.
pub fn status() -> FipsStatus {
    let build = Build::current();
    let version_string = crate::ffi::version_string();
    let version = Version::parse(&version_string);
    let fips_mode = aws_lc_rs::try_fips_mode().is_ok();
    let linkage = Linkage::current();
    FipsStatus {
        build,
        module: if build.runs_fips_module() {
            "AWS-LC-FIPS"
        } else {
            "AWS-LC"
        },
        module_major: build
            .runs_fips_module()
            .then_some(version.map(|v| v.major))
            .flatten(),
        validation: Validation::judge(build, fips_mode, version, linkage),
        version_string,
        version,
        fips_mode,
        linkage,
    }
}

/// [`status`], but an error in a FIPS build whose module is not in FIPS mode. Everything that builds a
/// TLS configuration calls this first, so a FIPS build fails closed. See also
/// [`self_test`](crate::fips::self_test()), which calls this and then runs known answers through the provider.
///
/// # Errors
///
/// [`Error::FipsModeOff`] in the FIPS build when the module does not report FIPS mode; never in the
/// default build.
pub fn check() -> Result<FipsStatus, Error> {
    let status = status();
    if status.build.runs_fips_module() && !status.fips_mode {
        return Err(Error::FipsModeOff {
            module: status.version_string,
        });
    }
    Ok(status)
}

/// Where the module's random numbers come from, as this build configured it.
///
/// Both builds draw from the module's CTR_DRBG (SP 800-90A). The FIPS module seeds it from its
/// passive entropy source (the operating system's `getrandom`) unless aws-lc-fips-sys was built with
/// `AWS_LC_FIPS_SYS_CPU_JITTER_ENTROPY`, which selects the CPU Jitter source (see `build.rs`).
pub fn entropy_source() -> &'static str {
    if cfg!(not(feature = "fips")) {
        "AWS-LC CTR_DRBG, seeded from the operating system (getrandom)"
    } else if cfg!(meshtls_fips_jitter_entropy) {
        "module CTR_DRBG (SP 800-90A), seeded by the module's CPU Jitter entropy source"
    } else {
        "module CTR_DRBG (SP 800-90A), seeded by the passive entropy source (operating system getrandom)"
    }
}
