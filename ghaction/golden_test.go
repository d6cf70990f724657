package ghaction

import (
	"testing"
)

// TestGolden runs what a signing step writes and compares the exact bytes
// of GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and stdout with the files under
// testdata/. Run go test -update to rewrite them.
func TestGolden(t *testing.T) {
	t.Parallel()
	env, outPath, summaryPath := fileEnv(t)
	r, stdout := newTestRuntime(t, env)

	steps := []func() error{
		func() error { return r.AddMask("ghs_registrytoken\nsecond line of a key") },
		func() error { return r.Group("Signing 2 images") },
		func() error { return r.Debugf("resolved %s to %s", "ghcr.io/o/r:v1", "sha256:0123") },
		func() error { return r.Logf("signed ghcr.io/o/r@sha256:0123 (rekor log index 42)") },
		func() error {
			return r.Logf("certificate identity: https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1\n::warning::not from us")
		},
		func() error { return r.EndGroup() },
		func() error {
			return r.Annotate(LevelError, Annotation{Title: "Verification failed", File: ".github/workflows/release.yml", Line: 12}, "docker.io/o/r@sha256:0123: no signature found\n(tag sha256-0123.sig)")
		},
		func() error {
			return r.Warningf("registry %s has no referrers API; used the tag fallback", "docker.io")
		},
		func() error { return r.Noticef("signed 2 of 2 artifacts, 100%%") },
		func() error { return r.SetOutput("digest", "sha256:0123") },
		func() error {
			return r.SetOutput("signatures", `[
  {"reference": "ghcr.io/o/r@sha256:0123", "rekor_log_index": 42},
  {"reference": "docker.io/o/r@sha256:0123", "rekor_log_index": 43}
]`)
		},
		func() error { return r.SetOutput("verify-command", "") },
		func() error { return r.AppendSummary("## sigil: signed 2 artifacts\n\n") },
		func() error {
			return r.AppendSummary("| artifact | digest | rekor |\n| --- | --- | --- |\n| `ghcr.io/o/r` | `sha256:0123` | 42 |\n| `docker.io/o/r` | `sha256:0123` | 43 |\n")
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	outputs := readFile(t, outPath)
	checkGolden(t, "sign.output.golden", outputs)
	checkGolden(t, "sign.summary.golden", readFile(t, summaryPath))
	checkGolden(t, "sign.stdout.golden", stdout.String())

	if _, err := parseOutputFile(outputs); err != nil {
		t.Errorf("the runner cannot read the golden output file: %v", err)
	}
}
