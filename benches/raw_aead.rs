//! Raw AES-128-GCM sealing of one 16 KiB record: the TLS-approved `TlsRecordSealingKey` (module-checked
//! nonces) against plain `LessSafeKey`, to show the approved path costs nothing measurable.
//! `cargo bench --bench raw_aead`.

use aws_lc_rs::aead::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn raw(c: &mut Criterion) {
    let mut g = c.benchmark_group("raw-seal-16KiB");
    g.throughput(Throughput::Bytes(16384));
    let key = [7u8; 16];
    let mut buf = vec![0u8; 16384 + 1];
    let less = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
    let mut n = 0u64;
    g.bench_function("lesssafe", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&n.to_be_bytes());
            n += 1;
            less.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([0u8; 5]),
                &mut buf,
            )
            .unwrap()
        })
    });
    let mut tls = TlsRecordSealingKey::new(&AES_128_GCM, TlsProtocolId::TLS13, &key).unwrap();
    let mut n = 0u64;
    g.bench_function("tls13", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&n.to_be_bytes());
            n += 1;
            tls.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([0u8; 5]),
                &mut buf,
            )
            .unwrap()
        })
    });
    let mut v: Vec<u8> = Vec::with_capacity(16384 + 32);
    let mut n = 0u64;
    let mut tls2 = TlsRecordSealingKey::new(&AES_128_GCM, TlsProtocolId::TLS13, &key).unwrap();
    g.bench_function("tls13-append", |b| {
        b.iter(|| {
            v.clear();
            v.resize(16385, 0);
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&n.to_be_bytes());
            n += 1;
            tls2.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([0u8; 5]),
                &mut v,
            )
            .unwrap()
        })
    });
    g.finish();
}
criterion_group!(benches, raw);
criterion_main!(benches);
