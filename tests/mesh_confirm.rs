//! `connect` waits until the server has accepted the client (`Confirmation::Await`), against servers
//! that send a ticket, data first, close, drop the connection, or send nothing at all; and
//! `Confirmation::Skip` returns without waiting. The refused case (a meshtls server's policy) is in
//! `mesh_identity.rs`.

mod mesh_support;

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use mesh_support::*;
use meshtls::{Confirmation, Error};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the plain server does once its handshake is done.
#[derive(Clone, Copy, Debug)]
enum After {
    /// Sends its default two session tickets, then waits for the client to speak.
    Tickets,
    /// Sends no ticket, then writes a line before reading anything.
    SpeaksFirst,
    /// Sends no ticket and closes with `close_notify`.
    Closes,
    /// Sends no ticket and drops the TCP connection.
    Drops,
    /// Sends no ticket and waits for the client.
    Silent,
}

/// A plain rustls server with foo's certificate, requesting no client certificate, that behaves
/// as `after` says on every connection; it echoes one line where the connection stays up.
async fn server(after: After) -> std::net::SocketAddr {
    let (chain, key) = rustls_chain_and_key("foo-ca1");
    let mut config = rustls::ServerConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    if !matches!(after, After::Tickets) {
        config.send_tls13_tickets = 0;
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut io) = acceptor.accept(tcp).await else {
                    return;
                };
                match after {
                    After::Drops => {
                        // Dropping the TCP stream under TLS sends no close_notify.
                        let _tcp = io.into_inner().0;
                        return;
                    }
                    After::Closes => {
                        let _ = io.shutdown().await;
                        return;
                    }
                    After::SpeaksFirst => io.write_all(b"first\n").await.unwrap(),
                    After::Tickets | After::Silent => {}
                }
                let mut io = BufReader::new(io);
                let mut line = String::new();
                if io.read_line(&mut line).await.is_ok() {
                    let _ = io.get_mut().write_all(line.as_bytes()).await;
                }
            });
        }
    });
    addr
}

async fn connect_with(
    confirmation: Confirmation,
    deadline: Duration,
    addr: std::net::SocketAddr,
) -> std::io::Result<meshtls::ClientIo<TcpStream>> {
    let (_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let client = bar
        .new_client()
        .with_confirmation(confirmation)
        .with_handshake_timeout(deadline);
    let tcp = TcpStream::connect(addr).await?;
    let connect = client.new_client(target(FOO, FOO));
    let (io, _) = tokio::time::timeout(STEP, connect.connect(tcp))
        .await
        .expect("connect ends by its deadline")?;
    Ok(io)
}

async fn echo(io: meshtls::ClientIo<TcpStream>, expect_first: Option<&str>) {
    let mut io = BufReader::new(io);
    let mut line = String::new();
    if let Some(first) = expect_first {
        io.read_line(&mut line).await.unwrap();
        assert_eq!(line, first, "data read while confirming was kept");
        line.clear();
    }
    io.get_mut().write_all(b"ping\n").await.unwrap();
    io.read_line(&mut line).await.unwrap();
    assert_eq!(line, "ping\n");
}

#[tokio::test]
async fn a_ticket_confirms_and_nothing_is_lost() {
    let addr = server(After::Tickets).await;
    let io = connect_with(Confirmation::Await, STEP, addr).await.unwrap();
    echo(io, None).await;
}

#[tokio::test]
async fn data_first_confirms_and_stays_readable() {
    let addr = server(After::SpeaksFirst).await;
    let io = connect_with(Confirmation::Await, STEP, addr).await.unwrap();
    echo(io, Some("first\n")).await;
}

#[tokio::test]
async fn a_clean_close_confirms_then_reads_end() {
    use tokio::io::AsyncReadExt;
    let addr = server(After::Closes).await;
    let mut io = connect_with(Confirmation::Await, STEP, addr).await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(io.read_to_end(&mut rest).await.unwrap(), 0);
}

#[tokio::test]
async fn a_dropped_connection_fails_connect() {
    let addr = server(After::Drops).await;
    let err = connect_with(Confirmation::Await, STEP, addr)
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
}

#[tokio::test]
async fn a_silent_server_needs_skip() {
    let addr = server(After::Silent).await;
    let deadline = Duration::from_millis(300);
    let err = connect_with(Confirmation::Await, deadline, addr)
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(matches!(
        mesh_error(&err),
        Some(Error::HandshakeTimeout { after }) if *after == deadline
    ));

    let io = connect_with(Confirmation::Skip, deadline, addr)
        .await
        .unwrap();
    echo(io, None).await;
}

#[tokio::test]
async fn a_meshtls_server_confirms() {
    let (_s, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (addr, mut accepted) = serve(foo.server()).await;
    let io = connect_with(Confirmation::Await, STEP, addr).await.unwrap();
    assert!(accepted.recv().await.unwrap().tls.is_ok());
    let mut io = BufReader::new(io);
    assert_eq!(talk(&mut io, "confirmed").await, BAR);
}
