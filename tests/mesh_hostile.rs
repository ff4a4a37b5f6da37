//! Handshake deadlines under hostile peers: a server holding hundreds of connections that never
//! finish a ClientHello (silent ones, and ones sending it a byte a second) still lets good clients
//! in, and closes every hostile one at its deadline with a typed `HandshakeTimeout`; a client
//! facing a server that says nothing gives up at its own deadline the same way.

mod mesh_support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mesh_support::*;
use meshtls::{ClientId, Error, ServerTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Hostile connections, half silent and half slow.
const HOSTILE: usize = 500;
/// Good clients that must get in while the hostile ones are held.
const GOOD: usize = 50;
/// The server's handshake deadline: long enough that a good client finishes well within it on a
/// loaded 2-core CI machine in a debug FIPS build, short enough to keep the test quick.
const DEADLINE: Duration = Duration::from_secs(4);

/// The start of a ClientHello as clients send it: record header (handshake, record version 1.0,
/// 512 bytes), handshake header (ClientHello, 508 bytes), legacy version 1.2, the random's start.
const CLIENT_HELLO_START: [u8; 12] = [
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a,
];

/// How the server ended a hostile connection, as the hostile side saw it.
#[derive(Debug, PartialEq, Eq)]
enum Closed {
    Eof,
    Reset,
}

/// Holds `tcp` open, silent or (`slow`) sending [`CLIENT_HELLO_START`] a byte a second, until the
/// server closes it.
async fn hostile(mut tcp: TcpStream, slow: bool) -> Result<Closed, String> {
    let (mut rd, mut wr) = tcp.split();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut sent = if slow { 0 } else { CLIENT_HELLO_START.len() };
    let mut buf = [0u8; 64];
    loop {
        tokio::select! {
            read = rd.read(&mut buf) => return match read {
                Ok(0) => Ok(Closed::Eof),
                Ok(n) => Err(format!("the server sent {n} bytes: {:02x?}", &buf[..n])),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(Closed::Reset),
                Err(e) => Err(format!("read: {e}")),
            },
            _ = tick.tick(), if sent < CLIENT_HELLO_START.len() => {
                // A write after the server closed fails (or provokes a reset); the read says which.
                if wr.write_all(&CLIENT_HELLO_START[sent..=sent]).await.is_err() {
                    sent = CLIENT_HELLO_START.len();
                } else {
                    sent += 1;
                }
            }
        }
    }
}

/// One good client: mTLS and an echo round trip; the identity the server greeted it with.
async fn good(
    bar: meshtls::creds::Receiver,
    addr: SocketAddr,
    i: usize,
) -> std::io::Result<String> {
    let io = connect(&bar, addr, target(FOO, FOO)).await?;
    try_talk(&mut BufReader::new(io), &format!("good {i}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_handshakes_time_out_and_good_clients_get_in() {
    bounded(hostile_load()).await;
}

async fn hostile_load() {
    let (_s, foo) = workload(FOO, FOO, "ca1.crt.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    let (addr, mut accepted) = serve(foo.server().with_handshake_timeout(DEADLINE)).await;

    let closed_so_far = Arc::new(AtomicUsize::new(0));
    let mut hostiles = Vec::new();
    for i in 0..HOSTILE {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let closed_so_far = closed_so_far.clone();
        hostiles.push(tokio::spawn(async move {
            let closed = hostile(tcp, i % 2 == 1).await;
            closed_so_far.fetch_add(1, Ordering::SeqCst);
            closed
        }));
    }

    let goods: Vec<_> = (0..GOOD)
        .map(|i| tokio::spawn(good(bar.clone(), addr, i)))
        .collect();
    let mut good_failures = Vec::new();
    for (i, task) in goods.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(who) if who == BAR => {}
            outcome => good_failures.push(format!("{i}: {outcome:?}")),
        }
    }
    // How many hostile connections were still open then: for the log only, as it depends on timing.
    let held = HOSTILE - closed_so_far.load(Ordering::SeqCst);
    println!(
        "{} of {GOOD} good clients got in; {held} of {HOSTILE} hostile connections were still held then",
        GOOD - good_failures.len()
    );
    assert!(
        good_failures.is_empty(),
        "good clients refused: {good_failures:?}"
    );

    // [silent, slow] x [EOF, reset]
    let (mut closed, mut hostile_failures) = ([[0usize; 2]; 2], Vec::new());
    for (i, task) in hostiles.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(how) => closed[i % 2][usize::from(how == Closed::Reset)] += 1,
            Err(e) => hostile_failures.push(format!("{i}: {e}")),
        }
    }
    println!(
        "hostile connections closed by the server: silent {} EOF + {} reset, slow {} EOF + {} reset",
        closed[0][0], closed[0][1], closed[1][0], closed[1][1]
    );
    assert!(hostile_failures.is_empty(), "{hostile_failures:?}");
    assert_eq!(closed.iter().flatten().sum::<usize>(), HOSTILE);

    // The server's side: one report per connection, in whatever order they ended.
    let (mut in_from_bar, mut timed_out, mut other) = (0, 0, Vec::new());
    for _ in 0..HOSTILE + GOOD {
        let report = accepted.recv().await.expect("the accept loop ended");
        match report.tls {
            Ok(ServerTls::Established {
                client_id: Some(ClientId(id)),
                ..
            }) if id.to_string() == BAR => in_from_bar += 1,
            Err(e)
                if e.kind() == ErrorKind::TimedOut
                    && matches!(mesh_error(&e), Some(Error::HandshakeTimeout { after }) if *after == DEADLINE) =>
            {
                timed_out += 1
            }
            outcome => other.push(format!("{outcome:?}")),
        }
    }
    println!(
        "server: {in_from_bar} handshakes from bar, {timed_out} HandshakeTimeout, {} other",
        other.len()
    );
    assert!(other.is_empty(), "{other:?}");
    assert_eq!((in_from_bar, timed_out), (GOOD, HOSTILE));
}

/// A TCP server that accepts, reads what the client sends until it closes, and never answers.
/// Reports each connection's bytes once the client has closed it.
async fn silent_server() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = tcp.read_to_end(&mut got).await;
                let _ = tx.send(got);
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn a_client_gives_up_on_a_silent_server_at_its_deadline() {
    bounded(client_deadline()).await;
}

async fn client_deadline() {
    let (_c, bar) = workload(BAR, BAR, "ca1.crt.pem", "bar-ca1");
    let (addr, mut received) = silent_server().await;
    let short = Duration::from_millis(300);
    let by_new_client = bar
        .new_client()
        .with_handshake_timeout(short)
        .new_client(target(FOO, FOO));
    let by_connect = bar
        .new_client()
        .new_client(target(FOO, FOO))
        .with_handshake_timeout(short);

    for (what, connector) in [("NewClient", by_new_client), ("Connect", by_connect)] {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let err = connector.connect(tcp).await.map(drop).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{what}: {err:?}");
        assert!(
            matches!(mesh_error(&err), Some(Error::HandshakeTimeout { after }) if *after == short),
            "{what}: {err:?}"
        );
        // The server got a ClientHello and nothing else, then the client closed the connection.
        let got = received.recv().await.unwrap();
        assert_eq!(got.first(), Some(&0x16), "{what}: {got:02x?}");
        assert_eq!(got.get(5), Some(&0x01), "{what}: not a ClientHello");
        let record_len = usize::from(u16::from_be_bytes([got[3], got[4]]));
        assert_eq!(got.len(), 5 + record_len, "{what}: one record only");
    }
}
