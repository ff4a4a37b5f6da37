#!/usr/bin/env bash
# The test suite in every build meshtls ships:
#   default (+ spiffe, metrics)               AWS-LC, TLS 1.3 + 1.2
#   --no-default-features --features fips,cli(,spiffe,metrics) the regulated build (AWS-LC-FIPS only,
#                                             TLS 1.3), its CLI, the Workload API source, the metrics
#   --no-default-features --features fips,tls12   the FIPS module with TLS 1.2 (EMS rules)
#   --features fips                           defaults plus fips: must still run on the FIPS module,
#                                             and is never reported certified (two crypto libraries)
# FIPS builds need Go, CMake, Perl and a C compiler (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in go cmake perl cc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: the FIPS builds need '$tool' (Debian: apt-get install -y golang-go cmake perl gcc)" >&2
        exit 2
    fi
done

# --show-output: what passing tests print is part of the record (vector case counts, peer versions,
# handshake counts).
run() {
    echo "=== cargo test $*"
    cargo test --locked "$@" -- --show-output
}

# `kat` (test suite only) exposes the fixed-key/fixed-nonce entry points the known-answer tests use.
# `spiffe` (the Workload API source) in the default and the regulated build: tests/spire.rs runs a
# real SPIRE server and agent (tests/peers/spire/build.sh builds them once into target/spire).
# `metrics` (Prometheus metrics) in both too: tests/metrics.rs; `hyper` (meshtls::http): tests/hyper.rs.
run --features kat,spiffe,metrics,hyper
run --no-default-features --features fips,cli,kat,spiffe,metrics,hyper
run --no-default-features --features fips,tls12,kat
run --features fips --test policy
run --features fips --test cli status_reports_the_build_and_every_algorithm
# The regulated library exactly as a product builds it (no `kat`): its doctests include the proof
# that it has no test-only API (src/lib.rs), and its unit tests.
run --no-default-features --features fips --lib
run --no-default-features --features fips --doc
