//! What crypto module runs, whether it is in FIPS mode, and what this build may claim about it.
//!
//! The claim is deliberately narrow. A CMVP certificate names exact module versions; a binary is
//! "certified" only when the version string the running module reports (its Security Policy's
//! "show version" service) is one its certificate names. Everything else is said with a reason.
//!
//! FIPS 140-2 is not mentioned as an option: every 140-2 certificate moved to the CMVP Historical list
//! in September 2026, and AWS-LC only ever held FIPS 140-3 certificates.

use std::fmt;

use crate::Error;

mod self_test;

pub(crate) use self_test::startup_gate;
pub use self_test::{self_test, startup_self_test, KatRun, SelfTestReport};

/// Which cargo build this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// Default features: AWS-LC, not a validated module.
    Default,
    /// The `fips` feature: the AWS-LC-FIPS 3.x module.
    Fips,
}

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

/// A semantic version of the module, as parsed from its version string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major version: the module series (3 = AWS-LC-FIPS 3.x).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl Version {
    /// Parses the last whitespace-separated word of a version string such as `AWS-LC FIPS 3.1.0`.
    pub fn parse(version_string: &str) -> Option<Self> {
        let word = version_string.split_whitespace().last()?;
        let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
        let v = Version {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// One AWS-LC FIPS module series and its CMVP standing.
#[derive(Debug)]
pub struct ModuleSeries {
    /// The series' major version.
    pub major: u32,
    /// The aws-lc branch it is built from.
    pub branch: &'static str,
    /// The crate versions that carry it.
    pub crates: &'static str,
    /// CMVP certificates (static, dynamic), or `None` while in the Modules-in-Process list.
    pub certificates: Option<(&'static str, &'static str)>,
    /// The module versions the certificates' Security Policies name.
    pub validated_versions: &'static [Version],
    /// Where these facts come from.
    pub source: &'static str,
}

const fn v(major: u32, minor: u32, patch: u32) -> Version {
    Version {
        major,
        minor,
        patch,
    }
}

/// The AWS-LC FIPS module series, their certificates and the versions those name: the one place this
/// crate keeps these facts. Sources: NIST CMVP certificate records #4816, #5429, #5314, #5298 and
/// their Security Policies; aws/aws-lc `crypto/fipsmodule/FIPS.md` (Aug 2026); each aws-lc-fips-sys
/// release's `AWSLC_VERSION_NUMBER_STRING`.
pub const MODULES: &[ModuleSeries] = &[
    ModuleSeries {
        major: 2,
        branch: "fips-2022-11-02",
        crates: "aws-lc-fips-sys 0.12.x (aws-lc-rs < 1.12)",
        certificates: Some(("#4816", "#5429")),
        validated_versions: &[v(2, 0, 0)],
        source: "CMVP #4816 (static), #5429 (dynamic); aws-lc crypto/fipsmodule/FIPS.md",
    },
    ModuleSeries {
        major: 3,
        branch: "fips-2024-09-27",
        crates: "aws-lc-fips-sys 0.13.x (aws-lc-rs 1.12 to <1.18); 3.1.0 is aws-lc-fips-sys 0.13.11",
        certificates: Some(("#5314", "#5298")),
        validated_versions: &[v(3, 1, 0)],
        source: "CMVP #5314 (static), #5298 (dynamic), Security Policy names 3.1.0; aws-lc crypto/fipsmodule/FIPS.md",
    },
    ModuleSeries {
        major: 4,
        branch: "fips-2025-09-12-lts",
        crates: "aws-lc-fips-sys 0.14.x (aws-lc-rs >= 1.18)",
        certificates: None,
        validated_versions: &[],
        source: "CMVP Modules in Process list; aws-lc crypto/fipsmodule/FIPS.md",
    },
];

/// What this build may claim about FIPS 140-3 validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Not a validated module, not in FIPS mode, or a version no CMVP record covers.
    Unvalidated {
        /// Why.
        reason: String,
    },
    /// A module of a validated or in-process series, but not a version a certificate names (yet).
    Pending {
        /// Why, and what would make it certified.
        reason: String,
    },
    /// The running version is one the certificate names, and the module is in FIPS mode.
    Certified {
        /// The CMVP certificate, e.g. `#5314`.
        certificate: &'static str,
    },
}

impl Validation {
    /// Judges a module from its facts. Pure, so every branch is tested.
    pub fn judge(
        build: Build,
        fips_mode: bool,
        version: Option<Version>,
        linkage: Linkage,
    ) -> Self {
        let unvalidated = |reason: String| Validation::Unvalidated { reason };
        if build == Build::Default {
            return unvalidated(
                "default build: AWS-LC (non-FIPS) is not a validated module".into(),
            );
        }
        if !fips_mode {
            return unvalidated("the module is not in FIPS mode".into());
        }
        let Some(version) = version else {
            return unvalidated("the module's version string could not be parsed".into());
        };
        let Some(series) = MODULES.iter().find(|m| m.major == version.major) else {
            return unvalidated(format!("no CMVP record for AWS-LC FIPS {version}"));
        };
        match series.certificates {
            Some((stat, dynamic)) => {
                let certificate = match linkage {
                    Linkage::Static => stat,
                    Linkage::Dynamic => dynamic,
                };
                if series.validated_versions.contains(&version) {
                    Validation::Certified { certificate }
                } else {
                    let named: Vec<String> = series.validated_versions.iter().map(|v| v.to_string()).collect();
                    Validation::Pending {
                        reason: format!(
                            "AWS-LC FIPS {version} is of the {}.x series validated as {certificate} ({linkage}), \
                             but that certificate names {} only; pin aws-lc-fips-sys 0.13.11 for 3.1.0",
                            series.major,
                            named.join(", ")
                        ),
                    }
                }
            }
            None => Validation::Pending {
                reason: format!(
                    "AWS-LC FIPS {version}: the {}.x series is in the CMVP Modules-in-Process list, no certificate yet",
                    series.major
                ),
            },
        }
    }
}

impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validation::Unvalidated { reason } => write!(f, "unvalidated ({reason})"),
            Validation::Pending { reason } => write!(f, "pending ({reason})"),
            Validation::Certified { certificate } => {
                write!(f, "certified, FIPS 140-3 CMVP {certificate}")
            }
        }
    }
}

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
        module: match build {
            Build::Fips => "AWS-LC-FIPS",
            Build::Default => "AWS-LC",
        },
        module_major: (build == Build::Fips)
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
/// TLS configuration calls this first, so a FIPS build fails closed. See also [`self_test`], which
/// calls this and then runs known answers through the provider.
pub fn check() -> Result<FipsStatus, Error> {
    let status = status();
    if status.build == Build::Fips && !status.fips_mode {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(build: Build, mode: bool, ver: &str, link: Linkage) -> Validation {
        Validation::judge(build, mode, Version::parse(ver), link)
    }

    #[test]
    fn parses_versions() {
        assert_eq!(Version::parse("AWS-LC FIPS 3.1.0"), Some(v(3, 1, 0)));
        assert_eq!(Version::parse("AWS-LC 1.52.1"), Some(v(1, 52, 1)));
        assert_eq!(Version::parse("AWS-LC FIPS 3.1"), None);
        assert_eq!(Version::parse("AWS-LC FIPS 3.1.0.4"), None);
        assert_eq!(Version::parse("AWS-LC FIPS x.1.0"), None);
        assert_eq!(Version::parse(""), None);
    }

    #[test]
    fn certified_only_for_named_version_in_fips_mode() {
        use Linkage::*;
        assert_eq!(
            judge(Build::Fips, true, "AWS-LC FIPS 3.1.0", Static),
            Validation::Certified {
                certificate: "#5314"
            }
        );
        assert_eq!(
            judge(Build::Fips, true, "AWS-LC FIPS 3.1.0", Dynamic),
            Validation::Certified {
                certificate: "#5298"
            }
        );
        assert_eq!(
            judge(Build::Fips, true, "AWS-LC FIPS 2.0.0", Static),
            Validation::Certified {
                certificate: "#4816"
            }
        );
        for (build, mode, ver) in [
            (Build::Fips, true, "AWS-LC FIPS 3.6.0"),
            (Build::Fips, true, "AWS-LC FIPS 4.0.0"),
        ] {
            assert!(
                matches!(judge(build, mode, ver, Static), Validation::Pending { .. }),
                "{ver}"
            );
        }
        for (build, mode, ver) in [
            (Build::Fips, false, "AWS-LC FIPS 3.1.0"),
            (Build::Default, true, "AWS-LC FIPS 3.1.0"),
            (Build::Default, false, "AWS-LC 1.52.0"),
            (Build::Fips, true, "AWS-LC FIPS 9.0.0"),
            (Build::Fips, true, "garbage"),
        ] {
            assert!(
                matches!(
                    judge(build, mode, ver, Static),
                    Validation::Unvalidated { .. }
                ),
                "{build} {mode} {ver}"
            );
        }
    }

    #[test]
    fn pending_reason_names_certificate_and_fix() {
        let Validation::Pending { reason } =
            judge(Build::Fips, true, "AWS-LC FIPS 3.6.0", Linkage::Static)
        else {
            panic!("3.6.0 must be pending");
        };
        assert!(
            reason.contains("#5314") && reason.contains("3.1.0") && reason.contains("0.13.11"),
            "{reason}"
        );
    }
}
