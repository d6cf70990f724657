package app

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

func TestPolicyInput(t *testing.T) {
	tr, err := trust.LoadTrustedRoot(filepath.Join("..", "policy", "testdata", "private-ct-two-logs.trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	res := sign.Result{
		Identity: artifact.Identity{Subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3", Issuer: "https://token.actions.githubusercontent.com"},
		Images: []sign.Image{
			{Target: artifact.Target{Reference: "ghcr.io/org/app:v1.2.3", Repository: "ghcr.io/org/app", Digest: d1}, Signatures: []sign.Signature{
				{Format: artifact.FormatBundle, Log: artifact.LogEntry{URL: "https://log2.rekor.example.internal", Version: 2}},
				{Format: artifact.FormatLegacy, Log: artifact.LogEntry{URL: "https://rekor.example.internal", Version: 1}},
			}},
			{Target: artifact.Target{Reference: "ghcr.io/org/app:v1.2.3", Repository: "ghcr.io/org/app", Digest: d2, Index: d1, Platform: "linux/arm64"}, Signatures: []sign.Signature{
				{Format: artifact.FormatLegacy, Log: artifact.LogEntry{URL: "https://rekor.example.internal", Version: 1}},
			}},
			{Target: artifact.Target{Reference: "docker.io/org/app@" + d1, Repository: "index.docker.io/org/app", Digest: d1}, Signatures: []sign.Signature{
				{Format: artifact.FormatLegacy, Log: artifact.LogEntry{URL: "https://rekor.example.internal", Version: 1}},
			}},
		},
	}
	in := policyInput(res, tr)
	want := policy.Input{
		Identities: []artifact.Requirement{{Subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3", Issuer: "https://token.actions.githubusercontent.com"}},
		Images: []policy.Image{
			{Repository: "ghcr.io/org/app", Tag: "v1.2.3", Digest: d1},
			{Repository: "ghcr.io/org/app"},
			{Repository: "index.docker.io/org/app", Digest: d1},
		},
		TrustedRoot: tr,
		RekorURL:    "https://rekor.example.internal",
	}
	if diff := cmp.Diff(want, in, cmp.Comparer(func(a, b *root.TrustedRoot) bool { return a == b })); diff != "" {
		t.Errorf("policyInput (-want +got):\n%s", diff)
	}
	if _, err := policy.Generate(in); err != nil {
		t.Errorf("Generate(policyInput(...)): %v", err)
	}
	if !legacySigned(res) {
		t.Error("legacySigned = false for a run with legacy signatures")
	}
	res.Images[2].Signatures = nil
	if legacySigned(res) {
		t.Error("legacySigned = true though one image has no legacy signature")
	}
}
