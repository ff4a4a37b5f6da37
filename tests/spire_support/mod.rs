//! A real SPIRE (v1.13.3, built by `tests/peers/spire/build.sh`) on this machine, for the Workload
//! API tests: a server on 127.0.0.1 with its embedded SQLite datastore, join-token agents with the
//! unix workload attestor serving the Workload API on a Unix socket in a temp dir, registration
//! entries selected by this process's uid, and the server's admin commands a test needs (bundles
//! for federation, X.509 authority rotation).
//!
//! Everything here is blocking `std::process` code; async tests call it inside
//! `tokio::task::block_in_place`. A [`Spire`] kills its agents and its server and removes its
//! directory when dropped, also when the test panics (and then prints the end of their logs).
#![allow(dead_code)]

pub mod admin;
pub mod ca;
mod config;
pub mod load;
mod process;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

pub use config::Upstream;
use process::Daemon;
pub use process::{wait_for, TempDir, READY};

/// The harness's errors: anything, with words.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// At most this many SPIRE servers (each with its agents) run at once in this test process: the
/// tests run in parallel on a 2-core machine.
const MAX_SERVERS: usize = 2;

/// The directory holding `spire-server` and `spire-agent`: `target/spire/bin` of this repository
/// (whatever `CARGO_TARGET_DIR` says). If either is missing, `tests/peers/spire/build.sh` builds
/// them, once per test process.
pub fn bin_dir() -> Result<&'static Path> {
    static DIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target").join("spire").join("bin");
        let present = |name: &str| dir.join(name).is_file();
        if present("spire-server") && present("spire-agent") {
            return Ok(dir);
        }
        let script = root
            .join("tests")
            .join("peers")
            .join("spire")
            .join("build.sh");
        eprintln!(
            "SPIRE binaries missing in {}: running {} (minutes on a cold Go cache)",
            dir.display(),
            script.display()
        );
        match Command::new("bash").arg(&script).status() {
            Ok(status) if status.success() => Ok(dir),
            Ok(status) => Err(format!("{} failed: {status}", script.display())),
            Err(e) => Err(format!("running {}: {e}", script.display())),
        }
    });
    match dir {
        Ok(dir) => Ok(dir),
        Err(e) => Err(e.clone().into()),
    }
}

/// A command running the SPIRE binary `name`.
fn command(name: &str) -> Result<Command> {
    Ok(Command::new(bin_dir()?.join(name)))
}

/// One of the [`MAX_SERVERS`] places for a running server; freed on drop.
#[derive(Debug)]
struct Slot;

static USED: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

impl Slot {
    /// Waits for a free place.
    fn take() -> Self {
        let mut used = USED.lock().unwrap_or_else(PoisonError::into_inner);
        while *used >= MAX_SERVERS {
            used = FREED.wait(used).unwrap_or_else(PoisonError::into_inner);
        }
        *used += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *USED.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        FREED.notify_all();
    }
}

/// A registration entry: a workload SPIFFE ID for this process's uid, under one agent.
#[derive(Clone, Debug)]
pub struct Entry {
    spiffe_id: String,
    agent: String,
    ttl: Option<u32>,
    federates_with: Vec<String>,
}

impl Entry {
    /// `spiffe_id` for any process of this uid that asks agent `agent`.
    pub fn new(spiffe_id: &str, agent: &str) -> Self {
        Self {
            spiffe_id: spiffe_id.to_string(),
            agent: agent.to_string(),
            ttl: None,
            federates_with: Vec::new(),
        }
    }

    /// X509-SVIDs for it live `seconds` (SPIRE renews them at half their life).
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = Some(seconds);
        self
    }

    /// Its workloads also get the bundle of `trust_domain` (set on the server beforehand).
    pub fn federates_with(mut self, trust_domain: &str) -> Self {
        self.federates_with.push(trust_domain.to_string());
        self
    }
}

/// An agent of a [`Spire`], under a name: the node alias `spiffe://<td>/<name>` its entries have
/// as parent.
#[derive(Debug)]
struct Agent {
    name: String,
    socket: PathBuf,
    /// How many times it was started (each run has its own data dir and join token).
    runs: usize,
    daemon: Option<Daemon>,
}

/// A SPIRE server for one trust domain and its agents. The fields drop in order: agents, server,
/// directory, slot.
#[derive(Debug)]
pub struct Spire {
    agents: Vec<Agent>,
    server: Daemon,
    trust_domain: String,
    port: u16,
    socket: PathBuf,
    uid: u32,
    dir: TempDir,
    _slot: Slot,
}

impl Spire {
    /// Starts a server for `trust_domain` and waits until it is healthy. No agent runs yet.
    pub fn start(trust_domain: &str) -> Result<Self> {
        Self::start_with(trust_domain, None)
    }

    /// As [`Spire::start`], with `upstream` signing the server's X.509 CA.
    pub fn start_with(trust_domain: &str, upstream: Option<&Upstream>) -> Result<Self> {
        let slot = Slot::take();
        let dir = TempDir::new("mtls-spire")?;
        let port = process::free_port()?;
        let socket = dir.join("server.sock");
        let conf = dir.join("server.conf");
        fs::write(
            &conf,
            config::server(&config::Server {
                trust_domain,
                port,
                socket: &socket,
                data_dir: &dir.join("server-data"),
                datastore: &dir.join("datastore.sqlite3"),
                upstream,
            }),
        )?;
        let mut run = command("spire-server")?;
        run.arg("run").arg("-config").arg(&conf);
        let name = format!("spire-server {trust_domain}");
        let server = Daemon::spawn(&name, run, dir.join("server.log"))?;
        let mut spire = Self {
            agents: Vec::new(),
            server,
            trust_domain: trust_domain.to_string(),
            port,
            socket,
            uid: process::uid()?,
            dir,
            _slot: slot,
        };
        wait_for(&format!("{name} healthy"), || {
            spire.server.check_running()?;
            Ok(spire.cli(&["healthcheck"], &[]).map(drop))
        })?;
        Ok(spire)
    }

    /// A server for `trust_domain` with one agent `agent` serving an SVID for each of `ids` (TTL
    /// `ttl` seconds, or the server's default) to this process; returns once the agent serves them
    /// all.
    pub fn with_workloads(trust_domain: &str, ids: &[&str], ttl: Option<u32>) -> Result<Self> {
        let mut spire = Self::start(trust_domain)?;
        for id in ids {
            let entry = Entry::new(id, "agent");
            spire.create_entry(&ttl.map_or(entry.clone(), |t| entry.ttl(t)))?;
        }
        spire.start_agent("agent")?;
        spire.wait_for_svids("agent", ids)?;
        Ok(spire)
    }

    /// Its trust domain.
    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// Runs `spire-server <sub...> -socketPath <ours> <flags...>`; its stdout.
    fn cli(&self, sub: &[&str], flags: &[&str]) -> std::result::Result<String, String> {
        let mut cli = command("spire-server").map_err(|e| e.to_string())?;
        cli.args(sub)
            .arg("-socketPath")
            .arg(&self.socket)
            .args(flags);
        process::run(cli).map_err(|e| e.to_string())
    }

    /// [`Spire::cli`] with `-output json`, parsed.
    fn cli_json(&self, sub: &[&str], flags: &[&str]) -> Result<serde_json::Value> {
        let flags: Vec<&str> = ["-output", "json"].iter().chain(flags).copied().collect();
        let out = self.cli(sub, &flags)?;
        serde_json::from_str(&out).map_err(|e| format!("{sub:?}: {e} in {out:?}").into())
    }

    /// Registers `entry`: SPIFFE ID, parent `spiffe://<td>/<agent>`, selector `unix:uid:<ours>`.
    pub fn create_entry(&self, entry: &Entry) -> Result<()> {
        let parent = format!("spiffe://{}/{}", self.trust_domain, entry.agent);
        let selector = format!("unix:uid:{}", self.uid);
        let ttl = entry.ttl.map(|t| t.to_string());
        let federated: Vec<String> = entry
            .federates_with
            .iter()
            .map(|td| format!("spiffe://{td}"))
            .collect();
        let mut flags = vec!["-parentID", &parent, "-spiffeID", &entry.spiffe_id];
        flags.extend(["-selector", &selector]);
        if let Some(ttl) = &ttl {
            flags.extend(["-x509SVIDTTL", ttl]);
        }
        for td in &federated {
            flags.extend(["-federatesWith", td]);
        }
        self.cli(&["entry", "create"], &flags)?;
        Ok(())
    }

    /// Starts agent `name` (again, after [`Spire::kill_agent`]): a fresh join token that makes it
    /// `spiffe://<td>/<name>`, a fresh data dir, the same Workload API socket. Returns once its
    /// Workload API answers health checks.
    pub fn start_agent(&mut self, name: &str) -> Result<()> {
        let alias = format!("spiffe://{}/{name}", self.trust_domain);
        let token = self.cli_json(
            &["token", "generate"],
            &["-spiffeID", &alias, "-ttl", "600"],
        )?;
        let token = token["value"]
            .as_str()
            .ok_or_else(|| format!("no token in {token}"))?
            .to_string();
        let index = match self.agents.iter().position(|a| a.name == name) {
            Some(index) => index,
            None => {
                self.agents.push(Agent {
                    name: name.to_string(),
                    socket: self.dir.join(&format!("{name}.sock")),
                    runs: 0,
                    daemon: None,
                });
                self.agents.len() - 1
            }
        };
        let agent = &mut self.agents[index];
        if agent.daemon.is_some() {
            return Err(format!("agent {name} is running already").into());
        }
        agent.runs += 1;
        let run_name = format!("{name}-{}", agent.runs);
        let conf = self.dir.join(&format!("{run_name}.conf"));
        fs::write(
            &conf,
            config::agent(&config::Agent {
                trust_domain: &self.trust_domain,
                server_port: self.port,
                socket: &agent.socket,
                data_dir: &self.dir.join(&format!("{run_name}-data")),
            }),
        )?;
        let mut run = command("spire-agent")?;
        run.arg("run").arg("-config").arg(&conf);
        run.arg("-joinToken").arg(&token);
        let log = self.dir.join(&format!("{run_name}.log"));
        let what = format!("spire-agent {} {run_name}", self.trust_domain);
        let daemon = agent.daemon.insert(Daemon::spawn(&what, run, log)?);
        let socket = agent.socket.clone();
        wait_for(&format!("{what} healthy"), || {
            daemon.check_running()?;
            let mut check = command("spire-agent")?;
            check.arg("healthcheck").arg("-socketPath").arg(&socket);
            Ok(process::run(check).map(drop).map_err(|e| e.to_string()))
        })
    }

    /// Kills agent `name` (SIGKILL, no clean shutdown); its Workload API socket goes dead.
    pub fn kill_agent(&mut self, name: &str) -> Result<()> {
        let agent = self.agent(name)?;
        let daemon = agent.daemon.take();
        daemon
            .map(drop)
            .ok_or_else(|| format!("agent {name} is not running").into())
    }

    fn agent(&mut self, name: &str) -> Result<&mut Agent> {
        let agent = self.agents.iter_mut().find(|a| a.name == name);
        agent.ok_or_else(|| format!("no agent {name}").into())
    }

    /// The Workload API endpoint of agent `name`, as `SPIFFE_ENDPOINT_SOCKET` would say it.
    pub fn endpoint(&self, name: &str) -> String {
        let socket = self.dir.join(&format!("{name}.sock"));
        format!("unix://{}", socket.display())
    }

    /// Waits until agent `name` serves this process an X509-SVID for each of `ids`.
    pub fn wait_for_svids(&mut self, name: &str, ids: &[&str]) -> Result<()> {
        let what = format!("agent {name} of {} serving {ids:?}", self.trust_domain);
        let agent = self.agent(name)?;
        let socket = agent.socket.clone();
        let daemon = agent.daemon.as_mut().ok_or("the agent is not running")?;
        wait_for(&what, || {
            daemon.check_running()?;
            let mut fetch = command("spire-agent")?;
            fetch.args(["api", "fetch", "x509", "-socketPath"]);
            fetch.arg(&socket);
            let out = match process::run(fetch) {
                Ok(out) => out,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let served: Vec<&str> = out
                .lines()
                .filter_map(|l| l.strip_prefix("SPIFFE ID:"))
                .map(str::trim)
                .collect();
            let missing: Vec<&&str> = ids.iter().filter(|id| !served.contains(id)).collect();
            Ok(match missing.is_empty() {
                true => Ok(()),
                false => Err(format!("serves {served:?}, not yet {missing:?}")),
            })
        })
    }
}
