//! The proxy's accept loop, its two kinds of connection, and the drain on SIGTERM.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use meshtls::{ClientTls, Connect, Server, ServerId};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::files::{self, Paths};
use super::idle::{self, Ended};
use super::status::{self, Status};
use super::{log, policy, Args, Common, Mode, Shared};
use crate::{Fail, Report};

/// What a connection accepted on --listen is turned into.
#[derive(Clone)]
enum Side {
    /// Terminate mTLS, forward plaintext.
    Server(Server),
    /// Take plaintext, originate mTLS.
    Client(Connect),
}

/// Everything a connection task needs.
#[derive(Clone)]
struct Conn {
    side: Side,
    target: Arc<str>,
    connect_timeout: Duration,
    idle: Duration,
    shared: Arc<Shared>,
}

fn bad_arg(flag: &str, value: &str, e: impl std::fmt::Display) -> Fail {
    Fail::new(
        format!("--{flag} {value}: {e}"),
        "see `meshtls proxy --help`",
    )
}

/// The groups and suites --groups and --suites choose.
fn offer(common: &Common) -> Result<meshtls::policy::Offer, Fail> {
    let mut offer = meshtls::policy::Offer::default();
    if let Some(groups) = &common.groups {
        offer = offer
            .with_groups(groups.iter().map(String::as_str))
            .map_err(|e| bad_arg("groups", &groups.join(","), e))?;
    }
    if let Some(suites) = &common.suites {
        offer = offer
            .with_suites(suites.iter().map(String::as_str))
            .map_err(|e| bad_arg("suites", &suites.join(","), e))?;
    }
    Ok(offer)
}

/// Where the identity comes from, as the flags say.
enum Identity {
    /// --cert, --key, --roots.
    Files(Paths),
    /// --spiffe-socket: the Workload API at this socket.
    #[cfg(feature = "spiffe")]
    Workload(std::path::PathBuf),
}

/// What keeps the credentials current.
enum Feed {
    /// The file watcher and the store it updates.
    Files(Box<(meshtls::creds::Store, files::Watcher)>),
    /// The Workload API source (its task stops when the last clone is dropped).
    #[cfg(feature = "spiffe")]
    Workload(Arc<meshtls::workload_api::Source>),
}

impl Identity {
    /// The files, or (feature `spiffe`) the socket: exactly one of the two.
    fn of(common: &Common) -> Result<Self, Fail> {
        let files = [&common.cert, &common.key, &common.roots];
        let given = files.iter().filter(|f| f.is_some()).count();
        #[cfg(feature = "spiffe")]
        if let Some(socket) = &common.spiffe_socket {
            if given > 0 {
                return Err(Fail::new(
                    "--spiffe-socket and --cert/--key/--roots both give the identity",
                    "pass either --spiffe-socket or all of --cert, --key and --roots",
                ));
            }
            return Ok(Identity::Workload(socket.clone()));
        }
        match (&common.cert, &common.key, &common.roots) {
            (Some(cert), Some(key), Some(roots)) => Ok(Identity::Files(Paths {
                cert: cert.clone(),
                key: key.clone(),
                roots: roots.clone(),
            })),
            _ => Err(Fail::new(
                if given == 0 {
                    "no identity: --cert, --key and --roots are missing"
                } else {
                    "--cert, --key and --roots go together"
                },
                if cfg!(feature = "spiffe") {
                    "pass all of --cert, --key and --roots, or --spiffe-socket"
                } else {
                    "pass all of --cert, --key and --roots"
                },
            )),
        }
    }
}

/// Starts the Workload API source at `socket` for SPIFFE ID `id` and waits (up to `wait`) for its
/// first credentials.
#[cfg(feature = "spiffe")]
async fn workload(
    socket: &std::path::Path,
    id: meshtls::Id,
    name: meshtls::ServerName,
    wait: Duration,
    #[cfg(feature = "metrics")] metrics: meshtls::metrics::Metrics,
) -> Result<(meshtls::creds::Receiver, Arc<meshtls::workload_api::Source>), Fail> {
    use meshtls::workload_api::{Config, Source};
    let meshtls::Id::Uri(spiffe_id) = id else {
        return Err(bad_arg(
            "id",
            &id.to_string(),
            "--spiffe-socket needs a spiffe:// --id",
        ));
    };
    let config = Config::new(name)
        .endpoint(format!("unix://{}", socket.display()))
        .id(spiffe_id);
    #[cfg(feature = "metrics")]
    let config = config.metrics(metrics);
    let source = Source::spawn(config)
        .map_err(|e| Fail::new(format!("Workload API: {e}"), "report this as a bug"))?;
    let wait = wait.max(Duration::from_secs(30));
    let rx = match tokio::time::timeout(wait, source.ready()).await {
        Ok(Ok(rx)) => rx,
        Ok(Err(e)) => {
            return Err(Fail::new(
                format!("Workload API: {e}"),
                "report this as a bug",
            ))
        }
        Err(_) => {
            let status = source.status();
            let last = status.last_error.unwrap_or_else(|| "no answer".into());
            return Err(Fail::new(
                format!(
                    "Workload API at {}: no credentials within {wait:?}: {last}",
                    socket.display()
                ),
                "check that the agent runs, serves this workload an SVID for --id, and that the socket path is right",
            ));
        }
    };
    Ok((rx, Arc::new(source)))
}

/// Sets the proxy up, serves until SIGTERM, drains.
pub(super) async fn run(args: Args) -> Result<Report, Fail> {
    let (common, name) = match &args.mode {
        Mode::Server(s) => (&s.common, s.name.as_deref().unwrap_or(&s.common.id)),
        Mode::Client(c) => (&c.common, c.server_name.as_str()),
    };
    let id: meshtls::Id = common
        .id
        .parse()
        .map_err(|e| bad_arg("id", &common.id, e))?;
    let name: meshtls::ServerName = name.parse().map_err(|e| {
        bad_arg(
            "name",
            name,
            format!("{e} (a SPIFFE --id needs a DNS-like --name)"),
        )
    })?;
    let offer = offer(common)?;
    let identity = Identity::of(common)?;
    let shared = Arc::new(Shared::default());

    #[cfg(feature = "metrics")]
    let mut registry = prometheus_client::registry::Registry::default();
    #[cfg(feature = "metrics")]
    let metrics = meshtls::metrics::Metrics::register(&mut registry);

    let (rx, feed) = match identity {
        Identity::Files(paths) => {
            let (store, rx, watcher) = files::load(&paths, id, name)?;
            #[cfg(feature = "metrics")]
            let store = store.with_metrics(metrics.clone());
            (rx, Feed::Files(Box::new((store, watcher))))
        }
        #[cfg(feature = "spiffe")]
        Identity::Workload(socket) => {
            let (rx, source) = workload(
                &socket,
                id,
                name,
                common.handshake_timeout,
                #[cfg(feature = "metrics")]
                metrics.clone(),
            )
            .await?;
            (rx, Feed::Workload(source))
        }
    };

    let rx = rx.with_offer(&offer);
    let side = match &args.mode {
        Mode::Server(s) => {
            let server = rx
                .server()
                .with_policy(policy(s)?)
                .with_handshake_timeout(common.handshake_timeout);
            #[cfg(feature = "metrics")]
            let server = server.with_metrics(metrics.clone());
            Side::Server(server)
        }
        Mode::Client(c) => {
            let server_id: meshtls::Id = c
                .server_id
                .parse()
                .map_err(|e| bad_arg("server-id", &c.server_id, e))?;
            let server_name = c
                .server_name
                .parse()
                .map_err(|e| bad_arg("server-name", &c.server_name, e))?;
            let new_client = rx
                .new_client()
                .with_handshake_timeout(common.handshake_timeout);
            #[cfg(feature = "metrics")]
            let new_client = new_client.with_metrics(metrics.clone());
            Side::Client(new_client.new_client(ClientTls::new(ServerId(server_id), server_name)))
        }
    };

    let io_fail = |what: String| {
        move |e: std::io::Error| {
            Fail::new(
                format!("{what}: {e}"),
                "check that the address is free and the process may use it",
            )
        }
    };
    let listener = TcpListener::bind(common.listen)
        .await
        .map_err(io_fail(format!("listen on {}", common.listen)))?;
    if let Some(addr) = common.status {
        let status_listener = TcpListener::bind(addr)
            .await
            .map_err(io_fail(format!("status on {addr}")))?;
        let status = Status {
            shared: shared.clone(),
            rx: rx.clone(),
            margin: common.ready_margin,
            #[cfg(feature = "spiffe")]
            source: match &feed {
                Feed::Workload(source) => Some(source.clone()),
                Feed::Files(..) => None,
            },
            #[cfg(feature = "metrics")]
            registry: Arc::new(registry),
        };
        tokio::spawn(status::serve(status_listener, status));
        log(&format!("status on http://{addr}"));
    }
    // A Workload API source's task runs as long as this holds it, to the end of this function.
    let _source: Option<Feed> = match feed {
        Feed::Files(files) => {
            let (store, watcher) = *files;
            tokio::spawn(watcher.run(store, shared.clone()));
            None
        }
        #[cfg(feature = "spiffe")]
        workload @ Feed::Workload(_) => Some(workload),
    };
    let mode = match side {
        Side::Server(_) => "server",
        Side::Client(_) => "client",
    };
    log(&format!(
        "{mode} mode on {} to {}",
        common.listen, common.target
    ));

    let conn = Conn {
        side,
        target: Arc::from(common.target.as_str()),
        connect_timeout: common.handshake_timeout,
        idle: common.idle_timeout,
        shared: shared.clone(),
    };
    let tasks = accept_loop(listener, common, conn)
        .await
        .map_err(io_fail("signal handler".into()))?;
    Ok(drain(tasks, common.drain_timeout, &shared).await)
}

/// Accepts until SIGTERM or SIGINT; returns the connections still in flight.
async fn accept_loop(
    listener: TcpListener,
    common: &Common,
    conn: Conn,
) -> std::io::Result<JoinSet<()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let limit = common.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let tcp = match accepted {
                    Ok((tcp, _)) => idle::nodelay(tcp),
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, go on.
                        log(&format!("accept: {e}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                conn.shared.accepted.fetch_add(1, Ordering::Relaxed);
                let permit = match &limit {
                    None => None,
                    Some(limit) => match limit.clone().try_acquire_owned() {
                        Ok(permit) => Some(permit),
                        Err(_) => {
                            conn.shared.failed.fetch_add(1, Ordering::Relaxed);
                            log("connection closed: --max-connections reached");
                            continue;
                        }
                    },
                };
                let conn = conn.clone();
                tasks.spawn(async move {
                    conn.handle(tcp).await;
                    drop(permit);
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    Ok(tasks)
}

/// Waits for the connections in flight, up to `deadline`, then aborts the rest.
async fn drain(mut tasks: JoinSet<()>, deadline: Duration, shared: &Shared) -> Report {
    shared.draining.store(true, Ordering::Relaxed);
    let in_flight = tasks.len();
    log(&format!(
        "signal: not accepting any more; draining {in_flight} connection(s) for up to {deadline:?}"
    ));
    let all = async { while tasks.join_next().await.is_some() {} };
    let drained = tokio::time::timeout(deadline, all).await.is_ok();
    let left = tasks.len();
    tasks.abort_all();
    log(&if drained {
        "drained".to_string()
    } else {
        format!("drain deadline passed; closed {left} connection(s)")
    });
    let mut report = Report::default();
    report.field("drained", "drained:", drained);
    report.field("in_flight", "in flight at signal:", in_flight);
    report.field("aborted", "closed at deadline:", left);
    let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    report.field("accepted", "accepted:", count(&shared.accepted));
    report.field("failed", "failed:", count(&shared.failed));
    report
}

/// Decrements `active` when a connection ends, however it ends.
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Conn {
    async fn handle(self, tcp: TcpStream) {
        self.shared.active.fetch_add(1, Ordering::Relaxed);
        let _active = ActiveGuard(self.shared.clone());
        let from = tcp
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let (peer, ended) = match &self.side {
            Side::Server(server) => {
                let (_, io) = match server.accept(tcp).await {
                    Ok(accepted) => accepted,
                    Err(e) => return self.fail(&from, "handshake", &e),
                };
                let peer = io.client_id().map(|c| c.to_string());
                let up = match self.dial().await {
                    Ok(up) => up,
                    Err(e) => return self.fail(&from, "target", &e),
                };
                self.established(&from, peer.as_deref());
                (peer, idle::forward(io, up, self.idle).await)
            }
            Side::Client(connect) => {
                let up = match self.dial().await {
                    Ok(up) => up,
                    Err(e) => return self.fail(&from, "target", &e),
                };
                let (io, _) = match connect.connect(up).await {
                    Ok(connected) => connected,
                    Err(e) => return self.fail(&from, "handshake", &e),
                };
                let peer = io.server_id().map(|s| s.to_string());
                self.established(&from, peer.as_deref());
                // Reported as from the accepted side and back, as in server mode.
                let ended = match idle::forward(io, tcp, self.idle).await {
                    Ended::Closed(down, up) => Ended::Closed(up, down),
                    other => other,
                };
                (peer, ended)
            }
        };
        let peer = peer.as_deref().unwrap_or("-");
        match ended {
            Ended::Closed(a, b) => log(&format!("closed {from} peer={peer} bytes={a}/{b}")),
            Ended::Idle => log(&format!("closed {from} peer={peer}: idle timeout")),
            Ended::Failed(e) => log(&format!("closed {from} peer={peer}: {e}")),
        }
    }

    /// Connects to the target, within the connect timeout.
    async fn dial(&self) -> std::io::Result<TcpStream> {
        let connect = TcpStream::connect(&*self.target);
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(connected) => connected.map(idle::nodelay),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    fn fail(&self, from: &str, stage: &str, e: &std::io::Error) {
        self.shared.failed.fetch_add(1, Ordering::Relaxed);
        log(&format!("connection {from} failed ({stage}): {e}"));
    }

    fn established(&self, from: &str, peer: Option<&str>) {
        let peer = peer.unwrap_or("-");
        log(&format!("established {from} peer={peer}"));
        if let Ok(mut peers) = self.shared.peers.lock() {
            *peers.entry(peer.to_string()).or_default() += 1;
        }
    }
}
