#!/usr/bin/env bash
# `make demo`: the main job, end to end, on the local test bed. Pushes a
# small release (three images, one multi-platform, on both registries, and
# two release files), runs sigil sign exactly as a GitHub step runs it
# (INPUT_* variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, the OIDC token
# endpoint), then sigil verify with a GitHub preset, as a consumer would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${SIGIL_TB_DIR:-$root/.testbed}
# shellcheck source=/dev/null
. "$dir/env"
out=$root/out/demo
rm -rf "$out" && mkdir -p "$out/workspace" "$out/file_commands"
go build -o "$out/sigil" .

echo "== pushing the demo release to $SIGIL_TB_GHCR (ghcr.io) and $SIGIL_TB_DOCKERHUB (docker.io)"
images=$(go run ./testbed/cmd/demo-push -env "$dir/env" -dist "$out/workspace/dist")
echo "$images"

creds="$SIGIL_TB_GHCR=$SIGIL_TB_GHCR_USER:$SIGIL_TB_GHCR_PASSWORD
$SIGIL_TB_DOCKERHUB=$SIGIL_TB_DOCKERHUB_USER:$SIGIL_TB_DOCKERHUB_PASSWORD"

# step MODE OUTPUT SUMMARY: runs the binary as GitHub runs a container
# action step; the remaining inputs come from the environment.
step() {
	local mode=$1 output=$2 summary=$3
	: >"$output"
	: >"$summary"
	(cd "$out/workspace" && env -i PATH="$PATH" HOME="$out" \
		GITHUB_ACTIONS=true GITHUB_WORKSPACE="$out/workspace" \
		GITHUB_REPOSITORY=sigil-dev/demo GITHUB_REF=refs/tags/v1.0.0 GITHUB_ACTOR=octocat \
		GITHUB_WORKFLOW_REF=sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0 \
		GITHUB_OUTPUT="$output" GITHUB_STEP_SUMMARY="$summary" \
		ACTIONS_ID_TOKEN_REQUEST_URL="$SIGIL_TB_TOKEN_URL" ACTIONS_ID_TOKEN_REQUEST_TOKEN="$SIGIL_TB_TOKEN" \
		INPUT_MODE="$mode" INPUT_IMAGES="$images" INPUT_TRUSTED-ROOT="$SIGIL_TB_TRUSTED_ROOT" \
		INPUT_REGISTRY-CREDENTIALS="$creds" "${@:4}" "$out/sigil")
}

echo
echo "== sigil sign (Rekor v1, format both: bundle referrers + legacy .sig)"
step sign "$out/file_commands/sign_output" "$out/file_commands/sign_summary.md" \
	INPUT_FILES="dist/*" INPUT_SIGNING-CONFIG="$SIGIL_TB_SIGNING_CONFIG"

echo
echo "== sigil verify (GitHub preset: repository sigil-dev/demo, workflow release.yml, ref refs/tags/v*)"
step verify "$out/file_commands/verify_output" "$out/file_commands/verify_summary.md" \
	INPUT_FILES="dist/*" INPUT_REPOSITORY=sigil-dev/demo INPUT_WORKFLOW=.github/workflows/release.yml \
	INPUT_REF='refs/tags/v*' INPUT_CERTIFICATE-OIDC-ISSUER="$SIGIL_TB_ISSUER" INPUT_RECURSIVE=true

cat <<EOT

== where things are
  sign outputs (GITHUB_OUTPUT):   $out/file_commands/sign_output
  sign job summary:               $out/file_commands/sign_summary.md
  verify outputs (report, verified): $out/file_commands/verify_output
  verify job summary:             $out/file_commands/verify_summary.md
  file bundles:                   $(printf '%s ' "$out"/workspace/dist/*.sigstore.json)
  consumer policies:              $(printf '%s ' "$out"/workspace/sigil-policies/*)
EOT
