#!/usr/bin/env bash
# Builds the Go interop peer into target/go-peer, offline: standard library only, the local
# toolchain only (GOTOOLCHAIN=local), no module proxy (GOPROXY=off), go.mod as is (-mod=readonly),
# no VCS stamping, and a build cache under target/. Used by tests/go_interop.rs and .ci/run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS="-mod=readonly -buildvcs=false" \
    GOCACHE="$root/target/go-cache"
cd "$root/tests/peers/go-peer"
go build -o "$root/target/go-peer" .
