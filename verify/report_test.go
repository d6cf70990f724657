package verify

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/artifact"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// sampleReport is a report with a passed image, a failed image and an
// unsigned file.
func sampleReport() (Report, error) {
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	policy := mustPolicyNoT(WithRepository("sigil-dev/demo"), WithWorkflow("release.yml"), WithRef("refs/tags/v*"))
	id := "https://github.com/sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0"
	passed := Artifact{
		Kind: "image", Target: artifact.Target{Reference: "ghcr.io/sigil-dev/demo:v1.0.0", Repository: "ghcr.io/sigil-dev/demo",
			Digest: "sha256:" + repeat("a")}, Passed: true,
		Signatures: []Signature{{
			Format: artifact.FormatBundle, Location: "ghcr.io/sigil-dev/demo@sha256:" + repeat("b"), Passed: true,
			Checks: []Check{
				{CheckClaims, true, "the signed in-toto statement names sha256:" + repeat("a") + " with predicate type " + artifact.CosignSignPredicateType},
				{CheckSignature, true, "the signature verifies with the certificate's key"},
				{CheckTransparencyLog, true, "Rekor v2 entry 7 at https://log2025-1.rekor.sigstore.dev, with its inclusion proof with signed checkpoint, verified offline"},
				{CheckTimestamp, true, "signed at timestamp-authority https://timestamp.sigstore.dev at 2026-11-25T18:00:00Z"},
				{CheckCertificateChain, true, "issued by CN=sigstore-intermediate,O=sigstore.dev, chains to the trusted root's Fulcio CA CN=sigstore,O=sigstore.dev"},
				{CheckIdentity, true, "subject " + id},
			},
			Identity: id, Issuer: GitHubIssuer,
			Log:             &artifact.LogEntry{Index: 7, LogID: repeat("c"), URL: "https://log2025-1.rekor.sigstore.dev", Version: 2},
			TimestampSource: SourceTimestampAuthority,
			Timestamps:      []Timestamp{{Source: SourceTimestampAuthority, URI: "https://timestamp.sigstore.dev", Time: at}},
		}},
	}
	failed := Artifact{
		Kind: "image", Target: artifact.Target{Reference: "docker.io/sigil/demo:v1.0.0", Repository: "index.docker.io/sigil/demo",
			Digest: "sha256:" + repeat("a")},
		Signatures: []Signature{{
			Format: artifact.FormatLegacy, Location: "index.docker.io/sigil/demo:sha256-" + repeat("a") + ".sig (layer 1)",
			Checks: []Check{
				{CheckClaims, true, "the signed payload names sha256:" + repeat("a")},
				{CheckIdentity, false, "expected " + policy.String() + "; found subject https://github.com/evil/demo/.github/workflows/release.yml@refs/tags/v1.0.0"},
			},
		}},
	}
	unsigned := Artifact{Kind: "file", Target: artifact.Target{Reference: "dist/checksums.txt", Digest: "sha256:" + repeat("d")}, Bundle: "dist/checksums.txt.sigstore.json", Error: "no signature found: the bundle dist/checksums.txt.sigstore.json does not exist"}
	r := Report{Policy: policy.Expected(), Format: artifact.FormatAny, Artifacts: []Artifact{passed, failed, unsigned}}
	return r, &Error{Failed: []Artifact{failed, unsigned}}
}

func repeat(s string) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = s[0]
	}
	return string(b)
}

func mustPolicyNoT(opts ...PolicyOption) *Policy {
	p, err := NewPolicy(opts...)
	if err != nil {
		panic(err)
	}
	return p
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	r, err := sampleReport()
	js, jerr := json.MarshalIndent(r, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	golden(t, "report.json", append(js, '\n'))
	golden(t, "report.txt", []byte(r.Text()))
	golden(t, "error.txt", []byte(err.Error()+"\n"))
}
