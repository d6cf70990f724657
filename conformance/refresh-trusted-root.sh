#!/usr/bin/env bash
# Refreshes conformance/trusted_root.public.json, the Sigstore public-good
# trusted root that the conformance harness hands to a client for the cases
# that carry no trusted root of their own (the suite expects a client to get
# that root itself, through TUF from tuf-repo-cdn.sigstore.dev, which cannot
# be reached offline).
#
# Source: the npm package @sigstore/tuf (version pinned as
# SIGSTORE_TUF_NPM_VERSION in testbed/versions.env; `refresh-trusted-root.sh
# VERSION` takes another), whose seeds.json embeds the public TUF
# repository's root and its trusted_root.json target, base64-encoded. The
# file is written byte for byte as embedded there. To move the pin: run
# this script with the new version, then set the version in versions.env.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=testbed/versions.env
. "$here/../testbed/versions.env"
version=${1:-$SIGSTORE_TUF_NPM_VERSION}
out=$here/trusted_root.public.json
mirror=https://tuf-repo-cdn.sigstore.dev

work=$(mktemp -d "${TMPDIR:-/tmp}/sigil-tuf-XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$SIGSTORE_TUF_NPM@$version" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/seeds.json
# shellcheck disable=SC2016 # the single quotes hold JavaScript
node -e '
const fs = require("fs");
const [seedsPath, mirror, out] = process.argv.slice(1);
const seed = JSON.parse(fs.readFileSync(seedsPath, "utf8"))[mirror];
if (!seed || !seed.targets || !seed.targets["trusted_root.json"]) {
  console.error(`no trusted_root.json target for ${mirror} in ${seedsPath}`);
  process.exit(1);
}
const root = Buffer.from(seed.targets["trusted_root.json"], "base64");
JSON.parse(root.toString("utf8")); // refuse anything that is not JSON
fs.writeFileSync(out, root);
' "$work/package/seeds.json" "$mirror" "$out"
echo "wrote $out from $SIGSTORE_TUF_NPM@$version (seeds.json, $mirror) sha256 $(sha256sum "$out" | cut -d' ' -f1)"
