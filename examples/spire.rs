//! Two workloads get their X509-SVIDs from a SPIRE agent's Workload API and talk mutual TLS: foo
//! serves, bar connects requiring foo's SPIFFE ID, and foo's server sees bar's.
//!
//! Needs an agent serving both SVIDs to this process (two registration entries with the same
//! selector, e.g. `unix:uid:<your uid>`; each workload picks its own by SPIFFE ID):
//!
//! ```text
//! SPIFFE_ENDPOINT_SOCKET=unix:///tmp/spire-agent/public/api.sock \
//!   cargo run --example spire --features spiffe -- spiffe://example.org/foo spiffe://example.org/bar
//! ```
//!
//! `tests/spire.rs` runs this example's [`talk`] against a real SPIRE it starts.

use std::time::Duration;

use meshtls::identity::SpiffeId;
use meshtls::workload_api::{Config, Source};
use meshtls::{ClientTls, ServerId, ServerTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The SNI foo's server answers to (SPIFFE identities are checked on the URI SAN, not on it).
const FOO_NAME: &str = "foo.spire.test";

/// A workload whose credentials come from the Workload API at `endpoint`, picking the SVID for `id`.
pub async fn workload(endpoint: &str, id: &SpiffeId) -> Result<Source> {
    let name = FOO_NAME.parse()?;
    let source = Source::spawn(Config::new(name).endpoint(endpoint).id(id.clone()))?;
    tokio::time::timeout(Duration::from_secs(60), source.ready()).await??;
    Ok(source)
}

/// foo serves one connection and bar connects to it, requiring `foo`'s identity. Returns the
/// identity foo's server saw and the one bar's client verified.
pub async fn talk(foo: &Source, bar: &Source, foo_id: &SpiffeId) -> Result<(String, String)> {
    let foo_rx = foo.receiver().ok_or("foo has no credentials")?;
    let bar_rx = bar.receiver().ok_or("bar has no credentials")?;
    let server = foo_rx.server();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let serving = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let (tls, mut io) = server.accept(tcp).await?;
        let ServerTls::Established { client_id, .. } = tls else {
            return Err("not established".into());
        };
        let client = client_id.ok_or("the client sent no certificate")?;
        io.write_all(b"hello from foo").await?;
        io.shutdown().await?;
        Result::Ok(client.to_string())
    });
    let target = ClientTls::new(ServerId(foo_id.to_string().parse()?), FOO_NAME.parse()?);
    let tcp = TcpStream::connect(addr).await?;
    let (mut io, _) = bar_rx.new_client().new_client(target).connect(tcp).await?;
    let mut reply = String::new();
    io.read_to_string(&mut reply).await?;
    if reply != "hello from foo" {
        return Err(format!("unexpected reply {reply:?}").into());
    }
    let server_id = io.server_id().ok_or("no server identity")?.to_string();
    Ok((serving.await??, server_id))
}

#[allow(dead_code)] // `tests/spire.rs` includes this file for `talk` and `workload` only.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(foo_id), Some(bar_id)) = (args.next(), args.next()) else {
        return Err("usage: spire <foo SPIFFE ID> <bar SPIFFE ID>".into());
    };
    let endpoint = std::env::var("SPIFFE_ENDPOINT_SOCKET")
        .map_err(|_| "set SPIFFE_ENDPOINT_SOCKET to the agent's socket (unix:///...)")?;
    let (foo_id, bar_id): (SpiffeId, SpiffeId) = (foo_id.parse()?, bar_id.parse()?);
    println!("{}", meshtls::fips::status());
    let foo = workload(&endpoint, &foo_id).await?;
    let bar = workload(&endpoint, &bar_id).await?;
    let (client_seen, server_seen) = talk(&foo, &bar, &foo_id).await?;
    println!("foo's server saw client {client_seen}; bar's client verified server {server_seen}");
    Ok(())
}
