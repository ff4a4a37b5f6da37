#!/usr/bin/env bash
# Builds the Go interop peer twice, offline: standard library only, the local toolchain only
# (GOTOOLCHAIN=local), no module proxy (GOPROXY=off), go.mod as is (-mod=readonly), no VCS
# stamping, and the build and module caches under target/ (the module cache writable, so
# `cargo clean` can remove it). Used by tests/go_interop.rs, tests/go_fips.rs and .ci/run.
#
#   target/go-peer       the standard library's own Go Cryptographic Module (fips140.Version()
#                        "latest"), FIPS 140-3 mode off unless GODEBUG=fips140=on|only
#   target/go-peer-fips  GOFIPS140=v1.0.0: the frozen Go Cryptographic Module v1.0.0 (shipped in
#                        GOROOT/lib/fips140, unpacked into the module cache without the network),
#                        FIPS 140-3 mode on by default
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS="-mod=readonly -modcacherw -buildvcs=false" \
    GOCACHE="$root/target/go-cache" GOMODCACHE="$root/target/go-mod"
cd "$root/tests/peers/go-peer"
GOFIPS140=off go build -o "$root/target/go-peer" .
GOFIPS140=v1.0.0 go build -o "$root/target/go-peer-fips" .
