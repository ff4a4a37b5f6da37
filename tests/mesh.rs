//! The mesh API over real TCP on loopback: mutual TLS with DNS and SPIFFE identities, ALPN,
//! identity and trust failures, and the `tower::Service` path.

mod mesh_support;

use std::future::poll_fn;

use mesh_support::*;
use meshtls::{AlpnProtocols, ClientId, NegotiatedProtocol, PeerAddr, ServerTls};
use rustls::{CertificateError, CipherSuite, NamedGroup, ProtocolVersion};
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tower_service::Service;

/// The group our client's first key share is for.
fn first_group() -> NamedGroup {
    if cfg!(feature = "fips") {
        NamedGroup::secp256r1MLKEM768
    } else {
        NamedGroup::X25519MLKEM768
    }
}

/// The remote address, through the `PeerAddr` trait (not an inherent method of the same name).
fn peer_of<T: PeerAddr>(io: &T) -> std::net::SocketAddr {
    io.peer_addr().unwrap()
}

fn established_client(accepted: Accepted) -> Option<ClientId> {
    match accepted.tls.expect("server handshake") {
        ServerTls::Established { client_id, .. } => client_id,
        other => panic!("not established: {other:?}"),
    }
}

#[tokio::test]
async fn mtls_with_dns_identities() {
    let (_foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    assert_eq!(foo.local_id().to_string(), FOO);
    assert_eq!(foo.server_name().to_string(), FOO);

    let (addr, mut accepted) = serve(foo.server()).await;
    let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();

    let n = io.negotiated().clone();
    assert_eq!(n.version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(n.suite, Some(CipherSuite::TLS13_AES_256_GCM_SHA384));
    assert_eq!(n.group, Some(first_group()));
    assert_eq!(n.protocol, None);
    assert_eq!(
        n.peer_certificate.as_deref(),
        Some(&leaf_and_chain("foo-ca1").0 .0[..])
    );
    assert_eq!(io.peer_addr().unwrap(), addr);

    let mut io = BufReader::new(io);
    assert_eq!(talk(&mut io, "hello foo").await, BAR, "server saw bar");
    let client_id = established_client(accepted.recv().await.unwrap());
    assert_eq!(client_id, Some(ClientId(id(BAR))));
}

#[tokio::test]
async fn mtls_with_spiffe_identities() {
    // A server whose identity is a SPIFFE URI (its certificate has no DNS SAN) still answers to a
    // DNS name as SNI: the client checks the URI after the chain.
    let (_s, foo) = workload(FOO_SPIFFE, FOO, "roots.pem", "spiffe-foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    let mut io = BufReader::new(connect(&bar, addr, target(FOO, FOO_SPIFFE)).await.unwrap());
    assert_eq!(talk(&mut io, "hi").await, BAR);
    assert_eq!(
        established_client(accepted.recv().await.unwrap()),
        Some(ClientId(id(BAR)))
    );

    // And a SPIFFE client identity as the server sees it.
    let (_s2, bar_server) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, mut accepted) = serve(bar_server.server()).await;
    let mut io = BufReader::new(connect(&foo, addr, target(BAR, BAR)).await.unwrap());
    assert_eq!(talk(&mut io, "hi").await, FOO_SPIFFE);
    let client_id = established_client(accepted.recv().await.unwrap());
    assert_eq!(client_id, Some(ClientId(id(FOO_SPIFFE))));
    assert!(matches!(client_id.unwrap().0, meshtls::Id::Uri(_)));
}

#[tokio::test]
async fn alpn_is_negotiated_and_optional() {
    let (mut foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (mut bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let server = foo
        .server()
        .spawn_with_alpn(vec![b"transport.l5d.io/v1".to_vec(), b"h2".to_vec()])
        .unwrap();
    let (addr, mut accepted) = serve(server).await;

    let mut t = target(FOO, FOO);
    t.alpn = Some(AlpnProtocols(vec![b"h2".to_vec()]));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (io, protocol) = bar.new_client().new_client(t).connect(tcp).await.unwrap();
    let h2 = NegotiatedProtocol(b"h2".to_vec());
    assert_eq!(protocol.as_ref(), Some(&h2));
    assert_eq!(io.negotiated_protocol(), Some(&h2));
    match accepted.recv().await.unwrap().tls.unwrap() {
        ServerTls::Established {
            negotiated_protocol,
            ..
        } => assert_eq!(negotiated_protocol, Some(h2.clone())),
        other => panic!("{other:?}"),
    }

    // A client offering no ALPN still connects, with no protocol agreed.
    let io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
    assert_eq!(io.negotiated_protocol(), None);

    // Both sides keep their ALPN across credential updates: foo rotates to its ca2 certificate, bar
    // re-sets its own, and the same `Connect` is used before and after.
    let mut t = target(FOO, FOO);
    t.alpn = Some(AlpnProtocols(vec![b"h2".to_vec()]));
    let h2_client = bar.new_client().new_client(t);
    let (io, _) = h2_client
        .connect(TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    assert_eq!(io.negotiated_protocol(), Some(&h2));
    set(&mut foo_store, "foo-ca2").unwrap();
    set(&mut bar_store, "bar-ca1").unwrap();
    let (io, protocol) = h2_client
        .connect(TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    assert_eq!(protocol, Some(h2.clone()));
    assert_eq!(
        io.negotiated().peer_certificate.as_deref(),
        Some(&leaf_and_chain("foo-ca2").0 .0[..]),
        "the new certificate"
    );

    // A client offering only protocols the server does not speak is refused (RFC 7301 §3.2).
    let mut t = target(FOO, FOO);
    t.alpn = Some(AlpnProtocols(vec![b"http/1.1".to_vec()]));
    let err = connect(&bar, addr, t).await.unwrap_err();
    assert!(
        matches!(
            tls_error(&err),
            Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::NoApplicationProtocol
            ))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_server_identity_is_refused() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo.server()).await;
    // The chain is fine, and the SNI is foo's, but the client wants bar.
    let err = connect(&bar, addr, target(FOO, BAR)).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    match mesh_error(&err) {
        Some(meshtls::Error::IdMismatch { expected, found }) => {
            assert_eq!(expected, BAR);
            assert_eq!(found, &vec![FOO.to_string()]);
        }
        other => panic!("{other:?}"),
    }
    // Nor does a URI identity match a DNS one with the same meaning.
    let err = connect(&bar, addr, target(FOO, FOO_SPIFFE))
        .await
        .unwrap_err();
    assert!(matches!(
        mesh_error(&err),
        Some(meshtls::Error::IdMismatch { .. })
    ));
}

#[tokio::test]
async fn untrusted_roots_are_refused_both_ways() {
    // A server with a ca2 certificate, to a client that trusts only ca1.
    let (_s, foo2) = workload(FOO, FOO, "ca2.crt.pem", "foo-ca2");
    let (_c, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo2.server()).await;
    let err = connect(&bar, addr, target(FOO, FOO)).await.unwrap_err();
    assert_eq!(
        tls_error(&err),
        Some(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        )),
        "{err:?}"
    );

    // A client with a ca2 certificate, to a server that trusts only ca1.
    let (_s, foo1) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (_c, bar2) = workload(FOO, FOO, "roots.pem", "foo-ca2");
    let (addr, mut accepted) = serve(foo1.server()).await;
    let _ = connect(&bar2, addr, target(FOO, FOO)).await;
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert_eq!(
        tls_error(&err),
        Some(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        )),
        "{err:?}"
    );
}

#[tokio::test]
async fn before_a_certificate_clients_go_without_and_servers_refuse() {
    let (mut store, foo) = meshtls::creds::watch(id(FOO), name(FOO), &read("roots.pem")).unwrap();
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");

    // foo's server has no certificate: it refuses.
    let (addr, mut accepted) = serve(foo.server()).await;
    assert!(connect(&bar, addr, target(FOO, FOO)).await.is_err());
    let err = accepted.recv().await.unwrap().tls.unwrap_err();
    assert!(
        matches!(mesh_error(&err), Some(meshtls::Error::NoCredentials)),
        "{err:?}"
    );

    // foo's client has no certificate: it connects anonymously.
    let (addr, mut accepted) = serve(bar.server()).await;
    let mut io = BufReader::new(connect(&foo, addr, target(BAR, BAR)).await.unwrap());
    assert_eq!(talk(&mut io, "anonymous").await, "-");
    assert_eq!(established_client(accepted.recv().await.unwrap()), None);

    // Once set, the same receivers use the certificate.
    set(&mut store, "foo-ca1").unwrap();
    let mut io = BufReader::new(connect(&foo, addr, target(BAR, BAR)).await.unwrap());
    assert_eq!(talk(&mut io, "named").await, FOO);
}

#[tokio::test]
async fn the_tower_service_path() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    let mut server = foo.server();
    let accept = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        poll_fn(|cx| Service::<TcpStream>::poll_ready(&mut server, cx))
            .await
            .unwrap();
        // The service's future is a named type, and the stream implements PeerAddr.
        let accepting: meshtls::AcceptFuture<TcpStream> = server.call(tcp);
        let (tls, mut io) = accepting.await.unwrap();
        let client_addr = peer_of(&io);
        assert_eq!(io.get_mut().peer_addr().unwrap(), client_addr);
        let client_id = io.client_id().cloned();
        assert_eq!(io.into_inner().peer_addr().unwrap(), client_addr);
        (tls, client_id)
    });

    let mut connect = bar.new_client().new_client(target(FOO, FOO));
    poll_fn(|cx| Service::<TcpStream>::poll_ready(&mut connect, cx))
        .await
        .unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connecting: meshtls::ConnectFuture<TcpStream> = connect.call(tcp);
    let (mut io, protocol) = connecting.await.unwrap();
    assert_eq!(protocol, None);
    assert_eq!(io.negotiated().version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(peer_of(&io), addr);
    assert_eq!(io.get_mut().peer_addr().unwrap(), addr);
    assert_eq!(io.into_inner().peer_addr().unwrap(), addr);

    let (tls, client_id) = accept.await.unwrap();
    assert_eq!(client_id, Some(ClientId(id(BAR))));
    assert_eq!(
        tls,
        ServerTls::Established {
            client_id: Some(ClientId(id(BAR))),
            negotiated_protocol: None
        }
    );
}

#[tokio::test]
async fn spawn_with_alpn_needs_a_runtime() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let server = foo.server();
    let result = std::thread::spawn(move || server.spawn_with_alpn(vec![b"h2".to_vec()]).err())
        .join()
        .unwrap();
    assert!(
        matches!(result, Some(meshtls::Error::NoRuntime)),
        "{result:?}"
    );
}

#[tokio::test]
async fn vectored_writes_reach_the_peer() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (addr, _accepted) = serve(foo.server()).await;
    let mut io = connect(&bar, addr, target(FOO, FOO)).await.unwrap();
    assert!(tokio::io::AsyncWrite::is_write_vectored(&io));

    let parts: [&[u8]; 3] = [b"one ", b"two ", b"three\n"];
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut written = 0;
    while written < total {
        // Resume wherever the last (possibly partial) write stopped.
        let mut skip = written;
        let slices: Vec<std::io::IoSlice<'_>> = parts
            .iter()
            .filter_map(|p| {
                if skip >= p.len() {
                    skip -= p.len();
                    None
                } else {
                    let s = std::io::IoSlice::new(&p[skip..]);
                    skip = 0;
                    Some(s)
                }
            })
            .collect();
        written += io.write_vectored(&slices).await.unwrap();
    }
    io.flush().await.unwrap();

    let mut io = BufReader::new(io);
    let mut who = String::new();
    io.read_line(&mut who).await.unwrap();
    assert_eq!(who, format!("who: {BAR}\n"));
    let mut back = String::new();
    io.read_line(&mut back).await.unwrap();
    assert_eq!(back, "one two three\n");
}
