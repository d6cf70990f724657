#!/usr/bin/env bash
# Installs the test bed's servers and reference clients with `go install
# module@version` into a cache outside the repository, one directory per
# version, and reuses what is already there. Prints nothing but progress.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
mkdir -p "$cache"

# install NAME MODULE VERSION PACKAGE...: each package's binary lands in
# $cache/NAME-VERSION; a finished directory is marked with .done.
install() {
	local name=$1 mod=$2 ver=$3; shift 3
	local dir="$cache/$name-$ver"
	if [ -f "$dir/.done" ]; then return 0; fi
	mkdir -p "$dir"
	local start=$SECONDS
	for pkg in "$@"; do
		echo "testbed: go install $mod$pkg@$ver" >&2
		GOBIN="$dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "$mod$pkg@$ver"
	done
	touch "$dir/.done"
	echo "testbed: $name $ver installed in $((SECONDS - start))s" >&2
}

install tsa "$TSA_MOD" "$TSA_VERSION" /cmd/timestamp-server
install fulcio "$FULCIO_MOD" "$FULCIO_VERSION" ""
install trillian "$TRILLIAN_MOD" "$TRILLIAN_VERSION" /cmd/trillian_log_server /cmd/trillian_log_signer
# Trillian's createtree makes the CT log's tree (once per bed, see up.sh).
install trillian-createtree "$TRILLIAN_MOD" "$TRILLIAN_VERSION" /cmd/createtree
install ctfe "$CTFE_MOD" "$CTFE_VERSION" /trillian/ctfe/ct_server
install rekor "$REKOR_MOD" "$REKOR_VERSION" /cmd/rekor-server
install rekor-tiles "$REKOR_TILES_MOD" "$REKOR_TILES_VERSION" /cmd/rekor-server/posix
install distribution "$DISTRIBUTION_MOD" "$DISTRIBUTION_VERSION" /cmd/registry
install cosign2 "$COSIGN2_MOD" "$COSIGN2_VERSION" /cmd/cosign
install cosign3 "$COSIGN3_MOD" "$COSIGN3_VERSION" /cmd/cosign

# Trillian's MySQL schema ships in its module.
if [ ! -f "$cache/trillian-$TRILLIAN_VERSION/storage.sql" ]; then
	dir=$(go mod download -json "$TRILLIAN_MOD@$TRILLIAN_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	cp "$dir/storage/mysql/schema/storage.sql" "$cache/trillian-$TRILLIAN_VERSION/storage.sql"
fi
echo "$cache"
