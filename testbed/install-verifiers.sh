#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the cluster-side verifiers the policy tests run: the Kyverno CLI and
# sigstore policy-controller's tester. `go install module@version` refuses
# both (their go.mod carries replace directives), so each module is fetched
# from the Go module proxy with `go mod download`, copied to a scratch
# directory and built there. Binaries land in the same cache as install.sh
# uses, one directory per version, marked with .done and reused. Nothing
# built is committed. Prints the binary paths, one a line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
mkdir -p "$cache"

# build NAME MODULE VERSION PACKAGE BINARY: builds MODULE's PACKAGE into
# $cache/NAME-VERSION/BINARY unless that directory is marked done.
build() {
	local name=$1 mod=$2 ver=$3 pkg=$4 bin=$5
	local dir="$cache/$name-$ver"
	if [ -f "$dir/.done" ] && [ -x "$dir/$bin" ]; then return 0; fi
	mkdir -p "$dir"
	local start=$SECONDS src
	work=$(mktemp -d "${TMPDIR:-/tmp}/sigil-$name-XXXXXX")
	# Downloaded from an empty directory, so no caller's go.mod or go.sum
	# is read or touched.
	echo "testbed: go mod download $mod@$ver" >&2
	src=$(cd "$work" && GOWORK=off GOFLAGS='' go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
		echo "testbed: no module directory for $mod@$ver" >&2
		return 1
	fi
	# The module cache is read-only; the build needs a writable copy.
	cp -R "$src/." "$work/"
	chmod -R u+w "$work"
	echo "testbed: go build $mod/$pkg@$ver" >&2
	(cd "$work" && GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0 \
		go build -trimpath -ldflags='-s -w' -o "$dir/$bin" "./$pkg")
	rm -rf "$work"
	work=
	touch "$dir/.done"
	echo "testbed: $name $ver built in $((SECONDS - start))s" >&2
}

# A failed build leaves no scratch copy behind (and no .done marker).
work=
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

build kyverno "$KYVERNO_MOD" "$KYVERNO_VERSION" cmd/cli/kubectl-kyverno kyverno
build policy-controller "$POLICY_CONTROLLER_MOD" "$POLICY_CONTROLLER_VERSION" cmd/tester policy-tester

echo "$cache/kyverno-$KYVERNO_VERSION/kyverno"
echo "$cache/policy-controller-$POLICY_CONTROLLER_VERSION/policy-tester"
