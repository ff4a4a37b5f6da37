//! What the metrics cost a handshake: the mesh API's full mutual-TLS handshake (`Server::accept`
//! against `Connect::connect`, with the client's confirmation) over an in-memory stream, without
//! metrics and with both sides recording into one registry.
//!
//! `cargo bench --features metrics --bench metrics` (add `--no-default-features --features
//! fips,metrics` for the FIPS module). Besides criterion's report it prints the ratio of the two
//! from a paired run: blocks of handshakes without and with metrics, alternating, so that a change
//! of the machine's load hits both alike; the ratio is that of the median block times.

#[path = "../tests/mesh_support/mod.rs"]
mod mesh_support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mesh_support::{target, workload, BAR, FOO};
use meshtls::creds::{Receiver, Store};
use meshtls::metrics::Metrics;
use meshtls::{Connect, Server};
use prometheus_client::registry::Registry;
use tokio::runtime::Runtime;

/// A server and a client connector, with or without metrics.
struct Pair {
    server: Server,
    connect: Connect,
    /// Kept so the credentials stay published.
    _held: (Store, Receiver, Store, Receiver),
}

fn pair(metrics: Option<&Metrics>) -> Pair {
    let (foo_store, foo) = workload(FOO, FOO, "roots.pem", "foo-ca1");
    let (bar_store, bar) = workload(BAR, BAR, "roots.pem", "bar-ca1");
    let (server, client) = match metrics {
        Some(m) => (
            foo.server().with_metrics(m.clone()),
            bar.new_client().with_metrics(m.clone()),
        ),
        None => (foo.server(), bar.new_client()),
    };
    Pair {
        server,
        connect: client.new_client(target(FOO, FOO)),
        _held: (foo_store, foo, bar_store, bar),
    }
}

/// One full handshake, both sides, on a fresh in-memory stream.
async fn handshake(pair: &Pair) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (accepted, connected) = tokio::join!(
        pair.server.accept(server_io),
        pair.connect.connect(client_io)
    );
    accepted.expect("server handshake");
    connected.expect("client handshake");
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn handshakes(c: &mut Criterion) {
    let rt = runtime();
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let off = pair(None);
    let on = pair(Some(&metrics));
    let mut g = c.benchmark_group("mesh-handshake");
    g.bench_function("metrics off", |b| b.iter(|| rt.block_on(handshake(&off))));
    g.bench_function("metrics on", |b| b.iter(|| rt.block_on(handshake(&on))));
    g.finish();
    paired(&rt, &off, &on);
}

/// Alternating blocks of handshakes without and with metrics; prints each side's median block
/// time per handshake and their ratio.
fn paired(rt: &Runtime, off: &Pair, on: &Pair) {
    const ROUNDS: usize = 15;
    const BLOCK: u32 = 100;
    let block = |pair: &Pair| {
        let start = Instant::now();
        rt.block_on(async {
            for _ in 0..BLOCK {
                handshake(pair).await;
            }
        });
        start.elapsed() / BLOCK
    };
    let (mut offs, mut ons): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Which goes first alternates too.
        if round % 2 == 0 {
            offs.push(block(off));
            ons.push(block(on));
        } else {
            ons.push(block(on));
            offs.push(block(off));
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (off_median, on_median) = (median(&mut offs), median(&mut ons));
    println!(
        "paired ({ROUNDS} rounds of {BLOCK} handshakes each way): metrics off {off_median:?}, \
         on {on_median:?} per handshake; on/off = {:.4}",
        on_median.as_secs_f64() / off_median.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(10));
    targets = handshakes
}
criterion_main!(benches);
