//! `meshtls demo`: foo and bar, two workloads from certs/, do mutual TLS on loopback.

use std::path::Path;
use std::time::{Duration, SystemTime};

use meshtls::creds::{self, Receiver, Store};
use meshtls::policy;
use meshtls::{AlpnProtocols, ClientTls, Credentials, ServerId, ServerTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{read, Fail, Report};

const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
const BAR: &str = "bar.ns1.serviceaccount.identity.linkerd.cluster.local";
const ALPN: &[u8] = b"transport.l5d.io/v1";
const STEP: Duration = Duration::from_secs(10);

fn fixture_fail(e: impl std::fmt::Display) -> Fail {
    Fail::new(
        e.to_string(),
        "run from the source tree, or pass --certs with the test PKI (certs/gen.sh makes it)",
    )
}

/// Workload `id` with fixture `name` (`<name>.chain.pem`, `<name>.key.pem`) from `certs`.
fn workload(certs: &Path, id: &str, name: &str) -> Result<(Store, Receiver), Fail> {
    let roots = read(&certs.join("roots.pem"), "trust roots")?;
    let id_parsed = id.parse().map_err(fixture_fail)?;
    let (mut store, rx) =
        creds::watch(id_parsed, id.parse().map_err(fixture_fail)?, &roots).map_err(fixture_fail)?;
    let chain = read(
        &certs.join(format!("{name}.chain.pem")),
        "certificate chain",
    )?;
    let key = read(&certs.join(format!("{name}.key.pem")), "private key")?;
    let (leaf, chain) = creds::chain_from_pem(&chain).map_err(fixture_fail)?;
    let key = creds::key_from_pem(&key).map_err(fixture_fail)?;
    let expiry = SystemTime::now() + Duration::from_secs(86_400);
    store
        .set_certificate(leaf, chain, key, expiry)
        .map_err(fixture_fail)?;
    Ok((store, rx))
}

pub(crate) fn run(certs: &Path) -> Result<Report, Fail> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail::new(format!("tokio runtime: {e}"), "check the process limits"))?;
    runtime.block_on(demo(certs))
}

async fn demo(certs: &Path) -> Result<Report, Fail> {
    let io_fail =
        |e: std::io::Error| Fail::new(format!("loopback: {e}"), "check that 127.0.0.1 works");
    let (_foo_store, foo) = workload(certs, FOO, "foo-ca1")?;
    let (_bar_store, bar) = workload(certs, BAR, "bar-ca1")?;
    let server = foo
        .server()
        .spawn_with_alpn(vec![ALPN.to_vec()])
        .map_err(fixture_fail)?;

    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io_fail)?;
    let addr = listener.local_addr().map_err(io_fail)?;
    let serve = async {
        let (tcp, _) = listener.accept().await?;
        let (tls, mut io) = server.accept(tcp).await?;
        let mut buf = [0u8; 64];
        let n = io.read(&mut buf).await?;
        let heard = String::from_utf8_lossy(&buf[..n]).into_owned();
        io.write_all(b"hello from foo").await?;
        io.shutdown().await?;
        std::io::Result::Ok((tls, heard, io.negotiated().clone()))
    };
    let target = ClientTls {
        server_name: foo.server_name().clone(),
        server_id: ServerId(foo.local_id().clone()),
        alpn: Some(AlpnProtocols(vec![ALPN.to_vec()])),
        also_accept: Vec::new(),
    };
    let client = async {
        let tcp = TcpStream::connect(addr).await?;
        let (mut io, _) = bar.new_client().new_client(target).connect(tcp).await?;
        io.write_all(b"hello from bar").await?;
        let mut reply = String::new();
        io.read_to_string(&mut reply).await?;
        std::io::Result::Ok((reply, io.negotiated().clone()))
    };
    let both = async { tokio::try_join!(serve, client) };
    let ((tls, heard, server_side), (reply, client_side)) = tokio::time::timeout(STEP, both)
        .await
        .map_err(|_| Fail::new("the demo handshake hung", "report this as a bug"))?
        .map_err(|e| Fail::new(format!("demo handshake: {e}"), "report this as a bug"))?;

    let mut r = Report::default();
    let ServerTls::Established { client_id, .. } = tls else {
        return Err(Fail::new(
            "the server did not terminate TLS",
            "report this as a bug",
        ));
    };
    let client_id = client_id.map(|c| c.to_string()).unwrap_or_default();
    r.field(
        "server_identity",
        "server identity:",
        format!("{FOO} (checked by bar's client)"),
    );
    r.field(
        "client_identity",
        "client identity:",
        format!("{client_id} (seen by foo's server)"),
    );
    r.field("message_to_server", "foo heard:", heard);
    r.field("message_to_client", "bar heard:", reply);
    r.json.insert("server_identity".into(), FOO.into());
    r.json
        .insert("client_identity".into(), client_id.clone().into());
    let name = |x: Option<String>| x.unwrap_or_default();
    r.field(
        "version",
        "version:",
        name(
            client_side
                .version
                .and_then(policy::version)
                .map(|r| r.name.to_string()),
        ),
    );
    r.field(
        "suite",
        "suite:",
        name(
            client_side
                .suite
                .and_then(policy::suite)
                .map(|r| r.name.to_string()),
        ),
    );
    r.field(
        "group",
        "group:",
        name(
            client_side
                .group
                .and_then(policy::group)
                .map(|r| r.name.to_string()),
        ),
    );
    let alpn = client_side
        .protocol
        .as_ref()
        .map(|p| String::from_utf8_lossy(&p.0).into_owned());
    r.field("alpn", "ALPN:", name(alpn));
    let status = meshtls::fips::status();
    r.field("fips_mode", "FIPS mode:", status.fips_mode);
    r.field("validation", "validation:", status.validation.to_string());

    if client_id != BAR {
        r.finding(format!("foo saw client \"{client_id}\", expected {BAR}"));
    }
    if client_side.suite != server_side.suite || client_side.group != server_side.group {
        r.finding("the two sides disagree on what was negotiated");
    }
    Ok(r)
}
