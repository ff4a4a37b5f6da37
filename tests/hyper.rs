//! HTTP over the mesh on hyper 1 and hyper-util (`meshtls::http`), over loopback: HTTP/1.1 and
//! HTTP/2 as ALPN chose, the handler seeing the client's mesh identity, a wrong server identity
//! refused. Each test ends by checking that the connection ran on our provider and that nothing
//! installed a rustls process default.

mod mesh_support;

use std::convert::Infallible;
use std::error::Error as _;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, Version};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mesh_support::*;
use meshtls::creds::Receiver;
use meshtls::http::{self as mesh_http, Connector};
use meshtls::{ClientId, ClientTls, Negotiated, ServerId};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the handler saw of one request.
#[derive(Debug)]
struct Seen {
    client_id: Option<ClientId>,
    version: Version,
    negotiated: Option<Negotiated>,
}

/// Serves `rx`'s server, offering `h2` and `http/1.1`, on a loopback port: every request is
/// answered `hello <client id>` and reported on the channel.
async fn serve(rx: &Receiver) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let server = rx.server().with_alpn(mesh_http::alpn_protocols());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let server = server.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok((_, io)) = server.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let client_id = req.extensions().get::<ClientId>().cloned();
                    let who = client_id.as_ref().map_or("-".into(), |c| c.to_string());
                    let _ = tx.send(Seen {
                        client_id,
                        version: req.version(),
                        negotiated: req.extensions().get::<Negotiated>().cloned(),
                    });
                    async move {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                            "hello {who}"
                        )))))
                    }
                });
                let _ = mesh_http::serve_connection(io, service).await;
            });
        }
    });
    (addr, seen)
}

fn client(rx: &Receiver, target: ClientTls) -> Client<Connector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(Connector::new(&rx.new_client(), target))
}

/// The connection ran on our provider: its suite and group are ours, its `fips()` is the
/// build's; and no rustls process default was installed on the way.
fn on_our_provider(negotiated: &Negotiated) {
    let ours = meshtls::provider();
    let suite = negotiated.suite.expect("a suite");
    assert!(
        ours.cipher_suites.iter().any(|s| s.suite() == suite),
        "{suite:?}"
    );
    let group = negotiated.group.expect("a group");
    assert!(
        ours.kx_groups.iter().any(|g| g.name() == group),
        "{group:?}"
    );
    assert_eq!(negotiated.fips, cfg!(feature = "fips"));
    assert_eq!(negotiated.fips, ours.fips());
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    meshtls::default_provider::check().unwrap();
}

/// One GET through `client` to `addr`: the response's version, body and extensions.
async fn get(
    client: &Client<Connector, Full<Bytes>>,
    addr: std::net::SocketAddr,
) -> Result<(Version, String, Response<()>), hyper_util::client::legacy::Error> {
    let uri = format!("http://{addr}/").parse().unwrap();
    let response = tokio::time::timeout(STEP, client.get(uri))
        .await
        .expect("request hung")?;
    let version = response.version();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    Ok((version, text, Response::from_parts(parts, ())))
}

async fn request_over(version: Version, target: ClientTls) {
    let (_foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, mut seen) = serve(&foo).await;
    let client = client(&bar, target);

    for _ in 0..2 {
        let (got, body, response) = get(&client, addr).await.unwrap();
        assert_eq!(got, version);
        assert_eq!(body, format!("hello {BAR}"));
        // The client's side: the server proved foo, on our provider.
        assert_eq!(
            response.extensions().get::<ServerId>(),
            Some(&ServerId(id(FOO)))
        );
        let negotiated = response
            .extensions()
            .get::<Negotiated>()
            .expect("negotiated");
        let alpn = if version == Version::HTTP_2 {
            mesh_http::H2
        } else {
            mesh_http::HTTP_1_1
        };
        assert_eq!(
            negotiated.protocol.as_ref().map(|p| p.0.as_slice()),
            Some(alpn)
        );
        on_our_provider(negotiated);

        // The server's side: the handler saw bar's identity.
        let seen = seen.recv().await.unwrap();
        assert_eq!(seen.client_id, Some(ClientId(id(BAR))));
        assert_eq!(seen.version, version);
        on_our_provider(seen.negotiated.as_ref().expect("negotiated in the request"));
    }
}

#[tokio::test]
async fn http2_when_alpn_agrees_to_h2() {
    bounded(request_over(Version::HTTP_2, target(FOO, FOO))).await;
}

#[tokio::test]
async fn http1_when_alpn_agrees_to_http_1_1() {
    let mut target = target(FOO, FOO);
    target.alpn = Some(meshtls::AlpnProtocols(vec![mesh_http::HTTP_1_1.to_vec()]));
    bounded(request_over(Version::HTTP_11, target)).await;
}

#[tokio::test]
async fn a_wrong_server_identity_is_refused() {
    bounded(async {
        let (_foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
        let (_bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
        let (addr, mut seen) = serve(&foo).await;
        // foo answers, but the client requires bar's identity.
        let err = get(&client(&bar, target(FOO, BAR)), addr)
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        let mut source = err.source();
        let mut mesh = None;
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                mesh = mesh_error(io);
            }
            source = e.source();
        }
        assert!(
            matches!(mesh, Some(meshtls::Error::IdMismatch { expected, .. }) if expected == BAR),
            "{err:?}"
        );
        assert!(seen.try_recv().is_err(), "no request reached the handler");
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    })
    .await;
}
