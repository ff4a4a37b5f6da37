//! The plumbing under the SPIRE harness: a temporary directory removed on drop, a child process
//! killed on drop (with its log shown when a test panics), one-shot commands, free ports, the
//! current uid, and a polling loop for readiness waits.

use std::fs::{self, File};
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::Result;

/// How long a readiness wait polls before it gives up (it returns as soon as the condition holds:
/// this bounds a hang, it is no assertion on time).
pub const READY: Duration = Duration::from_secs(60);

/// Pause between two polls of a readiness wait.
const POLL: Duration = Duration::from_millis(200);

/// A fresh directory with a short path (Unix socket paths must stay under ~100 bytes), removed with
/// everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `/tmp/<prefix>-<pid>-<n>` (or the same under the system's temp dir when there is no
    /// `/tmp`).
    pub fn new(prefix: &str) -> Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = Path::new("/tmp");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("{prefix}-{}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Self(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("creating {}: {e}", path.display()).into()),
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A long-running child (a SPIRE server or agent) whose stdout and stderr go to a log file. Killed
/// and reaped on drop, also when a test panics; a panicking test also prints the log's tail.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command` as `name`, logging to `log`.
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Result<Self> {
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {name} ({command:?}): {e}"))?;
        Ok(Self {
            name: name.to_string(),
            child,
            log,
        })
    }

    /// `Err` with the log's tail if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(format!(
                "{} exited ({status}); its log ends:\n{}",
                self.name,
                self.log_tail(30)
            )
            .into()),
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- {} log (last 40 lines) ---\n{}\n--- end of {} log ---",
                self.name,
                self.log_tail(40),
                self.name
            );
        }
    }
}

/// Runs `command` to completion; its stdout, or an error with its status, stderr and stdout.
pub fn run(mut command: Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim(),
        stdout.trim()
    )
    .into())
}

/// A TCP port on 127.0.0.1 free right now (bound, read, released).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// This process's real uid, from `/proc/self/status` (or `id -u`).
pub fn uid() -> Result<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|uid| uid.parse().ok());
        if let Some(uid) = uid {
            return Ok(uid);
        }
    }
    let mut id = Command::new("id");
    id.arg("-u");
    Ok(run(id)?.trim().parse()?)
}

/// The answer of one poll of [`wait_for`]: `Ok(value)` when ready, `Err(why not yet)` otherwise.
pub type Poll<T> = std::result::Result<T, String>;

/// Calls `probe` until it answers `Ok(Ok(_))`, for at most [`READY`]. `Ok(Err(why))` means "not
/// yet"; `Err` ends the wait at once (a daemon died, say). At the deadline the error says what was
/// awaited and the last "not yet".
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Result<Poll<T>>) -> Result<T> {
    let deadline = Instant::now() + READY;
    loop {
        let why = match probe()? {
            Ok(value) => return Ok(value),
            Err(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(format!("{what}: not within {READY:?}; last: {why}").into());
        }
        std::thread::sleep(POLL);
    }
}
