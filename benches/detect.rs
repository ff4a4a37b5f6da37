//! `detect` over an in-memory stream, per byte read, on the hellos that cost it most: a ClientHello
//! of about 64 KiB sent at once (4 records of 16 KiB), the same hello in 1-byte records (detect
//! reads its 0xffff-byte limit of it, then says NotTls, as rustls's server would), the largest
//! hello that fits the limit in 1-byte records (10922 bytes: 65532 bytes of records), and the 64
//! KiB one read one byte per read call.
//!
//! `cargo bench --bench detect`. Besides criterion's report (throughput in bytes read), it prints
//! ns per byte read for each, and its ratio to the all-at-once case.
//!
//! Detection is linear: every byte read is taken once, so each case's cost per byte is a
//! constant, not one growing with the hello (every read used to re-parse the whole buffer). The
//! constants differ: at once, the 64 KiB are two copies (into the buffer detect hands back, and
//! into the reassembled message), at memory speed; in 1-byte records, each 6-byte record is a
//! step of its own, whose length must be read before the next header can be found; one byte per
//! read call adds the cost of a read call to each byte.

#[path = "../tests/detect_support/mod.rs"]
mod detect_support;

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use detect_support::{handshake_message, pad_hello, records, rustls_hello};
use meshtls::detect::{detect, Detected};
use meshtls::ServerName;
use tokio::io::{AsyncRead, ReadBuf};

const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
/// The most bytes detect (and rustls's server) reads before the hello has ended.
const MAX_PEEK: usize = 0xffff;

/// A case: the bytes sent, whether to read them one byte per read call, and what detect says.
struct Case {
    name: &'static str,
    wire: Vec<u8>,
    one_byte_reads: bool,
    want: Detected,
}

impl Case {
    /// The bytes detect reads: all of them, or its limit.
    fn read(&self) -> usize {
        self.wire.len().min(MAX_PEEK)
    }
}

fn cases() -> Vec<Case> {
    let hello = handshake_message(&rustls_hello(meshtls::provider(), Some(FOO), false, false));
    // 4 records of at most 16 KiB: 65535 bytes, the most rustls's server takes.
    let big = pad_hello(&hello, MAX_PEEK - 4 * 5);
    // 1-byte records: 6 bytes of records a byte, so 10922 bytes make 65532.
    let small = pad_hello(&hello, MAX_PEEK / 6);
    let at_once = records(&big, 16_384, [3, 3]);
    [
        (
            "64k hello, at once",
            at_once.clone(),
            false,
            Detected::Terminate,
        ),
        (
            "64k hello, 1-byte records",
            records(&big, 1, [3, 3]),
            false,
            Detected::NotTls,
        ),
        (
            "10.9k hello, 1-byte records",
            records(&small, 1, [3, 3]),
            false,
            Detected::Terminate,
        ),
        (
            "64k hello, 1 byte per read",
            at_once,
            true,
            Detected::Terminate,
        ),
    ]
    .into_iter()
    .map(|(name, wire, one_byte_reads, want)| Case {
        name,
        wire,
        one_byte_reads,
        want,
    })
    .collect()
}

/// Hands out one byte per read call.
struct OneByte<'a>(&'a [u8]);

impl AsyncRead for OneByte<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some((first, rest)) = self.0.split_first() {
            buf.put_slice(&[*first]);
            self.0 = rest;
        }
        Poll::Ready(Ok(()))
    }
}

fn run(rt: &tokio::runtime::Runtime, local: &ServerName, case: &Case) -> Detected {
    let timeout = Duration::from_secs(60);
    rt.block_on(async {
        if case.one_byte_reads {
            detect(OneByte(&case.wire), local, timeout).await.unwrap().0
        } else {
            detect(&case.wire[..], local, timeout).await.unwrap().0
        }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let local: ServerName = FOO.parse().unwrap();
    let mut group = c.benchmark_group("detect");
    for case in cases() {
        assert_eq!(run(&rt, &local, &case), case.want, "{}", case.name);
        group.throughput(Throughput::Bytes(case.read() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(case.name), &case, |b, case| {
            b.iter(|| black_box(run(&rt, &local, case)))
        });
    }
    group.finish();
    per_byte();
}

/// ns per byte read, the median of 101 runs of each case, and each against the first.
fn per_byte() {
    let rt = runtime();
    let local: ServerName = FOO.parse().unwrap();
    let mut first = None;
    println!("\nns per byte read (median of 101 runs):");
    for case in cases() {
        let mut times: Vec<f64> = (0..101)
            .map(|_| {
                let start = Instant::now();
                black_box(run(&rt, &local, &case));
                start.elapsed().as_nanos() as f64 / case.read() as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let ns = times[times.len() / 2];
        let base = *first.get_or_insert(ns);
        println!(
            "  {:<30} {:>6} bytes read  {ns:>7.3} ns/byte  {:>5.2}x the all-at-once",
            case.name,
            case.read(),
            ns / base
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
