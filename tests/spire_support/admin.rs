//! The server's admin commands for federation (trust bundles) and X.509 authority rotation.

use std::fs;

use super::{Result, Spire};

/// The server's X.509 authorities, by state (their IDs: the CA's subject key ID, in hex).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authorities {
    /// The one signing now.
    pub active: Option<String>,
    /// The one prepared (in the bundle, not yet signing).
    pub prepared: Option<String>,
    /// The one active before.
    pub old: Option<String>,
}

impl Spire {
    /// Its trust bundle in the SPIFFE format (JWKS), as another trust domain's server takes it.
    pub fn bundle(&self) -> Result<String> {
        Ok(self.cli(&["bundle", "show"], &["-format", "spiffe"])?)
    }

    /// Its trust bundle's X.509 authorities, PEM.
    pub fn bundle_pem(&self) -> Result<String> {
        Ok(self.cli(&["bundle", "show"], &["-format", "pem"])?)
    }

    /// Stores `bundle` (SPIFFE format) as the bundle of federated `trust_domain`.
    pub fn set_federated_bundle(&self, trust_domain: &str, bundle: &str) -> Result<()> {
        let file = self.dir.join(&format!("bundle-{trust_domain}.json"));
        fs::write(&file, bundle)?;
        let id = format!("spiffe://{trust_domain}");
        let path = file.display().to_string();
        self.cli(
            &["bundle", "set"],
            &["-format", "spiffe", "-id", &id, "-path", &path],
        )?;
        Ok(())
    }

    /// Gives each of `a` and `b` the other's bundle (what SPIFFE federation's bundle endpoint
    /// would do, by hand).
    pub fn federate(a: &Spire, b: &Spire) -> Result<()> {
        b.set_federated_bundle(a.trust_domain(), &a.bundle()?)?;
        a.set_federated_bundle(b.trust_domain(), &b.bundle()?)
    }

    /// The server's X.509 authorities (`localauthority x509 show`).
    pub fn authorities(&self) -> Result<Authorities> {
        let shown = self.cli_json(&["localauthority", "x509", "show"], &[])?;
        let id = |state: &str| shown[state]["authority_id"].as_str().map(str::to_string);
        Ok(Authorities {
            active: id("active"),
            prepared: id("prepared"),
            old: id("old"),
        })
    }

    /// `localauthority x509 <step>` (prepare, activate, taint, revoke), on authority `id` when
    /// given; the ID of the authority it acted on.
    pub fn authority(&self, step: &str, id: Option<&str>) -> Result<String> {
        let flags: Vec<&str> = id.map_or(vec![], |id| vec!["-authorityID", id]);
        let done = self.cli_json(&["localauthority", "x509", step], &flags)?;
        let acted = done
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|a| a["authority_id"].as_str());
        acted
            .map(str::to_string)
            .ok_or_else(|| format!("{step}: no authority in {done}").into())
    }
}
