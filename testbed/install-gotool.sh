#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs a Go tool the checks run — `install-gotool.sh actionlint` or
# `install-gotool.sh staticcheck` — with `go install package@version` from
# the Go module proxy, at the version pinned in versions.env, into the test
# bed's cache (one directory per version, reused once marked done), and
# prints the binary's path. With --path as second argument it only prints
# where the binary is (or would be), installing nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
name=${1:?usage: install-gotool.sh NAME [--path]}
key=$(echo "$name" | tr '[:lower:]-' '[:upper:]_')
pkg_var=${key}_PKG ver_var=${key}_VERSION
pkg=${!pkg_var:?no ${key}_PKG in versions.env}
ver=${!ver_var:?no ${key}_VERSION in versions.env}
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
dir=$cache/$name-$ver
if [ "${2:-}" = --path ]; then
	echo "$dir/$name"
	exit 0
fi
if [ ! -f "$dir/.done" ] || [ ! -x "$dir/$name" ]; then
	mkdir -p "$dir"
	echo "testbed: go install $pkg@$ver" >&2
	GOBIN="$dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "$pkg@$ver"
	touch "$dir/.done"
fi
echo "$dir/$name"
