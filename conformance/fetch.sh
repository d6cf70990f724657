#!/usr/bin/env bash
# Puts the Sigstore client conformance suite (sigstore/sigstore-conformance
# at the commit pinned in testbed/versions.env) into a cache outside the
# repository, reusing it when present, and prints its path. Nothing of the
# suite is committed here.
#
# Where it comes from, in this order:
#  1. the cache: $SIGIL_TB_CACHE (default ~/.cache/sigil-testbed)/
#     conformance-<commit>, once marked .done;
#  2. the Go module proxy, which serves a public GitHub repository as a
#     module zip at a pseudo-version (`go mod download`, checked against the
#     checksum database). The proxy this project reaches refuses this
#     repository (403 "This module version is not available": it is not a
#     Go module), so on such a machine this step fails and says so;
#  3. SIGIL_CONFORMANCE_SRC: a directory holding the suite at the pinned
#     commit (e.g. `git clone https://github.com/sigstore/sigstore-conformance`
#     and `git checkout <commit>` on a machine that reaches GitHub, or a
#     `git archive` of that commit). Its files are hashed as git would and
#     must form exactly the pinned commit's tree (CONFORMANCE_TREE); only
#     the tracked files are copied.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=testbed/versions.env
. "$here/../testbed/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
dest=$cache/conformance-$CONFORMANCE_COMMIT
if [ -f "$dest/.done" ]; then
	echo "$dest"
	exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/.conformance-XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# check DIR: the files the harness runs are there.
check() {
	local d=$1 f n
	for f in test/conftest.py test/client.py test/test_bundle.py test/assets/bundle-verify/a.txt; do
		[ -f "$d/$f" ] || { echo "conformance: $f is missing from the suite copy" >&2; return 1; }
	done
	n=$(find "$d/test/assets/bundle-verify" -mindepth 1 -maxdepth 1 -type d | wc -l)
	[ "$n" -gt 0 ] || { echo "conformance: no verification case in test/assets/bundle-verify" >&2; return 1; }
}

from=
# 2. The Go module proxy, from an empty directory (no go.mod or go.work read).
mod=$CONFORMANCE_REPO@$CONFORMANCE_PSEUDO_VERSION
proxy_json=$( (cd "$work" && GOWORK=off GOFLAGS='' go mod download -json "$mod") 2>&1) || true
src=$(printf '%s\n' "$proxy_json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -n "$src" ] && [ -d "$src" ]; then
	# Module zips keep no file modes; the copy must be writable to be removed.
	cp -R "$src/." "$work/suite"
	chmod -R u+w "$work/suite"
	from="the Go module proxy ($mod)"
else
	proxy_err=$(printf '%s\n' "$proxy_json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/\1/p' | sed 's/\\n\\t/ /g')
	[ -n "$proxy_err" ] || proxy_err=$proxy_json
fi

# 3. A local copy of the pinned commit.
if [ -z "$from" ] && [ -n "${SIGIL_CONFORMANCE_SRC:-}" ]; then
	srcdir=$(cd "$SIGIL_CONFORMANCE_SRC" && pwd)
	g=(git --git-dir="$work/index.git" --work-tree="$srcdir")
	git init -q --bare "$work/index.git"
	"${g[@]}" add -A .
	tree=$("${g[@]}" write-tree)
	if [ "$tree" != "$CONFORMANCE_TREE" ]; then
		echo "conformance: $srcdir is not sigstore-conformance at $CONFORMANCE_COMMIT: its files form git tree $tree, want $CONFORMANCE_TREE (check out that commit, with no local changes)" >&2
		exit 1
	fi
	"${g[@]}" checkout-index -a --prefix="$work/suite/"
	from="SIGIL_CONFORMANCE_SRC ($srcdir, tree $tree)"
fi

if [ -z "$from" ]; then
	cat >&2 <<MSG
conformance: cannot obtain sigstore-conformance at $CONFORMANCE_COMMIT.
  The Go module proxy refused $mod:
    $proxy_err
  (the proxy reachable here serves Go modules only; this repository has no
  go.mod). No Debian or npm package carries the suite. Give a copy instead:
  on a machine that reaches GitHub,
    git clone https://github.com/sigstore/sigstore-conformance
    git -C sigstore-conformance checkout $CONFORMANCE_COMMIT
  then run again with SIGIL_CONFORMANCE_SRC=<that directory>; it is checked
  against the pinned tree and cached in $dest.
MSG
	exit 1
fi
check "$work/suite"
printf 'commit %s\nfrom %s\n' "$CONFORMANCE_COMMIT" "$from" >"$work/suite/.source"
touch "$work/suite/.done"
rm -rf "$dest"
mv "$work/suite" "$dest"
echo "conformance: suite $CONFORMANCE_COMMIT from $from into $dest" >&2
echo "$dest"
