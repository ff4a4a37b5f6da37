//! Workloads on a SPIRE agent's Workload API and the handshakes between them: one handshake with
//! both sides' outcomes (for the refusals), a continuous load (a server accepting in a loop,
//! several clients connecting in a loop) that counts handshakes and failures and records which CA
//! signed each side's certificate, and a watch of the SVID serials a workload serves.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use meshtls::creds::Receiver;
use meshtls::identity::SpiffeId;
use meshtls::workload_api::{Config, Source};
use meshtls::{ClientTls, Server, ServerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Result, READY};

/// The SNI every test workload's server answers to (identities are checked on the URI SAN).
pub const SERVER_NAME: &str = "foo.spire.test";

/// Bound on one handshake and its one-line exchange: reached only if something hangs.
const STEP: Duration = Duration::from_secs(20);

/// Pause between two handshakes of one load client, leaving CPU to SPIRE on a small machine.
const PAUSE: Duration = Duration::from_millis(5);

/// A workload whose credentials come from `endpoint`, picking the SVID for `id`; reconnects after
/// 100 ms doubling to 1 s. Returns once it has credentials.
pub async fn workload(endpoint: &str, id: &SpiffeId) -> Result<Source> {
    let config = Config::new(SERVER_NAME.parse()?)
        .endpoint(endpoint)
        .id(id.clone())
        .backoff(Duration::from_millis(100), Duration::from_secs(1));
    let source = Source::spawn(config)?;
    tokio::time::timeout(READY, source.ready()).await??;
    Ok(source)
}

/// `s` as a SPIFFE ID.
pub fn spiffe(s: &str) -> SpiffeId {
    s.parse().expect("a valid SPIFFE ID")
}

/// What one side of a handshake saw of the other.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The identity the peer proved.
    pub peer: String,
    /// The peer's leaf certificate (DER).
    pub leaf: Vec<u8>,
}

/// Both sides of one connection.
#[derive(Debug)]
pub struct Outcome {
    /// The client's `connect` and read of the server's greeting.
    pub client: io::Result<Seen>,
    /// The server's `accept` and greeting.
    pub server: io::Result<Seen>,
}

/// The server side of one connection: accept, write `ok\n`, close.
async fn serve_one(server: &Server, tcp: TcpStream) -> io::Result<Seen> {
    let (_, mut io) = tokio::time::timeout(STEP, server.accept(tcp)).await??;
    let peer = io.client_id().map(|c| c.to_string());
    let peer = peer.ok_or_else(|| io::Error::other("the client proved no identity"))?;
    let leaf = io.negotiated().peer_certificate.clone().unwrap_or_default();
    io.write_all(b"ok\n").await?;
    io.shutdown().await?;
    Ok(Seen { peer, leaf })
}

/// The client side of one connection to `addr` for `target`: connect, read `ok\n` to the end.
async fn connect_one(client: &Receiver, addr: SocketAddr, target: ClientTls) -> io::Result<Seen> {
    let exchange = async {
        let tcp = TcpStream::connect(addr).await?;
        let (mut io, _) = client.new_client().new_client(target).connect(tcp).await?;
        let mut reply = String::new();
        io.read_to_string(&mut reply).await?;
        if reply != "ok\n" {
            return Err(io::Error::other(format!("the server said {reply:?}")));
        }
        let peer = io.server_id().map(|s| s.to_string());
        let peer = peer.ok_or_else(|| io::Error::other("the server proved no identity"))?;
        let leaf = io.negotiated().peer_certificate.clone().unwrap_or_default();
        Ok(Seen { peer, leaf })
    };
    tokio::time::timeout(STEP, exchange).await?
}

/// The target `server_id` answering to [`SERVER_NAME`].
fn target(server_id: &SpiffeId) -> ClientTls {
    let id = server_id
        .to_string()
        .parse()
        .expect("a SPIFFE ID is an identity");
    let name = SERVER_NAME.parse().expect("a valid server name");
    ClientTls::new(ServerId(id), name)
}

/// One connection from `client` to `server` (a fresh listener), requiring `server_id`.
pub async fn handshake_once(server: &Receiver, client: &Receiver, server_id: &SpiffeId) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let addr = listener.local_addr().expect("its address");
    let server = server.server();
    let serving = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        serve_one(&server, tcp).await
    });
    let client = connect_one(client, addr, target(server_id)).await;
    let server = serving.await.expect("the server task panicked");
    Outcome { client, server }
}

/// The authority key identifier of a certificate (lowercase hex, as SPIRE names authorities).
pub fn issuer_key_id(der: &[u8]) -> Option<String> {
    use x509_parser::extensions::ParsedExtension;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| hex::encode(k.0))
            }
            _ => None,
        })
}

/// What the load has seen so far.
#[derive(Debug, Default)]
struct Counters {
    handshakes: AtomicU64,
    failures: AtomicU64,
    errors: Mutex<Vec<String>>,
    /// The issuer key ID of the server's leaf in the last handshake the clients completed.
    server_issuer: Mutex<Option<String>>,
    /// The same of the client's leaf, as the server saw it.
    client_issuer: Mutex<Option<String>>,
}

impl Counters {
    fn failed(&self, side: &str, error: impl std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::SeqCst);
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        errors.push(format!("{side}: {error}"));
    }
}

fn remember(slot: &Mutex<Option<String>>, leaf: &[u8]) {
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = issuer_key_id(leaf);
}

/// What a load did, once stopped.
#[derive(Debug)]
pub struct Report {
    /// Handshakes that completed on both sides with the right identities.
    pub handshakes: u64,
    /// Attempts that failed on either side.
    pub failures: u64,
    /// The first failures, in words.
    pub errors: Vec<String>,
}

/// Clients connecting in a loop to a server accepting in a loop, until stopped.
#[derive(Debug)]
pub struct Load {
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    clients: Vec<JoinHandle<()>>,
    acceptor: JoinHandle<()>,
}

impl Load {
    /// `clients` loops of `client` connecting to `server` (whose SVID is `server_id`), each
    /// checking the identity the server proved, the server checking the client is `client_id`.
    pub async fn start(
        server: &Receiver,
        client: &Receiver,
        server_id: &SpiffeId,
        client_id: &SpiffeId,
        clients: usize,
    ) -> Self {
        let counters = Arc::new(Counters::default());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback listener");
        let addr = listener.local_addr().expect("its address");
        let acceptor = tokio::spawn(accept_loop(
            listener,
            server.server(),
            client_id.to_string(),
            counters.clone(),
        ));
        let (stop, stopped) = watch::channel(false);
        let clients = (0..clients)
            .map(|_| {
                let (client, counters) = (client.clone(), counters.clone());
                let (server_id, stopped) = (server_id.clone(), stopped.clone());
                tokio::spawn(async move {
                    while !*stopped.borrow() {
                        match connect_one(&client, addr, target(&server_id)).await {
                            Ok(seen) if seen.peer == server_id.to_string() => {
                                remember(&counters.server_issuer, &seen.leaf);
                                counters.handshakes.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(seen) => counters.failed("client", format!("server {}", seen.peer)),
                            Err(e) => counters.failed("client", e),
                        }
                        tokio::time::sleep(PAUSE).await;
                    }
                })
            })
            .collect();
        Self {
            counters,
            stop,
            clients,
            acceptor,
        }
    }

    /// Handshakes completed so far.
    pub fn handshakes(&self) -> u64 {
        self.counters.handshakes.load(Ordering::SeqCst)
    }

    /// Failed attempts so far.
    pub fn failures(&self) -> u64 {
        self.counters.failures.load(Ordering::SeqCst)
    }

    /// Waits until `n` more handshakes have completed (bounded by [`READY`], in case none does).
    pub async fn more(&self, n: u64) -> Result<()> {
        let target = self.handshakes() + n;
        let deadline = Instant::now() + READY;
        while self.handshakes() < target {
            if Instant::now() >= deadline {
                let errors = self.counters.errors.lock().map(|e| e.clone());
                return Err(format!("the load stalled; errors: {errors:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The issuer key IDs of the leaves in the last completed handshake: (server's, client's).
    pub fn issuers(&self) -> (Option<String>, Option<String>) {
        let read =
            |m: &Mutex<Option<String>>| m.lock().unwrap_or_else(PoisonError::into_inner).clone();
        (
            read(&self.counters.server_issuer),
            read(&self.counters.client_issuer),
        )
    }

    /// Stops the clients (each finishes its attempt), then the server; what they counted.
    pub async fn stop(self) -> Report {
        self.stop.send_replace(true);
        for client in self.clients {
            client.await.expect("a load client panicked");
        }
        self.acceptor.abort();
        let errors = self
            .counters
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Report {
            handshakes: self.counters.handshakes.load(Ordering::SeqCst),
            failures: self.counters.failures.load(Ordering::SeqCst),
            errors: errors.iter().take(10).cloned().collect(),
        }
    }
}

/// Accepts connections until aborted, serving each in its own task.
async fn accept_loop(
    listener: TcpListener,
    server: Server,
    client_id: String,
    counters: Arc<Counters>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (server, client_id, counters) = (server.clone(), client_id.clone(), counters.clone());
        tokio::spawn(async move {
            match serve_one(&server, tcp).await {
                Ok(seen) if seen.peer == client_id => remember(&counters.client_issuer, &seen.leaf),
                Ok(seen) => counters.failed("server", format!("client {}", seen.peer)),
                Err(e) => counters.failed("server", e),
            }
        });
    }
}

/// The distinct SVID serials a workload has served since the watch began, in order.
#[derive(Debug)]
pub struct Serials {
    seen: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Serials {
    /// Starts recording what `rx` serves.
    pub fn watch(rx: &Receiver) -> Self {
        let mut rx = rx.clone();
        let serial =
            |served: &meshtls::creds::Served| served.certificate.as_ref().map(|c| c.serial.clone());
        let seen = Arc::new(Mutex::new(
            serial(&rx.served()).into_iter().collect::<Vec<_>>(),
        ));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok(served) = rx.changed().await {
                let mut seen = record.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(serial) = serial(&served) {
                    if seen.last() != Some(&serial) {
                        seen.push(serial);
                    }
                }
            }
        });
        Self { seen, task }
    }

    /// How many times the served SVID changed.
    pub fn rotations(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
            .saturating_sub(1)
    }

    /// The serials seen.
    pub fn serials(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Serials {
    fn drop(&mut self) {
        self.task.abort();
    }
}
