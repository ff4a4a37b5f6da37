//! The proxy's identity from PEM files: read once at start, then polled and reloaded on change.
//!
//! Kubernetes (a Secret volume, cert-manager's csi-driver) swaps a directory's files at once by
//! re-pointing a `..data` symlink, but a reader can still see the certificate of one generation and
//! the key of the next. So a change is read as one pair: certificate, key, then the certificate
//! again; if the two certificate reads differ, the swap is under way and the next poll retries.
//! [`Credentials::set_certificate`] then checks that the key is the leaf's: a torn or bad pair is
//! refused, logged and counted, the old credentials stay in force, and the next poll tries again
//! once the files change. A new certificate is never published with the old key.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use meshtls::creds::{self, Store};
use meshtls::{Credentials, Error};

use super::{log, Shared};
use crate::{read, Fail};

/// How often the files are looked at.
pub(super) const POLL: Duration = Duration::from_secs(1);

/// The three files of a workload's identity.
#[derive(Clone, Debug)]
pub(super) struct Paths {
    /// PEM certificate chain, leaf first.
    pub(super) cert: PathBuf,
    /// PEM private key of the leaf.
    pub(super) key: PathBuf,
    /// PEM trust anchors.
    pub(super) roots: PathBuf,
}

/// What was last read (whether taken or refused): a poll with the same bytes does nothing.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    cert: Vec<u8>,
    key: Vec<u8>,
    roots: Vec<u8>,
}

/// A certificate chain's and a key's PEM bytes, read as one pair.
type Pair = (Vec<u8>, Vec<u8>);

/// Reads the certificate and key as one pair: `None` while a swap is under way (the certificate
/// changed between the two reads around the key).
fn read_pair(paths: &Paths) -> Result<Option<Pair>, Fail> {
    let cert = read(&paths.cert, "certificate chain")?;
    let key = read(&paths.key, "private key")?;
    let again = read(&paths.cert, "certificate chain")?;
    Ok((cert == again).then_some((cert, key)))
}

/// Sets the chain `cert` with `key` on `store`, with the leaf's notAfter as its expiry.
fn set_pair(store: &mut Store, cert: &[u8], key: &[u8]) -> Result<(), Error> {
    let (leaf, chain) = creds::chain_from_pem(cert)?;
    let key = creds::key_from_pem(key)?;
    let expiry = not_after(&leaf.0)?;
    store.set_certificate(leaf, chain, key, expiry)
}

/// The leaf's notAfter. A leaf that does not parse is refused by `set_certificate` anyway; this
/// only has to name a time for it.
fn not_after(leaf: &[u8]) -> Result<SystemTime, Error> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(leaf).map_err(|e| Error::CertParse(e.to_string()))?;
    let secs = cert.validity().not_after.timestamp();
    let secs = u64::try_from(secs).unwrap_or(0);
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The store for `id` with the identity in `paths`, and what was read. Fails when any file is
/// missing or refused: a proxy does not start without credentials.
pub(super) fn load(
    paths: &Paths,
    id: meshtls::Id,
    name: meshtls::ServerName,
) -> Result<(Store, creds::Receiver, Watcher), Fail> {
    let todo = "check that the certificate, key and roots are PEM, belong together and chain";
    let roots = read(&paths.roots, "trust roots")?;
    let (mut store, rx) = creds::watch(id, name, &roots)
        .map_err(|e| Fail::new(format!("trust roots {}: {e}", paths.roots.display()), todo))?;
    // A swap under way at start: try again a few times, a poll apart.
    let mut pair = read_pair(paths)?;
    for _ in 0..3 {
        if pair.is_some() {
            break;
        }
        std::thread::sleep(POLL);
        pair = read_pair(paths)?;
    }
    let (cert, key) = pair.ok_or_else(|| {
        Fail::new(
            format!("{} kept changing while it was read", paths.cert.display()),
            "start the proxy again once the identity files are stable",
        )
    })?;
    set_pair(&mut store, &cert, &key).map_err(|e| {
        Fail::new(
            format!(
                "certificate {} with key {}: {e}",
                paths.cert.display(),
                paths.key.display()
            ),
            todo,
        )
    })?;
    let seen = Seen { cert, key, roots };
    let watcher = Watcher {
        paths: paths.clone(),
        seen,
        unreadable: None,
    };
    Ok((store, rx, watcher))
}

/// Polls the files and reloads them into the store.
#[derive(Debug)]
pub(super) struct Watcher {
    paths: Paths,
    seen: Seen,
    /// The read error last logged, while the files stay unreadable.
    unreadable: Option<String>,
}

impl Watcher {
    /// Polls every [`POLL`] until the process ends, reloading `store` on each change.
    pub(super) async fn run(mut self, mut store: Store, shared: Arc<Shared>) {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.poll(&mut store, &shared);
        }
    }

    /// One poll: reads the files and, when they differ from what was last read, reloads them.
    fn poll(&mut self, store: &mut Store, shared: &Shared) {
        let now = match self.read() {
            Ok(Some(now)) => now,
            Ok(None) => return,
            Err(fail) => {
                // A file that stays unreadable is logged and counted once, not every poll; the
                // credentials in force stay.
                if self.unreadable.as_deref() != Some(fail.what.as_str()) {
                    shared.reloads_refused.fetch_add(1, Ordering::Relaxed);
                    log(&format!(
                        "reload: cannot read the identity files: {}",
                        fail.what
                    ));
                    self.unreadable = Some(fail.what);
                }
                return;
            }
        };
        self.unreadable = None;
        if now == self.seen {
            return;
        }
        let result = self.apply(store, &now);
        self.seen = now;
        match result {
            Ok(()) => {
                shared.reloads_ok.fetch_add(1, Ordering::Relaxed);
                log("reload: new identity files in force");
            }
            Err(refused) => {
                shared.reloads_refused.fetch_add(1, Ordering::Relaxed);
                log(&format!(
                    "reload refused, the certificate and key in force stay: {refused}"
                ));
            }
        }
    }

    /// Reads all three files; `None` while the certificate and key are being swapped.
    fn read(&self) -> Result<Option<Seen>, Fail> {
        let roots = read(&self.paths.roots, "trust roots")?;
        Ok(read_pair(&self.paths)?.map(|(cert, key)| Seen { cert, key, roots }))
    }

    /// Sets what changed; on error, what was set before the error (new roots, when the pair is
    /// refused) stays. Roots go first (a new CA's bundle before its certificates); when the
    /// roots are refused because the old certificate does not chain to them (the last step of a CA
    /// rotation, done together with the certificate), the certificate goes first and the roots
    /// after it.
    fn apply(&self, store: &mut Store, now: &Seen) -> Result<(), Error> {
        let roots_changed = now.roots != self.seen.roots;
        let pair_changed = now.cert != self.seen.cert || now.key != self.seen.key;
        let roots_first = if roots_changed {
            store.set_roots(&now.roots)
        } else {
            Ok(())
        };
        if pair_changed {
            set_pair(store, &now.cert, &now.key)?;
        }
        match roots_first {
            Ok(()) => Ok(()),
            Err(_) if pair_changed => store.set_roots(&now.roots),
            Err(e) => Err(e),
        }
    }
}
