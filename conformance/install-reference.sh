#!/usr/bin/env bash
# Builds the reference client of the conformance harness, sigstore-go's own
# conformance CLI (github.com/sigstore/sigstore-go/test/conformance at the
# version pinned in testbed/versions.env), with `go install` from the Go
# module proxy into the test bed's cache (one directory per version, marked
# with .done and reused), and prints the binary's path. Nothing built is
# committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=testbed/versions.env
. "$here/../testbed/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
dir=$cache/sigstore-go-conformance-$SIGSTORE_GO_VERSION
if [ ! -f "$dir/.done" ] || [ ! -x "$dir/conformance" ]; then
	mkdir -p "$dir"
	start=$SECONDS
	echo "conformance: go install $SIGSTORE_GO_MOD/test/conformance@$SIGSTORE_GO_VERSION" >&2
	# From an empty directory, so no caller's go.mod or go.work is read.
	(cd "$dir" && GOWORK=off GOBIN="$dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
		go install -trimpath -ldflags='-s -w' "$SIGSTORE_GO_MOD/test/conformance@$SIGSTORE_GO_VERSION")
	touch "$dir/.done"
	echo "conformance: sigstore-go conformance client $SIGSTORE_GO_VERSION built in $((SECONDS - start))s" >&2
fi
echo "$dir/conformance"
