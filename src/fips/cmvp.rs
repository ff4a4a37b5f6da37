//! The CMVP facts: which AWS-LC FIPS module series hold which certificates, the exact module
//! versions those certificates name, the crate release that carries each named version, and the
//! judgement ([`Validation::judge`]) of what a build may claim from them.
//!
//! This is the one table of these facts in the crate (FIPS.md points here). It is pure data and a
//! pure function, so every branch is unit-tested without a module; `status.rs` feeds it the
//! running module's facts.

use std::fmt;

use super::build::{Build, Linkage};

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

// === impl Version ===

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
    /// For each validated version whose carrying crate release is known: that release, so the
    /// advice to pin it comes from this table (see [`ModuleSeries::pin_advice`]).
    pub carriers: &'static [Carrier],
    /// CMVP certificates (static, dynamic), or `None` while in the Modules-in-Process list.
    pub certificates: Option<(&'static str, &'static str)>,
    /// The module versions the certificates' Security Policies name.
    pub validated_versions: &'static [Version],
    /// Where these facts come from.
    pub source: &'static str,
}

/// A crate release that carries a validated module version: what to pin to get that version.
#[derive(Debug)]
pub struct Carrier {
    /// The validated module version.
    pub module: Version,
    /// The crate, e.g. `aws-lc-fips-sys`.
    pub crate_name: &'static str,
    /// The crate's version that builds exactly `module`, e.g. `0.13.11`.
    pub crate_version: &'static str,
}

// === impl ModuleSeries ===

impl ModuleSeries {
    /// What to pin to get a validated version of this series, e.g.
    /// `pin aws-lc-fips-sys 0.13.11 for 3.1.0`; `None` when the table names no carrying release.
    pub fn pin_advice(&self) -> Option<String> {
        let advice: Vec<String> = self
            .carriers
            .iter()
            .map(|c| format!("{} {} for {}", c.crate_name, c.crate_version, c.module))
            .collect();
        (!advice.is_empty()).then(|| format!("pin {}", advice.join(" or ")))
    }
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
        carriers: &[],
        certificates: Some(("#4816", "#5429")),
        validated_versions: &[v(2, 0, 0)],
        source: "CMVP #4816 (static), #5429 (dynamic); aws-lc crypto/fipsmodule/FIPS.md",
    },
    ModuleSeries {
        major: 3,
        branch: "fips-2024-09-27",
        crates: "aws-lc-fips-sys 0.13.x (aws-lc-rs 1.12 to <1.18)",
        carriers: &[Carrier {
            module: v(3, 1, 0),
            crate_name: "aws-lc-fips-sys",
            crate_version: "0.13.11",
        }],
        certificates: Some(("#5314", "#5298")),
        validated_versions: &[v(3, 1, 0)],
        source: "CMVP #5314 (static), #5298 (dynamic), Security Policy names 3.1.0; aws-lc crypto/fipsmodule/FIPS.md",
    },
    ModuleSeries {
        major: 4,
        branch: "fips-2025-09-12-lts",
        crates: "aws-lc-fips-sys 0.14.x (aws-lc-rs >= 1.18)",
        carriers: &[],
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

// === impl Validation ===

impl Validation {
    /// Judges a module from its facts against [`MODULES`]. Pure, so every branch is tested.
    pub fn judge(
        build: Build,
        fips_mode: bool,
        version: Option<Version>,
        linkage: Linkage,
    ) -> Self {
        judge_in(MODULES, build, fips_mode, version, linkage)
    }
}

/// [`Validation::judge`] against any table (the tests use a made-up one).
fn judge_in(
    modules: &[ModuleSeries],
    build: Build,
    fips_mode: bool,
    version: Option<Version>,
    linkage: Linkage,
) -> Validation {
    let unvalidated = |reason: String| Validation::Unvalidated { reason };
    match build {
        Build::Default => {
            return unvalidated("default build: AWS-LC (non-FIPS) is not a validated module".into())
        }
        Build::FipsWithDefault => {
            return unvalidated(
                "this binary links two crypto libraries (aws-lc-fips-sys and aws-lc-sys: the \
                 `fips` feature on top of the default features), which is not the validated \
                 configuration; build with `--no-default-features --features fips`"
                    .into(),
            )
        }
        Build::Fips => {}
    }
    if !fips_mode {
        return unvalidated("the module is not in FIPS mode".into());
    }
    let Some(version) = version else {
        return unvalidated("the module's version string could not be parsed".into());
    };
    let Some(series) = modules.iter().find(|m| m.major == version.major) else {
        return unvalidated(format!("no CMVP record for AWS-LC FIPS {version}"));
    };
    let Some((stat, dynamic)) = series.certificates else {
        return Validation::Pending {
            reason: format!(
                "AWS-LC FIPS {version}: the {}.x series is in the CMVP Modules-in-Process list, \
                 no certificate yet",
                series.major
            ),
        };
    };
    let certificate = match linkage {
        Linkage::Static => stat,
        Linkage::Dynamic => dynamic,
    };
    if series.validated_versions.contains(&version) {
        return Validation::Certified { certificate };
    }
    let named: Vec<String> = series
        .validated_versions
        .iter()
        .map(Version::to_string)
        .collect();
    let mut reason = format!(
        "AWS-LC FIPS {version} is of the {}.x series validated as {certificate} ({linkage}), \
         but that certificate names {} only",
        series.major,
        named.join(", ")
    );
    if let Some(advice) = series.pin_advice() {
        reason.push_str("; ");
        reason.push_str(&advice);
    }
    Validation::Pending { reason }
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
            (Build::FipsWithDefault, true, "AWS-LC FIPS 3.1.0"),
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
        assert!(
            reason.ends_with("pin aws-lc-fips-sys 0.13.11 for 3.1.0"),
            "{reason}"
        );
    }

    #[test]
    fn pin_advice_only_where_the_table_names_a_release() {
        assert_eq!(MODULES[0].pin_advice(), None);
        assert_eq!(
            MODULES[1].pin_advice().as_deref(),
            Some("pin aws-lc-fips-sys 0.13.11 for 3.1.0")
        );
        // A certified series whose carrying release the table does not know: no advice at all.
        const SEVEN: &[Version] = &[v(7, 0, 0)];
        let table = [ModuleSeries {
            major: 7,
            branch: "b",
            crates: "c",
            carriers: &[],
            certificates: Some(("#1", "#2")),
            validated_versions: SEVEN,
            source: "s",
        }];
        let pending = judge_in(&table, Build::Fips, true, Some(v(7, 1, 0)), Linkage::Static);
        let Validation::Pending { reason } = pending else {
            panic!("{pending:?}");
        };
        assert!(
            reason.contains("#1") && reason.contains("7.0.0"),
            "{reason}"
        );
        assert!(
            !reason.contains("pin") && !reason.contains("0.13.11"),
            "{reason}"
        );
    }
}
