package selftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// TestCosignTUF proves the bed's TUF repository is one the reference client
// accepts as it accepts the public one: cosign v3, given only the mirror
// and its initial root (TUF_MIRROR, TUF_ROOT_JSON; no --trusted-root, no
// --signing-config), signs a file with the signing config it reads from
// the repository, which, as the public one, names Rekor v1 and the TSA,
// and verifies it, SCT included, with the trusted root it reads from there.
func TestCosignTUF(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	c := newCosign(t, e)
	tufEnv := e.TUFEnv(t, nil, e.TUFURL)
	claims, _ := signerClaims(t)
	dir := t.TempDir()
	file, bundle := filepath.Join(dir, "release.tar.gz"), filepath.Join(dir, "release.tar.gz.sigstore.json")
	if err := os.WriteFile(file, []byte("signed with trust from TUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, e.Cosign3, tufEnv, "sign-blob", "--yes", "--identity-token="+e.IDToken(t, "sigstore", claims), "--bundle="+bundle, file)
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	// A Rekor v1 entry (kind version 0.0.1) and a signed timestamp.
	for _, want := range []string{`"version":"0.0.1"`, `"rfc3161Timestamps"`} {
		if !strings.Contains(strings.ReplaceAll(string(b), " ", ""), want) {
			t.Errorf("the bundle lacks %s:\n%s", want, b)
		}
	}
	checkVerify(t, e, func(identity, issuer string) (string, error) {
		return c.run(t, e.Cosign3, tufEnv, "verify-blob", "--bundle="+bundle,
			"--certificate-identity="+identity, "--certificate-oidc-issuer="+issuer, file)
	})
}

// TestCosignTUFRefused runs cosign v3 against the bed's broken TUF
// repositories: it must refuse to sign.
func TestCosignTUFRefused(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	for _, tc := range []struct{ name, mirror, want string }{
		{"expired timestamp", e.TUFExpiredURL, "timestamp.json is expired"},
		{"targets signed by a key the root does not name", e.TUFBadSigURL, "Verifying targets failed, not enough signatures"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCosign(t, e)
			claims, _ := signerClaims(t)
			file := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := c.run(t, e.Cosign3, e.TUFEnv(t, nil, tc.mirror), "sign-blob", "--yes",
				"--identity-token="+e.IDToken(t, "sigstore", claims), "--bundle="+file+".sigstore.json", file)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("cosign sign-blob with the mirror %s: err = %v, want a failure saying %q:\n%s", tc.mirror, err, tc.want, out)
			}
		})
	}
}

// TestLegacyTUFCache primes a TUF cache from the bed's repository with
// sigstore's older TUF client (go-tuf v0.7, which Kyverno's CLI reads its
// trusted root through), and checks it holds the bed's trusted root.
func TestLegacyTUFCache(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	env := e.ToolEnv(t)
	e.TUFEnv(t, env, e.TUFURL)
	var cache string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TUF_ROOT="); ok {
			cache = v
		}
	}
	got, err := os.ReadFile(filepath.Join(cache, "targets", "trusted_root.json"))
	if err != nil {
		t.Fatalf("the primed cache holds no trusted root: %v", err)
	}
	want, err := os.ReadFile(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("the primed cache's trusted root differs from %s", e.TrustedRoot)
	}
}
