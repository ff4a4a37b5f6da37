//! What crypto module runs, whether it is in FIPS mode, and what this build may claim about it.
//!
//! The claim is deliberately narrow. A CMVP certificate names exact module versions; a binary is
//! "certified" only when the version string the running module reports (its Security Policy's
//! "show version" service) is one its certificate names. Everything else is said with a reason.
//!
//! FIPS 140-2 is not mentioned as an option: every 140-2 certificate moved to the CMVP Historical list
//! in September 2026, and AWS-LC only ever held FIPS 140-3 certificates.
//!
//! Layout: the build facts of this binary (`build.rs`: [`Build`], [`Linkage`]), the CMVP table and its judgement (`cmvp.rs`), the
//! running module's status (`status.rs`), and the TLS-level self-test (`self_test.rs`). The files
//! are private; everything is public here, as `meshtls::fips::*`.

mod build;
mod cmvp;
mod self_test;
mod status;

pub use build::{Build, Linkage};
pub use cmvp::{Carrier, ModuleSeries, Validation, Version, MODULES};
pub(crate) use self_test::startup_gate;
pub use self_test::{self_test, startup_self_test, KatRun, SelfTestReport};
pub use status::{check, entropy_source, status, FipsStatus};
