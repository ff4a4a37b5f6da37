//! `meshtls::fips::self_test()` after warm-up: meant to stay well under 5 ms, cheap enough to run at
//! every start-up. `cargo bench --bench self_test` (add `--no-default-features --features fips` for
//! the FIPS module).

use criterion::{criterion_group, criterion_main, Criterion};

fn self_test(c: &mut Criterion) {
    // Warm-up outside the measurement: the module's lazy self-tests (ECDSA, ECDH) run on first use.
    let first = meshtls::fips::self_test().expect("self-test passes");
    println!("first run: {first}");
    c.bench_function("fips::self_test", |b| {
        b.iter(|| meshtls::fips::self_test().expect("self-test passes"))
    });
}

criterion_group!(benches, self_test);
criterion_main!(benches);
