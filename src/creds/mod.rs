//! Credentials: the trust roots, the workload's current certificate, and the TLS configs built from
//! them.
//!
//! [`watch`] returns the two halves. The identity controller holds the [`Store`] and calls
//! [`Credentials::set_certificate`] whenever it gets a new certificate; connections use the
//! [`Receiver`] (cheap to clone) to make clients and servers. A certificate is checked completely
//! before anything is published, and the client and server configs built from it are published
//! together in one `tokio::sync::watch` value: a handshake in flight keeps the config it started
//! with, the next one gets the new pair.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SigningKey};
use tokio::sync::watch as chan;

use crate::client::NewClient;
use crate::configs::Configs;
use crate::identity::{self, Credentials, DerX509, Id, ServerName};
use crate::server::Server;
use crate::Error;

mod config;
mod roots;
mod verify;

pub use roots::{chain_from_pem, key_from_pem, TrustRoots};
pub(crate) use verify::AnySanVerifier;

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
/// [`TrustRoots::from_pem`] for `roots_pem`; [`Error::Config`] or [`Error::FipsModeOff`] if the
/// initial client config is refused.
pub fn watch(
    local_id: Id,
    server_name: ServerName,
    roots_pem: &[u8],
) -> Result<(Store, Receiver), Error> {
    if cfg!(feature = "fips") {
        crate::fips::check()?;
        crate::fips::startup_gate()?;
    }
    let roots = TrustRoots::from_pem(roots_pem)?;
    let initial = Configs {
        client: Arc::new(config::client(roots.server_verifier(), None)?),
        server: None,
    };
    let (tx, rx) = chan::channel(Arc::new(initial));
    tracing::debug!(%local_id, %server_name, anchors = roots.len(), "credentials created");
    let store = Store {
        local_id: local_id.clone(),
        roots,
        tx,
    };
    let rx = Receiver {
        local_id,
        server_name,
        rx,
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

// === impl Store ===

/// The writing half: takes new certificates and publishes the configs built from them.
#[derive(Debug)]
pub struct Store {
    local_id: Id,
    roots: TrustRoots,
    tx: chan::Sender<Arc<Configs>>,
}

impl Store {
    /// Runs every check and builds both configs, publishing nothing.
    fn build(&self, leaf: DerX509, chain: Vec<DerX509>, key: Vec<u8>) -> Result<Configs, Error> {
        // 1. The key parses and the build's policy allows it; 2. it is the leaf's.
        let key = check_key(&leaf, &key)?;
        // 3. The chain verifies to the roots now.
        self.roots.verify(&leaf, &chain)?;
        // 4. The leaf is for us.
        identity::verify_id(&leaf.0, &self.local_id)?;
        // 5. The leaf and chain meet the mesh's certificate rules (what peers check too).
        crate::leaf::verify(&leaf.0, &chain)?;

        let leaf_der = CertificateDer::from(leaf.0);
        let intermediates = chain.into_iter().map(|c| CertificateDer::from(c.0));
        let certs: Vec<_> = std::iter::once(leaf_der).chain(intermediates).collect();
        let certified = Arc::new(config::Certified(Arc::new(CertifiedKey::new(certs, key))));
        Ok(Configs {
            client: Arc::new(config::client(
                self.roots.server_verifier(),
                Some(certified.clone()),
            )?),
            server: Some(Arc::new(config::server(
                self.roots.client_verifier(),
                certified,
            )?)),
        })
    }
}

impl Credentials for Store {
    fn set_certificate(
        &mut self,
        leaf: DerX509,
        chain: Vec<DerX509>,
        key: Vec<u8>,
        expiry: SystemTime,
    ) -> Result<(), Error> {
        match self.build(leaf, chain, key) {
            Ok(configs) => {
                self.tx.send_replace(Arc::new(configs));
                tracing::info!(local_id = %self.local_id, ?expiry, "certificate updated");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(local_id = %self.local_id, %error, "certificate rejected; keeping the previous one");
                Err(error)
            }
        }
    }
}

// === impl Receiver ===

/// The reading half: makes clients and servers on the current credentials.
#[derive(Clone, Debug)]
pub struct Receiver {
    local_id: Id,
    server_name: ServerName,
    rx: chan::Receiver<Arc<Configs>>,
}

impl Receiver {
    /// This workload's identity.
    pub fn local_id(&self) -> &Id {
        &self.local_id
    }

    /// The SNI this workload's server answers to.
    pub fn server_name(&self) -> &ServerName {
        &self.server_name
    }

    /// A client factory that always uses the latest credentials.
    pub fn new_client(&self) -> NewClient {
        NewClient::new(self.rx.clone())
    }

    /// A server that always uses the latest credentials.
    pub fn server(&self) -> Server {
        Server::new(self.rx.clone())
    }
}
