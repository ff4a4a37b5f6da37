//! Helpers for the mesh-API tests: workloads from the certs/ fixtures, and a loopback echo server.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use meshtls::creds::{self, Receiver, Store};
use meshtls::{ClientTls, Credentials, DerX509, Id, ServerId, ServerName, ServerTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
pub const BAR: &str = "bar.ns1.serviceaccount.identity.linkerd.cluster.local";
pub const FOO_SPIFFE: &str = "spiffe://cluster.local/ns/ns1/sa/foo";

/// Generous bound for one loopback operation: reached only if something hangs.
pub const STEP: Duration = Duration::from_secs(20);

pub fn path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("certs")
        .join(file)
}

pub fn read(file: &str) -> Vec<u8> {
    std::fs::read(path(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Leaf and intermediates of fixture `name`.
pub fn leaf_and_chain(name: &str) -> (DerX509, Vec<DerX509>) {
    let mut certs = CertificateDer::pem_file_iter(path(&format!("{name}.chain.pem")))
        .unwrap()
        .map(|c| DerX509(c.unwrap().to_vec()));
    let leaf = certs.next().expect("a leaf");
    (leaf, certs.collect())
}

/// Fixture `name`'s chain (leaf first) and private key, as plain rustls configs take them.
pub fn rustls_chain_and_key(name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let chain = CertificateDer::pem_file_iter(path(&format!("{name}.chain.pem")))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(path(&format!("{name}.key.pem"))).unwrap();
    (chain, key)
}

/// A rustls root store of the certificates in fixture `file`.
pub fn rustls_roots(file: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(path(file)).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    roots
}

/// The DER private key of fixture `file` (`<file>.key.pem`).
pub fn key_der(file: &str) -> Vec<u8> {
    let key = PrivateKeyDer::from_pem_file(path(&format!("{file}.key.pem"))).unwrap();
    key.secret_der().to_vec()
}

pub fn id(s: &str) -> Id {
    s.parse().unwrap()
}

pub fn name(s: &str) -> ServerName {
    s.parse().unwrap()
}

pub fn in_a_day() -> SystemTime {
    SystemTime::now() + Duration::from_secs(86_400)
}

/// Sets fixture `name` on `store`.
pub fn set(store: &mut Store, name: &str) -> Result<(), meshtls::Error> {
    let (leaf, chain) = leaf_and_chain(name);
    store.set_certificate(leaf, chain, key_der(name), in_a_day())
}

/// A workload `local_id` answering to `server_name`, trusting `roots`, with fixture `cert` set.
pub fn workload(local_id: &str, server_name: &str, roots: &str, cert: &str) -> (Store, Receiver) {
    let (mut store, rx) = creds::watch(id(local_id), name(server_name), &read(roots)).unwrap();
    set(&mut store, cert).unwrap();
    (store, rx)
}

/// What an echo server saw on one connection.
#[derive(Debug)]
pub struct Accepted {
    pub tls: std::io::Result<ServerTls>,
}

/// Serves `server` on a loopback port: for each connection, reports the handshake outcome on the
/// returned channel, then writes `who: <client id or ->\n` and echoes lines back.
pub async fn serve(
    server: meshtls::Server,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Accepted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let server = server.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match server.accept(tcp).await {
                    Err(e) => {
                        let _ = tx.send(Accepted { tls: Err(e) });
                    }
                    Ok((tls, io)) => {
                        let who = io
                            .client_id()
                            .map_or_else(|| "-".to_string(), |c| c.to_string());
                        let _ = tx.send(Accepted { tls: Ok(tls) });
                        let _ = echo(io, &who).await;
                    }
                }
            });
        }
    });
    (addr, rx)
}

async fn echo<I: AsyncRead + AsyncWrite + Unpin>(io: I, who: &str) -> std::io::Result<()> {
    let mut io = BufReader::new(io);
    io.write_all(format!("who: {who}\n").as_bytes()).await?;
    io.flush().await?;
    let mut line = String::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        io.write_all(line.as_bytes()).await?;
        io.flush().await?;
    }
}

/// The target `server_id` answering to SNI `server_name`.
pub fn target(server_name: &str, server_id: &str) -> ClientTls {
    ClientTls::new(ServerId(id(server_id)), name(server_name))
}

/// Connects `rx`'s client to `addr` for `target`.
pub async fn connect(
    rx: &Receiver,
    addr: SocketAddr,
    target: ClientTls,
) -> std::io::Result<meshtls::ClientIo<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let connect = rx.new_client().new_client(target);
    let (io, _) = tokio::time::timeout(STEP, connect.connect(tcp))
        .await
        .expect("handshake hung")?;
    Ok(io)
}

/// Reads the server's `who:` line, then sends `msg` and checks it comes back.
pub async fn talk<I: AsyncRead + AsyncWrite + Unpin>(io: &mut BufReader<I>, msg: &str) -> String {
    let mut who = String::new();
    tokio::time::timeout(STEP, io.read_line(&mut who))
        .await
        .expect("no greeting")
        .unwrap();
    ping(io, msg).await;
    who.trim_end().trim_start_matches("who: ").to_string()
}

/// Sends `msg` and checks the echo.
pub async fn ping<I: AsyncRead + AsyncWrite + Unpin>(io: &mut BufReader<I>, msg: &str) {
    io.write_all(format!("{msg}\n").as_bytes()).await.unwrap();
    io.flush().await.unwrap();
    let mut back = String::new();
    tokio::time::timeout(STEP, io.read_line(&mut back))
        .await
        .expect("no echo")
        .unwrap();
    assert_eq!(back, format!("{msg}\n"));
}

/// The rustls error inside a handshake's `io::Error`, if any: itself, or the source of the
/// [`meshtls::Error::Untrusted`] a refused peer certificate is reported as.
pub fn tls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    let inner = e.get_ref()?;
    inner.downcast_ref::<rustls::Error>().or_else(|| {
        match inner.downcast_ref::<meshtls::Error>()? {
            meshtls::Error::Untrusted { source, .. } => Some(source),
            _ => None,
        }
    })
}

/// The meshtls error inside an `io::Error`, if any.
pub fn mesh_error(e: &std::io::Error) -> Option<&meshtls::Error> {
    e.get_ref()?.downcast_ref::<meshtls::Error>()
}

// === Load tests (mesh_rotation, mesh_hostile): failures to count, not to panic on ===

/// Like [`talk`], but a missing greeting or echo is an error instead of a panic, so that a test
/// under load can count failures. Returns the client identity the server greeted with.
pub async fn try_talk<I: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<I>,
    msg: &str,
) -> std::io::Result<String> {
    let who = try_line(io).await?;
    try_ping(io, msg).await?;
    Ok(who.trim_end().trim_start_matches("who: ").to_string())
}

/// Like [`ping`], but a failed or wrong echo is an error instead of a panic.
pub async fn try_ping<I: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<I>,
    msg: &str,
) -> std::io::Result<()> {
    io.write_all(format!("{msg}\n").as_bytes()).await?;
    io.flush().await?;
    let back = try_line(io).await?;
    if back != format!("{msg}\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("sent {msg:?}, got back {back:?}"),
        ));
    }
    Ok(())
}

/// One line from `io` within [`STEP`]; the end of the stream is an error.
async fn try_line<I: AsyncRead + Unpin>(io: &mut BufReader<I>) -> std::io::Result<String> {
    let mut line = String::new();
    let n = tokio::time::timeout(STEP, io.read_line(&mut line))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no line within STEP"))??;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line)
}

/// Generous bound for a whole test under load: reached only if something hangs.
pub const WHOLE: Duration = Duration::from_secs(120);

/// Runs `test` to its end, or panics after [`WHOLE`]: a hang fails instead of blocking CI.
pub async fn bounded<F: std::future::Future>(test: F) -> F::Output {
    tokio::time::timeout(WHOLE, test)
        .await
        .expect("the test hung")
}
