//! A caller's choice of key-exchange groups and TLS 1.3 suites, in preference order, from the
//! build's policy ([`Offer`]), and the provider restricted to it.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{CipherSuite, NamedGroup};

use super::row::{Algorithm, Kind};
use crate::Error;

/// Names a row of one kind of the policy table: by name (as [`Algorithm::name`] and `meshtls
/// status` print it), by the row itself, or by its rustls wire value.
pub trait Choice {
    /// The row of `kind` this names, if the table has one.
    fn row(&self, kind: Kind) -> Option<&'static Algorithm>;
    /// How it is named, for an error.
    fn text(&self) -> String;
}

impl Choice for &str {
    fn row(&self, kind: Kind) -> Option<&'static Algorithm> {
        super::lookup::by_name(kind, self)
    }
    fn text(&self) -> String {
        (*self).to_string()
    }
}

impl Choice for String {
    fn row(&self, kind: Kind) -> Option<&'static Algorithm> {
        self.as_str().row(kind)
    }
    fn text(&self) -> String {
        self.clone()
    }
}

impl Choice for &'static Algorithm {
    fn row(&self, kind: Kind) -> Option<&'static Algorithm> {
        (self.kind == kind).then_some(*self)
    }
    fn text(&self) -> String {
        self.name.to_string()
    }
}

impl Choice for NamedGroup {
    fn row(&self, kind: Kind) -> Option<&'static Algorithm> {
        super::lookup::group(*self).filter(|r| r.kind == kind)
    }
    fn text(&self) -> String {
        format!("{self:?}")
    }
}

impl Choice for CipherSuite {
    fn row(&self, kind: Kind) -> Option<&'static Algorithm> {
        super::lookup::suite(*self).filter(|r| r.kind == kind)
    }
    fn text(&self) -> String {
        format!("{self:?}")
    }
}

/// The key-exchange groups and TLS 1.3 suites a workload offers (as client) and accepts (as
/// server), each in preference order. The default is the build's whole policy list.
///
/// ```
/// use meshtls::policy::Offer;
/// let offer = Offer::default().with_groups(["secp256r1"]).unwrap();
/// assert_eq!(offer.groups()[0].name, "secp256r1");
/// // Nothing, or what the table does not know, is refused.
/// assert!(Offer::default().with_groups(Vec::<&str>::new()).is_err());
/// assert!(Offer::default().with_suites(["TLS13_NULL"]).is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Offer {
    groups: Option<Vec<&'static Algorithm>>,
    suites: Option<Vec<&'static Algorithm>>,
}

impl Offer {
    /// This offer with only `groups`, in that order.
    ///
    /// # Errors
    ///
    /// [`Error::NoAlgorithms`] for an empty list; [`Error::AlgorithmUnavailable`] for a group the
    /// table does not know or this build does not offer (X25519 in the FIPS build).
    pub fn with_groups<C: Choice>(
        self,
        groups: impl IntoIterator<Item = C>,
    ) -> Result<Self, Error> {
        Ok(Self {
            groups: Some(pick(Kind::Group, groups)?),
            ..self
        })
    }

    /// This offer with only the TLS 1.3 `suites`, in that order.
    ///
    /// # Errors
    ///
    /// As [`Offer::with_groups`]; a TLS 1.2 suite is refused too (the mesh speaks TLS 1.3 only).
    pub fn with_suites<C: Choice>(
        self,
        suites: impl IntoIterator<Item = C>,
    ) -> Result<Self, Error> {
        Ok(Self {
            suites: Some(pick(Kind::Suite, suites)?),
            ..self
        })
    }

    /// The groups offered, in order.
    pub fn groups(&self) -> Vec<&'static Algorithm> {
        self.groups.clone().unwrap_or_else(|| all(Kind::Group))
    }

    /// The TLS 1.3 suites offered, in order.
    pub fn suites(&self) -> Vec<&'static Algorithm> {
        self.suites.clone().unwrap_or_else(|| {
            all(Kind::Suite)
                .into_iter()
                .filter(|r| r.suite().is_some_and(|s| s.tls13().is_some()))
                .collect()
        })
    }

    /// The provider restricted to this offer; the build's own when nothing is restricted.
    pub(crate) fn provider(&self) -> Arc<CryptoProvider> {
        let base = crate::provider();
        if self.groups.is_none() && self.suites.is_none() {
            return base;
        }
        let mut provider = (*base).clone();
        if let Some(groups) = &self.groups {
            provider.kx_groups = groups.iter().filter_map(|r| r.group()).collect();
        }
        if let Some(suites) = &self.suites {
            provider.cipher_suites = suites.iter().filter_map(|r| r.suite()).collect();
        }
        Arc::new(provider)
    }
}

fn all(kind: Kind) -> Vec<&'static Algorithm> {
    super::lookup::table()
        .iter()
        .filter(|r| r.kind == kind && r.offered())
        .collect()
}

fn pick<C: Choice>(
    kind: Kind,
    choices: impl IntoIterator<Item = C>,
) -> Result<Vec<&'static Algorithm>, Error> {
    let mut rows: Vec<&'static Algorithm> = Vec::new();
    for choice in choices {
        let unavailable = |reason| Error::AlgorithmUnavailable {
            kind,
            name: choice.text(),
            reason,
        };
        let row = choice
            .row(kind)
            .ok_or_else(|| unavailable("meshtls does not know it"))?;
        if !row.in_build() {
            return Err(unavailable("this build does not have it"));
        }
        if !row.offered() {
            return Err(unavailable("the FIPS module does not approve it"));
        }
        if kind == Kind::Suite && row.suite().is_some_and(|s| s.tls13().is_none()) {
            return Err(unavailable("the mesh speaks TLS 1.3 only"));
        }
        if !rows.iter().any(|r| std::ptr::eq(*r, row)) {
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Err(Error::NoAlgorithms { kind });
    }
    Ok(rows)
}
