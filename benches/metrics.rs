//! What the metrics cost a handshake: the mesh API's full mutual-TLS handshake (`Server::accept`
//! against `Connect::connect`, with the client's confirmation) over an in-memory stream, without
//! metrics and with both sides recording into one registry.
//!
//! `cargo bench --features metrics --bench metrics` (add `--no-default-features --features
//! fips,metrics` for the FIPS module). Besides criterion's report (which measures the two one
//! after the other, so that a change of the machine's load between them shows as a difference),
//! it prints a paired run: handshakes without and with metrics alternating one by one, the median
//! of each and the median of the pairs' differences.

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

/// Handshakes without and with metrics, alternating one by one (which goes first alternates
/// too), each timed alone: prints the median of each and the median of the pairs' differences,
/// which a change of the machine's load hits alike.
fn paired(rt: &Runtime, off: &Pair, on: &Pair) {
    const PAIRS: usize = 10_000;
    let time = |pair: &Pair| {
        let start = Instant::now();
        rt.block_on(handshake(pair));
        start.elapsed().as_secs_f64()
    };
    let (mut offs, mut ons, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        let (t_off, t_on) = if i % 2 == 0 {
            let t_off = time(off);
            (t_off, time(on))
        } else {
            let t_on = time(on);
            (time(off), t_on)
        };
        offs.push(t_off);
        ons.push(t_on);
        diffs.push(t_on - t_off);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (off_median, on_median) = (median(&mut offs), median(&mut ons));
    let diff_median = median(&mut diffs);
    println!(
        "paired ({PAIRS} handshakes each way, alternating): median off {:.1} µs, on {:.1} µs \
         (on/off {:.4}); median of the pairs' differences {:+.2} µs ({:+.2}% of off)",
        off_median * 1e6,
        on_median * 1e6,
        on_median / off_median,
        diff_median * 1e6,
        100.0 * diff_median / off_median,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(10));
    targets = handshakes
}
criterion_main!(benches);
