//! The info gauge: what this build runs, as `meshtls::fips::status()` reports it and the policy
//! table lists it, as labels of one series whose value is 1.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::fips::{self, Validation};
use crate::policy::{self, Kind};

/// The labels of `meshtls_info`. Every value comes from this binary, none from a peer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Info {
    /// `default`, `fips` or `fips+default` ([`fips::Build`]).
    build: String,
    /// `AWS-LC-FIPS` or `AWS-LC`.
    module: String,
    /// The module's own version string.
    module_version: String,
    /// Whether the module reports FIPS mode.
    fips_mode: String,
    /// `static` or `dynamic`.
    linkage: String,
    /// `certified`, `pending` or `unvalidated`.
    validation: String,
    /// The CMVP certificate when certified (`#5314`), else `none`.
    certificate: String,
    /// The cipher suites offered, in preference order, comma-separated.
    suites: String,
    /// The key-exchange groups offered, in preference order, comma-separated.
    groups: String,
}

/// Registers `meshtls_info` (value 1) with the labels of the running build.
pub(super) fn register(registry: &mut Registry) {
    let status = fips::status();
    let (validation, certificate) = match status.validation {
        Validation::Certified { certificate } => ("certified", certificate),
        Validation::Pending { .. } => ("pending", "none"),
        Validation::Unvalidated { .. } => ("unvalidated", "none"),
    };
    let info = Info {
        build: status.build.to_string(),
        module: status.module.to_string(),
        module_version: status.version_string.clone(),
        fips_mode: status.fips_mode.to_string(),
        linkage: status.linkage.to_string(),
        validation: validation.to_string(),
        certificate: certificate.to_string(),
        suites: offered(Kind::Suite),
        groups: offered(Kind::Group),
    };
    let family = Family::<Info, Gauge>::default();
    family.get_or_create(&info).set(1);
    registry.register(
        "info",
        "The crypto module, its FIPS mode and validation claim, and the TLS suites and groups \
         this build offers (value 1)",
        family,
    );
}

/// The names of the rows of `kind` the provider offers, in preference order.
fn offered(kind: Kind) -> String {
    let names: Vec<&str> = policy::table()
        .iter()
        .filter(|row| row.kind == kind && row.offered())
        .map(|row| row.name)
        .collect();
    names.join(",")
}
