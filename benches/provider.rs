//! Our provider against rustls's built-in *ring* provider, in the same run:
//! - a full TLS 1.3 mutual-auth handshake with P-256 ECDSA certificates, over P-256 and (ours only:
//!   ring has no ML-KEM) the ECDHE + ML-KEM-768 hybrids;
//! - bulk transfer of 16 KiB records (encrypt + decrypt) with AES-128-GCM and AES-256-GCM.
//!
//! `cargo bench --bench provider` (default build) or add `--no-default-features --features fips`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rustls::crypto::CryptoProvider;
use rustls::{
    CipherSuite, ClientConfig, ClientConnection, NamedGroup, ServerConfig, ServerConnection,
};

const RECORD: usize = 16 * 1024;

fn providers() -> [(&'static str, Arc<CryptoProvider>); 2] {
    [
        ("meshtls", meshtls::provider()),
        ("ring", Arc::new(rustls::crypto::ring::default_provider())),
    ]
}

/// Mutual-auth TLS 1.3 configs (`foo-ca1` both ways) narrowed to one suite and group.
fn configs(
    provider: &CryptoProvider,
    suite: CipherSuite,
    group: NamedGroup,
    ours: bool,
) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let p = narrowed(provider, Some(suite), Some(group));
    let versions = [&rustls::version::TLS13];
    let (client, server) = if ours {
        (
            client_config(p.clone(), &versions, "foo-ca1"),
            server_config(p, &versions, "foo-ca1"),
        )
    } else {
        (
            client_config_on(p.clone(), &versions, "foo-ca1"),
            server_config_on(p, &versions, "foo-ca1"),
        )
    };
    (Arc::new(client.unwrap()), Arc::new(server.unwrap()))
}

/// One full handshake on fresh connections.
fn connect(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
) -> (ClientConnection, ServerConnection) {
    let mut c = ClientConnection::new(client.clone(), sni_for("foo-ca1")).unwrap();
    let mut s = ServerConnection::new(server.clone()).unwrap();
    handshake(&mut c, &mut s).unwrap();
    (c, s)
}

fn handshakes(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake-tls13-mtls-p256");
    let mut groups = vec![NamedGroup::secp256r1, NamedGroup::secp256r1MLKEM768];
    if !cfg!(feature = "fips") {
        groups.push(NamedGroup::X25519MLKEM768);
    }
    for (name, provider) in providers() {
        for &group in &groups {
            if !provider.kx_groups.iter().any(|k| k.name() == group) {
                continue;
            }
            let suite = CipherSuite::TLS13_AES_128_GCM_SHA256;
            let (client, server) = configs(&provider, suite, group, name == "meshtls");
            g.bench_function(BenchmarkId::new(name, format!("{group:?}")), |b| {
                b.iter(|| connect(&client, &server))
            });
        }
    }
    g.finish();
}

fn bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulk-16KiB-records");
    g.throughput(Throughput::Bytes(RECORD as u64));
    let data = vec![0xa5u8; RECORD];
    for suite in [
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        CipherSuite::TLS13_AES_256_GCM_SHA384,
    ] {
        for (name, provider) in providers() {
            let (c, s) = configs(&provider, suite, NamedGroup::secp256r1, name == "meshtls");
            let (mut client, mut server) = connect(&c, &s);
            let mut wire = Vec::with_capacity(RECORD + 64);
            let mut out = vec![0u8; RECORD];
            g.bench_function(BenchmarkId::new(name, format!("{suite:?}")), |b| {
                b.iter(|| {
                    client.writer().write_all(&data).unwrap();
                    wire.clear();
                    while client.wants_write() {
                        client.write_tls(&mut wire).unwrap();
                    }
                    let mut rd = &wire[..];
                    while !rd.is_empty() {
                        server.read_tls(&mut rd).unwrap();
                        server.process_new_packets().unwrap();
                    }
                    server.reader().read_exact(&mut out).unwrap();
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = handshakes, bulk
}
criterion_main!(benches);
