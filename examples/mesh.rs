//! Two mesh workloads on loopback: foo serves, bar connects, both prove their identity with the
//! certs/ fixtures, and they exchange a message over mutual TLS.
//!
//! `cargo run --example mesh` (default build) or
//! `cargo run --example mesh --no-default-features --features fips` (the regulated build).

use std::path::Path;
use std::time::{Duration, SystemTime};

use meshtls::creds;
use meshtls::{AlpnProtocols, ClientTls, Credentials, DerX509, ServerId, ServerTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
const BAR: &str = "bar.ns1.serviceaccount.identity.linkerd.cluster.local";
const ALPN: &[u8] = b"transport.l5d.io/v1";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A workload with fixture `name` as its certificate.
fn workload(certs: &Path, id: &str, name: &str) -> Result<(creds::Store, creds::Receiver)> {
    let roots = std::fs::read(certs.join("roots.pem"))?;
    let (mut store, rx) = creds::watch(id.parse()?, id.parse()?, &roots)?;
    let mut chain = CertificateDer::pem_file_iter(certs.join(format!("{name}.chain.pem")))?
        .map(|c| c.map(|c| DerX509(c.to_vec())))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let leaf = chain.remove(0);
    let key = PrivateKeyDer::from_pem_file(certs.join(format!("{name}.key.pem")))?;
    let expiry = SystemTime::now() + Duration::from_secs(24 * 3600);
    store.set_certificate(leaf, chain, key.secret_der().to_vec(), expiry)?;
    Ok((store, rx))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
    println!("{}", meshtls::fips::status());

    let (_foo_store, foo) = workload(&certs, FOO, "foo-ca1")?;
    let (_bar_store, bar) = workload(&certs, BAR, "bar-ca1")?;

    let server = foo.server().spawn_with_alpn(vec![ALPN.to_vec()])?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let serving = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let (tls, mut io) = server.accept(tcp).await?;
        let ServerTls::Established { client_id, .. } = tls else {
            return Err("not established".into());
        };
        let client = client_id.ok_or("the client sent no certificate")?;
        let mut buf = [0u8; 64];
        let n = io.read(&mut buf).await?;
        let reply = format!(
            "foo heard {:?} from {client}",
            String::from_utf8_lossy(&buf[..n])
        );
        io.write_all(reply.as_bytes()).await?;
        io.shutdown().await?;
        Result::Ok(client.to_string())
    });

    let target = ClientTls {
        server_name: FOO.parse()?,
        server_id: ServerId(FOO.parse()?),
        alpn: Some(AlpnProtocols(vec![ALPN.to_vec()])),
        also_accept: Vec::new(),
    };
    let tcp = TcpStream::connect(addr).await?;
    let (mut io, protocol) = bar.new_client().new_client(target).connect(tcp).await?;
    io.write_all(b"hello from bar").await?;
    let mut reply = String::new();
    io.read_to_string(&mut reply).await?;
    let client_seen = serving.await??;

    let n = io.negotiated();
    println!("server identity (checked by bar): {FOO}");
    println!("client identity (seen by foo):    {client_seen}");
    println!("reply:      {reply}");
    println!("version:    {:?}", n.version.ok_or("no version")?);
    println!("suite:      {:?}", n.suite.ok_or("no suite")?);
    println!("group:      {:?}", n.group.ok_or("no group")?);
    let alpn = protocol.map(|p| String::from_utf8_lossy(&p.0).into_owned());
    println!("ALPN:       {}", alpn.as_deref().unwrap_or("none"));
    println!("FIPS mode:  {}", meshtls::fips::status().fips_mode);
    Ok(())
}
