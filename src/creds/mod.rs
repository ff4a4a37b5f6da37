//! Credentials: the trust roots and federated bundles, the workload's current certificate, and
//! their publication to clients and servers.
//!
//! [`watch`] returns the two halves. The identity controller holds the [`Store`]: it calls
//! [`Credentials::set_certificate`] whenever it gets a new certificate, [`Store::set_roots`] when
//! the mesh's trust anchors change, [`Store::set_bundle`] for a federated trust domain. Connections
//! use the [`Receiver`] (cheap to clone) to make clients and servers, and it says what is served
//! ([`Receiver::served`], [`Receiver::changed`]). Every update is checked completely before
//! anything is published, and is published as one `tokio::sync::watch` value: a handshake in
//! flight keeps the credentials it started with, the next one gets the new ones, and established
//! connections are not touched.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SigningKey};
use tokio::sync::watch as chan;

use crate::client::NewClient;
use crate::configs::{self, Certified, Configs};
use crate::identity::{self, Credentials, DerX509, Id, ServerId, ServerName, TrustDomain};
#[cfg(feature = "metrics")]
use crate::metrics::Metrics;
use crate::policy::Offer;
use crate::server::Server;
use crate::trust::{RootsScope, Trust};
use crate::Error;

mod change;
mod pem;
pub(crate) mod served;

use change::Change;

pub use crate::trust::{Fingerprint, TrustRoots};
pub use pem::{chain_from_pem, key_from_pem};
pub use served::{Served, ServedCertificate};

/// Creates the credential store for `local_id` and its receiving half.
///
/// `server_name` is the SNI this workload's server answers to; `roots_pem` is the mesh's trust
/// anchors (one or more PEM certificates). Until a certificate is set, clients connect without a
/// client certificate and servers refuse handshakes.
///
/// In the FIPS build this first checks that the module is in FIPS mode and runs the TLS-level
/// self-test (once per process, see [`crate::fips::startup_self_test`]); either failing fails this,
/// before any configuration exists.
///
/// # Errors
///
/// [`Error::FipsModeOff`] or [`Error::SelfTestFailed`] in the FIPS build as above; any error of
/// [`TrustRoots::from_pem`] for `roots_pem`; [`Error::Config`] or [`Error::FipsModeOff`] if a
/// config built on them is refused.
pub fn watch(
    local_id: Id,
    server_name: ServerName,
    roots_pem: &[u8],
) -> Result<(Store, Receiver), Error> {
    let roots = TrustRoots::from_pem(roots_pem);
    roots.and_then(|roots| watch_roots(local_id, server_name, roots))
}

/// [`watch`], with trust anchors already read (e.g. [`TrustRoots::from_der`]).
///
/// # Errors
///
/// As [`watch`], but for reading the roots.
///
/// # FIPS
///
/// As [`watch`]: the module's FIPS mode and the self-test are checked first.
pub fn watch_roots(
    local_id: Id,
    server_name: ServerName,
    roots: TrustRoots,
) -> Result<(Store, Receiver), Error> {
    if cfg!(feature = "fips") {
        crate::fips::check()?;
        crate::fips::startup_gate()?;
    }
    let trust = Trust::new(roots);
    let initial = publishable(&local_id, Arc::new(trust), None)?;
    let (tx, rx) = chan::channel(Arc::new(initial));
    tracing::debug!(%local_id, %server_name, "credentials created");
    let store = Store {
        local_id: local_id.clone(),
        tx,
        #[cfg(feature = "metrics")]
        metrics: None,
    };
    let rx = Receiver {
        local_id,
        server_name,
        rx,
        provider: crate::provider(),
    };
    Ok((store, rx))
}

/// Checks that `key` (DER: PKCS#8, SEC1 or PKCS#1) parses, is allowed by this build's policy, and
/// is the private key of `leaf`. Returns the loaded signing key.
///
/// # Errors
///
/// [`Error::KeyParse`] for a key in no supported encoding, [`Error::KeyPolicy`] for a type or
/// size this build refuses, [`Error::CertParse`] when `leaf` does not parse, [`Error::KeyMismatch`]
/// when the key is not the leaf's.
pub fn check_key(leaf: &DerX509, key: &[u8]) -> Result<Arc<dyn SigningKey>, Error> {
    let key = PrivateKeyDer::try_from(key).map_err(|e| Error::KeyParse(e.to_string()))?;
    let key = crate::provider::sign::load(&key)?;
    let (_, cert) = identity::parse(&leaf.0)?;
    let spki = key.public_key().ok_or(Error::KeyMismatch)?;
    if spki.as_ref() != cert.public_key().raw {
        return Err(Error::KeyMismatch);
    }
    Ok(key)
}

/// [`Configs`] for `trust` and `certified`, once the configs built from them are known to be
/// accepted (rustls, FIPS mode).
fn publishable(
    local_id: &Id,
    trust: Arc<Trust>,
    certified: Option<(Arc<Certified>, served::ServedCertificate)>,
) -> Result<Configs, Error> {
    let (certified, cert_info) = certified.unzip();
    let configs = Configs {
        served: Arc::new(Served::of(&trust, cert_info)),
        trust,
        certified,
        warned: std::sync::atomic::AtomicBool::new(false),
    };
    let accept: Arc<[ServerId]> = Arc::from(vec![ServerId(local_id.clone())]);
    let provider = crate::provider();
    configs::client(&configs, &provider, accept, &[])?;
    configs::server(&configs, &provider, Arc::default(), &[])?;
    Ok(configs)
}

// === impl Store ===

/// The writing half: takes new certificates and trust anchors, and publishes them.
#[derive(Debug)]
pub struct Store {
    local_id: Id,
    tx: chan::Sender<Arc<Configs>>,
    /// Where updates are recorded (feature `metrics`).
    #[cfg(feature = "metrics")]
    metrics: Option<Metrics>,
}

impl Store {
    /// This store, recording every update in `metrics` (what it changed, taken or refused) and
    /// the notAfter of the certificate in force, from the one in force now on.
    #[cfg(feature = "metrics")]
    pub fn with_metrics(self, metrics: Metrics) -> Store {
        metrics.certificate(self.not_after());
        Store {
            metrics: Some(metrics),
            ..self
        }
    }

    /// The credentials in force.
    fn current(&self) -> Arc<Configs> {
        self.tx.borrow().clone()
    }

    /// The notAfter of the certificate in force.
    #[cfg(feature = "metrics")]
    fn not_after(&self) -> Option<SystemTime> {
        let served = self.current().served.clone();
        served.certificate.as_ref().map(|c| c.not_after)
    }

    /// Logs an update's result and records it.
    fn updated(&self, change: Change, result: &Result<(), Error>) {
        change.log(&self.local_id, result);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.updated(change.label(), result.is_ok(), self.not_after());
        }
    }

    /// Checks `leaf` for `trust`: the mesh's certificate rules, the chain to the anchors its
    /// identity selects, and that it is for us.
    fn check_own(
        &self,
        trust: &Trust,
        leaf: &[u8],
        chain: &[CertificateDer<'_>],
    ) -> Result<(), Error> {
        let ids = trust.verify_own(leaf, chain)?;
        if ids.all().contains(&self.local_id) {
            return Ok(());
        }
        Err(Error::IdMismatch {
            expected: self.local_id.to_string(),
            found: ids.all().iter().map(Id::to_string).collect(),
        })
    }

    /// Publishes `trust` with the current certificate, once that certificate still verifies
    /// under it.
    fn replace_trust(&mut self, trust: Trust) -> Result<(), Error> {
        let current = self.current();
        let certified = match (&current.certified, &current.served.certificate) {
            (Some(certified), Some(info)) => {
                let certs = &certified.0.cert;
                let (leaf, chain) = certs.split_first().expect("a CertifiedKey has a leaf");
                self.check_own(&trust, leaf, chain)?;
                Some((certified.clone(), info.clone()))
            }
            _ => None,
        };
        let configs = publishable(&self.local_id, Arc::new(trust), certified)?;
        self.tx.send_replace(Arc::new(configs));
        Ok(())
    }

    /// Replaces the mesh's trust anchors with the bundle `roots_pem`. New handshakes use it;
    /// established connections go on. To rotate a CA, publish {old, new}, then move certificates
    /// to the new CA, then publish {new}.
    ///
    /// # Errors
    ///
    /// Any error of [`TrustRoots::from_pem`]; [`Error::Untrusted`] about
    /// [`Whose::Workload`](crate::Whose::Workload) when the current certificate does not chain to
    /// the new bundle. On error nothing changes.
    pub fn set_roots(&mut self, roots_pem: &[u8]) -> Result<(), Error> {
        let result = TrustRoots::from_pem(roots_pem).and_then(|roots| {
            let current = &self.current().trust;
            let (bundles, scope) = (current.bundles.clone(), current.scope.clone());
            self.replace_trust(Trust {
                roots,
                bundles,
                scope,
            })
        });
        self.updated(Change::Roots, &result);
        result
    }

    /// Sets the bundle of trust domain `domain` (SPIFFE federation): from now on a peer whose
    /// SPIFFE ID is in `domain` verifies only against it, and proves only that SPIFFE ID. Setting
    /// it again rotates it.
    ///
    /// # Errors
    ///
    /// As [`Store::set_roots`]; the current certificate is checked when it is in `domain`.
    pub fn set_bundle(&mut self, domain: TrustDomain, bundle_pem: &[u8]) -> Result<(), Error> {
        let result = TrustRoots::from_pem(bundle_pem).and_then(|bundle| {
            let mut trust = (*self.current().trust).clone();
            trust.bundles.insert(domain.clone(), bundle);
            self.replace_trust(trust)
        });
        self.updated(Change::Bundle, &result);
        result
    }

    /// Removes the bundle of trust domain `domain`: its identities verify against the mesh roots
    /// again. Removing a bundle that is not set does nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Untrusted`] when the current certificate would no longer verify.
    pub fn remove_bundle(&mut self, domain: &TrustDomain) -> Result<(), Error> {
        let mut trust = (*self.current().trust).clone();
        if trust.bundles.remove(domain).is_none() {
            return Ok(());
        }
        let result = self.replace_trust(trust);
        self.updated(Change::BundleRemoval, &result);
        result
    }

    /// Replaces everything at once, as one publication: the mesh roots, which are trust domain
    /// `domain`'s bundle (so SPIFFE IDs of a domain without a bundle are refused), every federated
    /// bundle and the certificate (a SPIFFE Workload API message replaces the previous one as a
    /// whole; during a CA rotation its new certificate may chain only to its new roots). The
    /// certificate is checked against the new trust; on error nothing changes.
    #[cfg_attr(not(feature = "spiffe"), allow(dead_code))]
    pub(crate) fn replace_all(
        &mut self,
        (domain, roots): (TrustDomain, TrustRoots),
        bundles: std::collections::BTreeMap<TrustDomain, TrustRoots>,
        certificate: (DerX509, Vec<DerX509>, Vec<u8>, SystemTime),
    ) -> Result<(), Error> {
        let (leaf, chain, key, expiry) = certificate;
        let scope = RootsScope::TrustDomain(domain);
        let trust = Arc::new(Trust {
            roots,
            bundles,
            scope,
        });
        let result = self.build(&trust, leaf, chain, key, expiry).map(|configs| {
            self.tx.send_replace(Arc::new(configs));
        });
        self.updated(Change::All, &result);
        result
    }

    /// Runs every check of a new certificate under `trust`, publishing nothing.
    fn build(
        &self,
        trust: &Arc<Trust>,
        leaf: DerX509,
        chain: Vec<DerX509>,
        key: Vec<u8>,
        expiry: SystemTime,
    ) -> Result<Configs, Error> {
        // 1. The caller's replacement time is not already past.
        if expiry < SystemTime::now() {
            return Err(Error::ExpiryInPast {
                expiry: crate::error::text::rfc3339(rustls::pki_types::UnixTime::since_unix_epoch(
                    expiry
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap_or_default(),
                )),
            });
        }
        // 2. The key parses, the build's policy allows it, and it is the leaf's.
        let key = check_key(&leaf, &key)?;
        // 3. The rules, the chain to the anchors for its identity, and the identity is ours.
        let intermediates: Vec<_> = chain
            .iter()
            .map(|c| CertificateDer::from(c.0.as_slice()))
            .collect();
        self.check_own(trust, &leaf.0, &intermediates)?;
        let info = describe(&leaf, expiry)?;

        let leaf_der = CertificateDer::from(leaf.0);
        let intermediates = chain.into_iter().map(|c| CertificateDer::from(c.0));
        let certs: Vec<_> = std::iter::once(leaf_der).chain(intermediates).collect();
        let certified = Arc::new(Certified(Arc::new(CertifiedKey::new(certs, key))));
        publishable(&self.local_id, trust.clone(), Some((certified, info)))
    }
}

/// What the receiver reports of a certificate that passed every check.
fn describe(leaf: &DerX509, expiry: SystemTime) -> Result<ServedCertificate, Error> {
    let (_, cert) = identity::parse(&leaf.0)?;
    let validity = cert.validity();
    Ok(ServedCertificate {
        identities: identity::identities(&leaf.0)?,
        serial: cert.raw_serial_as_string(),
        not_before: served::system_time(validity.not_before.timestamp()),
        not_after: served::system_time(validity.not_after.timestamp()),
        expiry,
    })
}

impl Credentials for Store {
    fn set_certificate(
        &mut self,
        leaf: DerX509,
        chain: Vec<DerX509>,
        key: Vec<u8>,
        expiry: SystemTime,
    ) -> Result<(), Error> {
        let trust = self.current().trust.clone();
        let result = self.build(&trust, leaf, chain, key, expiry).map(|configs| {
            self.tx.send_replace(Arc::new(configs));
        });
        self.updated(Change::Certificate, &result);
        result
    }
}

// === impl Receiver ===

/// The reading half: makes clients and servers on the current credentials, and says what they are.
#[derive(Clone, Debug)]
pub struct Receiver {
    local_id: Id,
    server_name: ServerName,
    rx: chan::Receiver<Arc<Configs>>,
    /// The provider its clients and servers use: the build's, or restricted by an [`Offer`].
    provider: Arc<CryptoProvider>,
}

impl Receiver {
    /// This receiver, whose clients and servers made from now on offer and accept only `offer`'s
    /// key-exchange groups and TLS 1.3 suites, in its order (the default: the build's policy).
    ///
    /// ```
    /// # fn f(rx: meshtls::creds::Receiver) -> Result<(), meshtls::Error> {
    /// use meshtls::policy::Offer;
    /// let _rx = rx.with_offer(&Offer::default().with_groups(["secp256r1"])?);
    /// # Ok(()) }
    /// ```
    pub fn with_offer(self, offer: &Offer) -> Receiver {
        Receiver {
            provider: offer.provider(),
            ..self
        }
    }

    /// This workload's identity.
    pub fn local_id(&self) -> &Id {
        &self.local_id
    }

    /// The SNI this workload's server answers to.
    pub fn server_name(&self) -> &ServerName {
        &self.server_name
    }

    /// What is served now: the certificate (identities, serial, validity) and the anchors.
    pub fn served(&self) -> Arc<Served> {
        self.rx.borrow().served.clone()
    }

    /// Waits until the store publishes new credentials, and returns what is served then.
    ///
    /// # Errors
    ///
    /// [`Error::StoreClosed`] once the [`Store`] is dropped: nothing will change any more.
    pub async fn changed(&mut self) -> Result<Arc<Served>, Error> {
        self.rx.changed().await.map_err(|_| Error::StoreClosed)?;
        Ok(self.rx.borrow_and_update().served.clone())
    }

    /// A client factory that always uses the latest credentials.
    pub fn new_client(&self) -> NewClient {
        NewClient::new(self.rx.clone(), self.provider.clone())
    }

    /// A server that always uses the latest credentials.
    pub fn server(&self) -> Server {
        Server::new(self.rx.clone(), self.provider.clone())
    }
}
