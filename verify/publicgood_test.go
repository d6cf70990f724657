package verify

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigil-dev/sigil/trust"
)

// Real material from the public-good Sigstore instance, verified offline:
// npm provenance bundles that sigstore-js's release workflow made on GitHub
// Actions (Fulcio certificates with embedded SCTs, Rekor v1 entries), as
// sigstore-go v1.3.0 ships them in its module (examples/ and
// pkg/testing/data/bundles/; read from the module cache, not copied), and
// the public-good trusted root from @sigstore/tuf's seeds
// (conformance/trusted_root.public.json, see conformance/README.md).

// moduleFile is the path of file in the module cache's copy of module, at
// the version go.mod requires.
func moduleFile(t *testing.T, module, file string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), file)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPublicGoodBundles(t *testing.T) {
	t.Parallel()
	tr, err := trust.LoadTrustedRoot(filepath.Join("..", "conformance", "trusted_root.public.json"))
	if err != nil {
		t.Fatal(err)
	}
	const sigstoreGo = "github.com/sigstore/sigstore-go"
	bundles := []struct {
		file, subject string
	}{
		// sigstore@1.3.0 on npm, SLSA provenance v0.2, April 2023.
		{"examples/bundle-provenance.json", "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"},
		// sigstore@2.0.0 on npm, SLSA provenance v1, August 2023.
		{"pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json", "sha512:46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c"},
	}
	release := []PolicyOption{WithRepository("sigstore/sigstore-js"), WithWorkflow("release.yml"), WithRef("refs/heads/main"), WithRunnerEnvironment(RunnerGitHubHosted)}
	for _, b := range bundles {
		path := moduleFile(t, sigstoreGo, b.file)
		spec := []FileSpec{{Digest: b.subject, BundlePath: path}}
		t.Run(filepath.Base(b.file), func(t *testing.T) {
			t.Parallel()
			if len(tr.CTLogs()) == 0 {
				t.Fatal("the public trusted root lists no CT log")
			}
			rep, err := mustVerifier(t, tr, mustPolicy(t, release...)).VerifyFiles(t.Context(), spec)
			if err != nil {
				t.Fatalf("sigstore-js's release, as itself: %v\n%s", err, rep.Text())
			}
			for _, c := range rep.Artifacts[0].Signatures[0].Checks {
				if c.Name == CheckCertificateChain && !strings.Contains(c.Reason, "certificate transparency timestamp verified") {
					t.Errorf("the SCT was not checked: %s", c.Reason)
				}
			}
			for _, tc := range []struct {
				name   string
				policy []PolicyOption
				spec   FileSpec
				failed string
			}{
				{"another repository", []PolicyOption{WithRepository("sigstore/cosign")}, spec[0], CheckIdentity},
				{"another workflow", []PolicyOption{WithRepository("sigstore/sigstore-js"), WithWorkflow("ci.yml")}, spec[0], CheckIdentity},
				{"another issuer", []PolicyOption{WithRepository("sigstore/sigstore-js"), WithIssuer("https://accounts.google.com")}, spec[0], CheckIdentity},
				{"another artifact", release, FileSpec{Digest: "sha512:" + strings.Repeat("ab", 64), BundlePath: path}, CheckClaims},
			} {
				rep, err := mustVerifier(t, tr, mustPolicy(t, tc.policy...)).VerifyFiles(t.Context(), []FileSpec{tc.spec})
				if err == nil || !slices.Contains(failedChecks(rep.Artifacts[0]), tc.failed) {
					t.Errorf("%s: err %v, failed %v; want %s to fail", tc.name, err, failedChecks(rep.Artifacts[0]), tc.failed)
				}
			}
		})
	}
}
