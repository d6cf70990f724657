#!/usr/bin/env bash
# Installs actionlint, the linter of GitHub workflow files, with `go install
# module@version` from the Go module proxy into the test bed's cache (the
# same cache as install.sh, one directory per version, reused once marked
# done), and prints the binary's path. `make lint-actions` and e2e/docker's
# TestActionlint run it. With --path it only prints where the binary is (or
# would be), installing nothing.
set -euo pipefail
ACTIONLINT_MOD=github.com/rhysd/actionlint
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
dir=$cache/actionlint-$ACTIONLINT_VERSION
if [ "${1:-}" = --path ]; then
	echo "$dir/actionlint"
	exit 0
fi
if [ ! -f "$dir/.done" ] || [ ! -x "$dir/actionlint" ]; then
	mkdir -p "$dir"
	echo "testbed: go install $ACTIONLINT_MOD/cmd/actionlint@$ACTIONLINT_VERSION" >&2
	GOBIN="$dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
		go install -trimpath -ldflags='-s -w' "$ACTIONLINT_MOD/cmd/actionlint@$ACTIONLINT_VERSION"
	touch "$dir/.done"
fi
echo "$dir/actionlint"
