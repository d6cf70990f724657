#!/usr/bin/env bash
# Installs the npm package @actions/attest, at the version pinned in
# versions.env (ACTIONS_ATTEST_NPM_VERSION), with its dependencies locked by
# testbed/actions-attest/package-lock.json, into the test bed's cache (one
# directory per version, reused once marked done), and prints the
# node_modules directory. provenance/attest_bed_test.go runs its
# buildSLSAProvenancePredicate with node (testbed/actions-attest/predicate.mjs)
# to compare sigil's provenance with GitHub's. Needs node and npm. With
# --path it only prints where node_modules is (or would be), installing
# nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
dir=$cache/actions-attest-$ACTIONS_ATTEST_NPM_VERSION
if [ "${1:-}" = --path ]; then
	echo "$dir/node_modules"
	exit 0
fi
# The lock must pin the version versions.env names.
if ! grep -q "\"$ACTIONS_ATTEST_NPM\": \"$ACTIONS_ATTEST_NPM_VERSION\"" "$here/actions-attest/package.json"; then
	echo "testbed: actions-attest/package.json does not pin $ACTIONS_ATTEST_NPM $ACTIONS_ATTEST_NPM_VERSION (versions.env); update both, then run npm install --package-lock-only there" >&2
	exit 1
fi
if [ ! -f "$dir/.done" ]; then
	command -v npm >/dev/null || { echo "testbed: npm is not installed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$here/actions-attest/package.json" "$here/actions-attest/package-lock.json" "$dir/"
	echo "testbed: npm ci $ACTIONS_ATTEST_NPM@$ACTIONS_ATTEST_NPM_VERSION" >&2
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
	touch "$dir/.done"
fi
echo "$dir/node_modules"
