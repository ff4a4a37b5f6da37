//! Helpers shared by the detect tests: real ClientHellos from a rustls client, the handshake
//! message inside records, re-framing it, and a small deterministic generator.
#![allow(dead_code)]

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The first flight of a rustls client on `provider` for `sni` (`None` sends no SNI), offering
/// TLS 1.2 only if `tls12_only`, and `h2` and `http/1.1` by ALPN if `alpn`.
pub fn rustls_hello(
    provider: Arc<CryptoProvider>,
    sni: Option<&str>,
    tls12_only: bool,
    alpn: bool,
) -> Vec<u8> {
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    // Without the `tls12` feature rustls has no TLS 1.2: the differential test
    // leaves its TLS 1.2 client out there.
    #[cfg(feature = "tls12")]
    let builder = if tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    };
    #[cfg(not(feature = "tls12"))]
    let builder = {
        assert!(!tls12_only, "a TLS 1.2 client needs the tls12 feature");
        builder.with_safe_default_protocol_versions()
    };
    let mut config = builder
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    if alpn {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    let server_name = match sni {
        Some(n) => rustls::pki_types::ServerName::try_from(n.to_string()).unwrap(),
        None => {
            config.enable_sni = false;
            rustls::pki_types::ServerName::try_from("example.com").unwrap()
        }
    };
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server_name).unwrap();
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    assert_eq!(out[0], 22, "a handshake record");
    out
}

/// The first handshake message in `wire`, reassembled from its records.
pub fn handshake_message(wire: &[u8]) -> Vec<u8> {
    handshake_offsets(wire).iter().map(|&i| wire[i]).collect()
}

/// Where each byte of the first handshake message is in `wire`.
pub fn handshake_offsets(wire: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 0;
    while let Some(header) = wire.get(at..at + 5) {
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        offsets.extend((at + 5..at + 5 + len).take_while(|&i| i < wire.len()));
        at += 5 + len;
        if offsets.len() >= 4 {
            let m = &offsets[1..4];
            let len = (usize::from(wire[m[0]]) << 16)
                | (usize::from(wire[m[1]]) << 8)
                | usize::from(wire[m[2]]);
            if offsets.len() >= 4 + len {
                offsets.truncate(4 + len);
                break;
            }
        }
    }
    offsets
}

/// One record.
pub fn record(typ: u8, version: [u8; 2], fragment: &[u8]) -> Vec<u8> {
    let len = (fragment.len() as u16).to_be_bytes();
    [&[typ, version[0], version[1], len[0], len[1]][..], fragment].concat()
}

/// `message` framed in handshake records of `size` bytes (the last may be shorter).
pub fn records(message: &[u8], size: usize, version: [u8; 2]) -> Vec<u8> {
    message
        .chunks(size)
        .flat_map(|c| record(22, version, c))
        .collect()
}

/// A small deterministic generator, so failures reproduce.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// `message` (a ClientHello whose extensions block ends it) grown to `len` bytes by one more
/// extension, of an unknown type (0x7777) and zeros.
pub fn pad_hello(message: &[u8], len: usize) -> Vec<u8> {
    let u16_at = |i: usize| usize::from(u16::from_be_bytes([message[i], message[i + 1]]));
    let mut at = 4 + 34;
    at += 1 + usize::from(message[at]); // session id
    at += 2 + u16_at(at); // cipher suites
    at += 1 + usize::from(message[at]); // compression methods
    let grow = len - message.len();
    let data = grow - 4;
    let mut out = message.to_vec();
    let body = (len - 4) as u32;
    out[1..4].copy_from_slice(&body.to_be_bytes()[1..]);
    out[at..at + 2].copy_from_slice(&((u16_at(at) + grow) as u16).to_be_bytes());
    out.extend(0x7777u16.to_be_bytes());
    out.extend((data as u16).to_be_bytes());
    out.resize(len, 0);
    out
}
