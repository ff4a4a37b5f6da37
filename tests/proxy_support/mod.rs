//! Helpers of tests/proxy.rs: `meshtls proxy` as child processes, small upstream servers, a tiny
//! HTTP/1 client for the status endpoint, and a Kubernetes-style `..data` directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
pub const BAR: &str = "bar.ns1.serviceaccount.identity.linkerd.cluster.local";

/// A file of the test PKI.
pub fn cert(name: &str) -> String {
    format!("{}/certs/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A loopback address nothing listens on (just now).
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A running `meshtls proxy`, killed on drop; its stderr is collected.
pub struct Proxy {
    pub child: Child,
    pub listen: SocketAddr,
    pub status: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

/// The identity flags for fixture `name` (`<name>.chain.pem`, `<name>.key.pem`) and roots.pem.
pub fn identity(name: &str, id: &str) -> Vec<String> {
    vec![
        "--cert".into(),
        cert(&format!("{name}.chain.pem")),
        "--key".into(),
        cert(&format!("{name}.key.pem")),
        "--roots".into(),
        cert("roots.pem"),
        "--id".into(),
        id.into(),
    ]
}

impl Proxy {
    /// Starts `meshtls proxy <mode> --listen <free> --status <free> --target <target> <args>` and
    /// waits until /status answers.
    pub fn start(mode: &str, target: SocketAddr, args: &[String]) -> Proxy {
        let (listen, status) = (free_addr(), free_addr());
        let mut child = Command::new(env!("CARGO_BIN_EXE_meshtls"))
            .args(["proxy", mode, "--listen", &listen.to_string()])
            .args([
                "--status",
                &status.to_string(),
                "--target",
                &target.to_string(),
            ])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start meshtls proxy");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let proxy = Proxy {
            child,
            listen,
            status,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_get(status, "/status").is_none() {
            assert!(
                Instant::now() < deadline,
                "proxy did not start: {}",
                proxy.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// GET `path` on the status endpoint: (status code, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.status, path).unwrap_or_else(|| panic!("GET {path}: {}", self.log()))
    }

    /// `/status` as JSON.
    pub fn status(&self) -> Value {
        let (code, body) = self.get("/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status JSON")
    }

    /// Sends SIGTERM (via kill(1)).
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(ok.success());
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "proxy did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback server running `serve` on each connection, in a thread of its own.
pub fn upstream(serve: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for tcp in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || serve(tcp));
        }
    });
    addr
}

/// Echoes every byte back until the peer closes.
pub fn echo(mut tcp: TcpStream) {
    let mut reader = tcp.try_clone().expect("clone");
    let _ = std::io::copy(&mut reader, &mut tcp);
    let _ = tcp.shutdown(std::net::Shutdown::Write);
}

/// Writes a greeting and closes.
pub fn greet(mut tcp: TcpStream) {
    let _ = tcp.write_all(b"hello from upstream\n");
}

/// Reads to the end, then answers with the number of bytes read.
pub fn count(mut tcp: TcpStream) {
    let n = std::io::copy(&mut tcp, &mut std::io::sink()).unwrap_or(0);
    let _ = tcp.write_all(n.to_string().as_bytes());
}

/// One round trip through `addr`: sends `msg`, half-closes, reads everything back.
pub fn round_trip(addr: SocketAddr, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    tcp.write_all(msg)?;
    tcp.shutdown(std::net::Shutdown::Write)?;
    let mut back = Vec::new();
    tcp.read_to_end(&mut back)?;
    Ok(back)
}

/// GET `path` from `addr` over HTTP/1.1: (status code, body), or `None` when nothing answers.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut tcp = TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).ok()?;
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("meshtls-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Publishes generation `generation` of `tls.crt`/`tls.key` in `dir` as the kubelet does: the
/// files in `..<generation>/`, then `..data` re-pointed to it by an atomic rename of a new symlink;
/// `tls.crt` and `tls.key` are links through `..data`.
pub fn publish(dir: &Path, generation: &str, chain: &str, key: &str) {
    use std::os::unix::fs::symlink;
    let gen_dir = dir.join(format!("..{generation}"));
    std::fs::create_dir_all(&gen_dir).expect("mkdir generation");
    std::fs::copy(cert(chain), gen_dir.join("tls.crt")).expect("copy chain");
    std::fs::copy(cert(key), gen_dir.join("tls.key")).expect("copy key");
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    symlink(format!("..{generation}"), &tmp).expect("symlink ..data_tmp");
    std::fs::rename(&tmp, dir.join("..data")).expect("swap ..data");
    for file in ["tls.crt", "tls.key"] {
        let link = dir.join(file);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(format!("..data/{file}"), &link).expect("symlink file");
        }
    }
}

/// Polls `check` every 100 ms for up to `limit`.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// `python3 -m http.server` serving `dir` on a loopback port, killed on drop.
pub struct HttpServer {
    child: Child,
    pub addr: SocketAddr,
}

impl HttpServer {
    pub fn start(dir: &Path) -> HttpServer {
        let addr = free_addr();
        let child = Command::new("python3")
            .args(["-m", "http.server", &addr.port().to_string()])
            .args(["--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let server = HttpServer { child, addr };
        assert!(
            eventually(Duration::from_secs(10), || TcpStream::connect(addr).is_ok()),
            "python3 -m http.server did not listen on {addr}"
        );
        server
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `secs` after the Unix epoch as openssl's `YYYYMMDDHHMMSSZ` (by `date -u`).
fn openssl_time(secs: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y%m%d%H%M%SZ"])
        .output()
        .expect("run date");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 leaf for DNS identity `id`, signed by certs/ca1 (so it chains to roots.pem), valid
/// from a minute ago until `lifetime` from now, with the same extensions as certs/gen.sh's
/// leaves: (chain path, key path) in `dir`.
pub fn short_lived_leaf(dir: &Path, id: &str, lifetime: Duration) -> (PathBuf, PathBuf) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (start, end) = (
        openssl_time(now - 60),
        openssl_time(now + lifetime.as_secs()),
    );
    std::fs::create_dir_all(dir.join("newcerts")).expect("mkdir newcerts");
    std::fs::write(dir.join("index.txt"), "").expect("index.txt");
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = test_ca\n\
         [test_ca]\ndatabase = index.txt\nnew_certs_dir = newcerts\nserial = serial\nunique_subject = no\n\
         copy_extensions = none\npolicy = policy_any\ndefault_md = sha256\n\
         [policy_any]\ncommonName = supplied\n",
    )
    .expect("ca.cnf");
    std::fs::write(
        dir.join("leaf.ext"),
        format!(
            "[leaf]\nbasicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature\n\
             extendedKeyUsage = serverAuth, clientAuth\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n\
             subjectAltName = DNS:{id}\n"
        ),
    )
    .expect("leaf.ext");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "leaf.key.pem",
        ],
        dir,
    );
    let subj = format!("/CN={id}");
    openssl(
        &[
            "req",
            "-new",
            "-key",
            "leaf.key.pem",
            "-subj",
            &subj,
            "-out",
            "leaf.csr",
        ],
        dir,
    );
    let (ca_cert, ca_key) = (cert("ca1.crt.pem"), cert("ca1.key.pem"));
    openssl(
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-batch",
            "-notext",
            "-rand_serial",
            "-cert",
            &ca_cert,
            "-keyfile",
            &ca_key,
            "-in",
            "leaf.csr",
            "-out",
            "leaf.crt.pem",
            "-startdate",
            &start,
            "-enddate",
            &end,
            "-extfile",
            "leaf.ext",
            "-extensions",
            "leaf",
        ],
        dir,
    );
    (dir.join("leaf.crt.pem"), dir.join("leaf.key.pem"))
}
