//! The rustls configs in force, as one value, and the same configs with ALPN protocols set.
//!
//! A leaf module on purpose. [`crate::creds`] builds and publishes [`Configs`]; [`crate::client`]
//! and [`crate::server`] only read them. Keeping the bundle here, and not in `creds`, makes the
//! arrows go one way (as in Linkerd's `linkerd/meshtls`): the credential receiver makes clients
//! and servers, and they never import it back. This module imports nothing from the crate.

use std::sync::{Arc, Mutex};

use rustls::{ClientConfig, ServerConfig};

/// The configs in force: published together so clients and servers never mix two certificates.
#[derive(Debug)]
pub(crate) struct Configs {
    /// What clients connect with (with the workload's certificate once one is set).
    pub(crate) client: Arc<ClientConfig>,
    /// `None` until a certificate is set: a server without a certificate refuses handshakes.
    pub(crate) server: Option<Arc<ServerConfig>>,
}

/// A rustls config that ALPN protocols can be set on.
pub(crate) trait SetAlpn: Clone {
    /// Replaces the config's ALPN protocols.
    fn set_alpn(&mut self, protocols: Vec<Vec<u8>>);
}

impl SetAlpn for ClientConfig {
    fn set_alpn(&mut self, protocols: Vec<Vec<u8>>) {
        self.alpn_protocols = protocols;
    }
}

impl SetAlpn for ServerConfig {
    fn set_alpn(&mut self, protocols: Vec<Vec<u8>>) {
        self.alpn_protocols = protocols;
    }
}

// === impl WithAlpn ===

/// ALPN protocols, and the current credentials' config with them set: derived once per credential
/// update (on the first connection after it), not per connection, and never published separately.
#[derive(Debug)]
pub(crate) struct WithAlpn<C> {
    protocols: Vec<Vec<u8>>,
    /// (the credentials' config, that config with `protocols` set).
    cache: Mutex<Option<(Arc<C>, Arc<C>)>>,
}

impl<C: SetAlpn> WithAlpn<C> {
    /// `protocols`, in preference order.
    pub(crate) fn new(protocols: Vec<Vec<u8>>) -> Self {
        Self {
            protocols,
            cache: Mutex::default(),
        }
    }

    /// `base` with the protocols set; the same `Arc` as last time while `base` is unchanged.
    pub(crate) fn config(&self, base: Arc<C>) -> Arc<C> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match &*cache {
            Some((cached_base, with_alpn)) if Arc::ptr_eq(cached_base, &base) => with_alpn.clone(),
            _ => {
                let mut config = (*base).clone();
                config.set_alpn(self.protocols.clone());
                let config = Arc::new(config);
                *cache = Some((base, config.clone()));
                config
            }
        }
    }
}
