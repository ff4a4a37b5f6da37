#!/usr/bin/env bash
# Builds SPIRE's server and agent (v1.13.3, pinned by go.mod/go.sum here) from the Go module proxy
# into target/spire/bin, for the Workload API tests (tests/spire.rs). No SPIRE source is kept in
# this repository. A second run finds both binaries and the stamp, and does not rebuild; a fresh
# clone on a machine that built them before reuses Go's own build cache (`go env GOCACHE`, outside
# the clone), so only the link is redone.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
here="$root/tests/peers/spire"
bin="$root/target/spire/bin"
stamp="$root/target/spire/stamp"
want="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)"
if [ -x "$bin/spire-server" ] && [ -x "$bin/spire-agent" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" CGO_ENABLED=1
export GOBIN="$bin"
mkdir -p "$bin"
cd "$here"
go install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
echo "$want" >"$stamp"
