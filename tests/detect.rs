//! TLS detection on real ClientHello bytes from a rustls client, on every prefix of them, on the
//! same hello split across records, and on garbage; then `detect` over loopback TCP.

mod detect_support;
mod mesh_support;

use std::time::Duration;

use detect_support::{handshake_message, records, Lcg};
use mesh_support::*;
use meshtls::detect::{detect, parse_sni, Detected, Incomplete};
use meshtls::ServerTls;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The first flight of a rustls client (our provider) for `sni`; `None` sends no SNI.
fn client_hello(sni: Option<&str>) -> Vec<u8> {
    detect_support::rustls_hello(meshtls::provider(), sni, false, false)
}

/// The same handshake bytes re-framed into records of at most `size` bytes.
fn refragment(hello: &[u8], size: usize) -> Vec<u8> {
    records(&handshake_message(hello), size, [3, 1])
}

fn foo() -> meshtls::ServerName {
    name(FOO)
}

#[test]
fn sni_of_a_real_client_hello() {
    let hello = client_hello(Some(FOO));
    assert_eq!(parse_sni(&hello), Ok(Some(foo())));
    // Bytes after the hello (the client's next flight) do not matter.
    let mut more = hello.clone();
    more.extend_from_slice(&[23, 3, 3, 0, 1, 0]);
    assert_eq!(parse_sni(&more), Ok(Some(foo())));
}

#[test]
fn every_prefix_is_incomplete() {
    let hello = client_hello(Some(FOO));
    for n in 0..hello.len() {
        assert_eq!(
            parse_sni(&hello[..n]),
            Err(Incomplete),
            "prefix of {n} bytes"
        );
    }
    println!(
        "{} prefixes of a {}-byte ClientHello",
        hello.len(),
        hello.len()
    );
}

#[test]
fn a_hello_split_across_records() {
    let hello = client_hello(Some(FOO));
    for size in [1, 7, 100, 512] {
        let split = refragment(&hello, size);
        assert!(split.len() > hello.len(), "more records");
        assert_eq!(parse_sni(&split), Ok(Some(foo())), "records of {size}");
        for n in 0..split.len() {
            assert_eq!(
                parse_sni(&split[..n]),
                Err(Incomplete),
                "{size}: prefix {n}"
            );
        }
    }
}

#[test]
fn no_sni() {
    assert_eq!(parse_sni(&client_hello(None)), Ok(None));
    // An IP address is never sent as SNI.
    assert_eq!(parse_sni(&client_hello(Some("127.0.0.1"))), Ok(None));
}

#[test]
fn not_tls() {
    for bytes in [
        &b"GET / HTTP/1.1\r\nHost: foo\r\n\r\n"[..],
        b"\x16\x02\x00\x00\x05hello",            // wrong major version
        b"\x16\x03\x01\x00\x00",                 // empty record
        b"\x16\x03\x01\x48\x00",                 // record of 2^14 + 2048 bytes: rustls's limit
        b"\x17\x03\x03\x00\x05hello",            // application data
        b"\x16\x03\x01\x00\x04\x02\x00\x00\x00", // a ServerHello
        b"\x16\x03\x01\x00\x04\x01\x00\x00\x00", // an empty ClientHello body: malformed
        b"\x00",
        b"\x16\x04\x00",
    ] {
        assert_eq!(parse_sni(bytes), Ok(None), "{bytes:?}");
    }
    // rustls's server takes plaintext records up to 18431 bytes, and any version 03 XX or one it
    // names (SSLv2 00 02, the DTLS ones); it reads a version only once both bytes are in.
    for bytes in [
        &b"\x16\x03\x01\x47\xff"[..],
        b"\x16\x00\x02\x00\x01",
        b"\x16\xfe\xfd\x00\x01",
        b"\x16\x03\x05\x00\x01",
        b"\x16\x04",
    ] {
        assert_eq!(parse_sni(bytes), Err(Incomplete), "{bytes:?}");
    }
}

#[test]
fn garbage_and_mutations_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut outcomes = [0usize; 3];
    let mut tally = |r: Result<Option<meshtls::ServerName>, Incomplete>| match r {
        Ok(Some(_)) => outcomes[0] += 1,
        Ok(None) => outcomes[1] += 1,
        Err(Incomplete) => outcomes[2] += 1,
    };
    // Random bytes, some starting like a handshake record.
    for i in 0..20_000 {
        let len = (rng.next() % 600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && len >= 3 {
            bytes[..3].copy_from_slice(&[22, 3, 1]);
        }
        tally(parse_sni(&bytes));
    }
    // Every single-byte change of a real hello, including every length field.
    let hello = client_hello(Some(FOO));
    for i in 0..hello.len() {
        for v in [0x00, 0xff, hello[i] ^ 0x01, hello[i].wrapping_add(0x80)] {
            let mut m = hello.clone();
            m[i] = v;
            tally(parse_sni(&m));
        }
    }
    println!("outcomes (sni, none, incomplete): {outcomes:?}");
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}

/// A TCP pair on loopback.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn detect_then_terminate() {
    let (_s, foo_rx) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (_c, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (client, server) = tcp_pair().await;

    let client = tokio::spawn(async move {
        let connect = bar.new_client().new_client(target(FOO, FOO));
        let (io, _) = connect.connect(client).await.unwrap();
        let mut io = BufReader::new(io);
        talk(&mut io, "after detection").await
    });

    let (detected, io) = detect(server, foo_rx.server_name(), TIMEOUT).await.unwrap();
    assert_eq!(detected, Detected::Terminate);
    assert!(!io.prefix().is_empty(), "the hello was read ahead");
    assert!(io.get_ref().peer_addr().is_ok());
    assert_eq!(
        meshtls::PeerAddr::peer_addr(&io).unwrap(),
        io.get_ref().peer_addr().unwrap()
    );
    // The server handshakes on the bytes detection already read.
    let (tls, io) = foo_rx.server().accept(io).await.unwrap();
    assert!(matches!(
        tls,
        ServerTls::Established {
            client_id: Some(_),
            ..
        }
    ));
    let who = io.client_id().unwrap().to_string();
    tokio::spawn(async move {
        let mut io = BufReader::new(io);
        io.write_all(format!("who: {who}\n").as_bytes())
            .await
            .unwrap();
        io.flush().await.unwrap();
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut io, &mut line)
            .await
            .unwrap();
        io.write_all(line.as_bytes()).await.unwrap();
        io.flush().await.unwrap();
    });
    assert_eq!(client.await.unwrap(), BAR);
}

#[tokio::test]
async fn detect_passthru_not_tls_no_sni_and_timeout() {
    let cases: Vec<(Vec<u8>, Detected)> = vec![
        (
            client_hello(Some(BAR)),
            Detected::Passthru { sni: name(BAR) },
        ),
        (
            refragment(&client_hello(Some(BAR)), 50),
            Detected::Passthru { sni: name(BAR) },
        ),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), Detected::NotTls),
        (client_hello(None), Detected::NoSni),
        (client_hello(Some(FOO))[..40].to_vec(), Detected::TimedOut),
        (Vec::new(), Detected::TimedOut),
    ];
    for (sent, want) in cases {
        let (mut client, server) = tcp_pair().await;
        client.write_all(&sent).await.unwrap();
        let timeout = if want == Detected::TimedOut {
            Duration::from_millis(200)
        } else {
            TIMEOUT
        };
        let (detected, mut io) = detect(server, &foo(), timeout).await.unwrap();
        assert_eq!(detected, want);
        // Everything sent is still readable, in order, followed by what comes next.
        client.write_all(b"NEXT").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        io.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, [&sent[..], b"NEXT"].concat(), "{want:?}");
    }
}

#[tokio::test]
async fn detect_on_a_closed_connection() {
    let (client, server) = tcp_pair().await;
    drop(client);
    let (detected, io) = detect(server, &foo(), TIMEOUT).await.unwrap();
    assert_eq!(detected, Detected::NotTls);
    assert!(io.prefix().is_empty());
}

#[tokio::test]
async fn prefixed_io_gives_back_what_was_not_read() {
    let (a, mut b) = tokio::io::duplex(64);
    let mut io = meshtls::detect::PrefixedIo::new(b"hello".to_vec(), a);
    let mut two = [0u8; 2];
    io.read_exact(&mut two).await.unwrap();
    assert_eq!(&two, b"he");
    io.get_mut().write_all(b"to b").await.unwrap();
    let mut back = [0u8; 4];
    b.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"to b");
    let (unread, _a) = io.into_inner();
    assert_eq!(unread, b"llo");
}
