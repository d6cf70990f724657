package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
)

// release is what a release job ships: three images (the last a
// multi-platform index), each pushed to both registries under the same
// digest, and two files.
type release struct {
	refs     []string      // tags, as the workflow lists them
	digests  []name.Digest // every top-level manifest in every repository
	children []name.Digest // the index's platform manifests, in every repository
	dir      string        // workspace with dist/
	files    []string      // relative to dir
}

func pushRelease(t *testing.T, e *tbenv.Env) release {
	t.Helper()
	base := tbenv.UniqueRepo(t)
	var r release
	for i, kind := range []string{"image", "image", "index"} {
		repo := fmt.Sprintf("%s-%d", base, i)
		img, idx := tbenv.RandomImage(t), tbenv.RandomIndex(t)
		for _, reg := range e.Registries() {
			var d name.Digest
			if kind == "image" {
				d = reg.PushImage(t, repo, "v1.0.0", img)
			} else {
				d = reg.PushIndex(t, repo, "v1.0.0", idx)
				im, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range im.Manifests {
					r.children = append(r.children, d.Context().Digest(m.Digest.String()))
				}
			}
			r.refs = append(r.refs, reg.Tag(t, repo, "v1.0.0").String())
			r.digests = append(r.digests, d)
		}
	}
	r.dir = t.TempDir()
	os.MkdirAll(filepath.Join(r.dir, "dist"), 0o755)
	for _, f := range []string{"dist/app_linux_amd64.tar.gz", "dist/checksums.txt"} {
		if err := os.WriteFile(filepath.Join(r.dir, f), []byte("contents of "+f+" "+base), 0o644); err != nil {
			t.Fatal(err)
		}
		r.files = append(r.files, f)
	}
	return r
}

func credentials(e *tbenv.Env) string {
	var lines []string
	for _, r := range e.Registries() {
		lines = append(lines, r.Host+"="+r.User+":"+r.Password)
	}
	return strings.Join(lines, "\n")
}

// TestSignRelease signs a whole release in one step, as a release workflow
// does, once per log, and checks it with the reference clients.
func TestSignRelease(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	tests := []struct {
		name          string
		signingConfig string
		format        string
		want          []artifact.Format
		rekorVersion  int
	}{
		{name: "rekor-v1", signingConfig: e.SigningConfig, format: "both", want: []artifact.Format{artifact.FormatBundle, artifact.FormatLegacy}, rekorVersion: 1},
		{name: "rekor-v2-tsa", signingConfig: e.SigningConfigV2, format: "bundle", want: []artifact.Format{artifact.FormatBundle}, rekorVersion: 2},
		{name: "rekor-v1-legacy", signingConfig: e.SigningConfig, format: "legacy", want: []artifact.Format{artifact.FormatLegacy}, rekorVersion: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := pushRelease(t, e)
			runID := tbenv.UniqueRunID(t)
			s := &step{
				dir: r.dir,
				inputs: map[string]string{
					"mode":                 "sign",
					"images":               strings.Join(r.refs, "\n"),
					"files":                "dist/*",
					"format":               tc.format,
					"signing-config":       tc.signingConfig,
					"trusted-root":         e.TrustedRoot,
					"registry-credentials": credentials(e),
					"github-token":         "ghs_notusedonthebed",
				},
				// ToolEnv's proxy fails the test if sigil reaches for the internet.
				env: append(e.ToolEnv(t), e.ActionsEnv(tbenv.Claims{"run_id": {runID}})...),
			}
			runAction(t, s)
			if s.code != 0 {
				t.Fatalf("sigil exited %d:\n%s", s.code, s.stdout)
			}
			// One token, so one certificate, for the whole run.
			if n := e.TokensMinted(t, runID); n != 1 {
				t.Errorf("the run requested %d identity tokens, want 1", n)
			}
			identity := tbenv.Identity("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.0.0")
			if got := s.outputs["certificate-identity"]; got != identity {
				t.Errorf("certificate-identity = %q, want %q", got, identity)
			}
			if got := s.outputs["certificate-oidc-issuer"]; got != e.Issuer {
				t.Errorf("certificate-oidc-issuer = %q, want %q", got, e.Issuer)
			}
			for _, secret := range []string{e.GHCR.Password, e.DockerHub.Password, "ghs_notusedonthebed"} {
				if strings.Contains(unmasked(s.stdout), secret) || strings.Contains(s.summary, secret) {
					t.Errorf("a secret reached the log or the summary")
				}
			}
			var res sign.Result
			if err := json.Unmarshal([]byte(s.outputs["signatures"]), &res); err != nil {
				t.Fatalf("signatures output: %v", err)
			}
			checkResult(t, r, res, tc.want, tc.rekorVersion)
			if want := "dist/app_linux_amd64.tar.gz.sigstore.json\ndist/checksums.txt.sigstore.json"; s.outputs["bundles"] != want {
				t.Errorf("bundles = %q, want %q", s.outputs["bundles"], want)
			}
			for _, want := range []string{"## sigil sign", "cosign verify ", "sigil verify ", identity} {
				if !strings.Contains(s.summary, want) {
					t.Errorf("summary lacks %q:\n%s", want, s.summary)
				}
			}
			if !strings.Contains(s.stdout, "::group::") {
				t.Errorf("log has no ::group:: per image:\n%s", s.stdout)
			}

			id := []string{"--certificate-identity", identity, "--certificate-oidc-issuer", e.Issuer}
			for _, d := range append(slices.Clone(r.digests), r.children...) {
				if slices.Contains(tc.want, artifact.FormatBundle) {
					out, err := cosign(t, e, e.Cosign3, nil, append(append([]string{"verify", "--trusted-root", e.TrustedRoot, "--allow-http-registry"}, id...), d.String())...)
					if err != nil {
						t.Errorf("cosign v3 verify %s (bundle): %v\n%s", d, err, out)
					}
				}
				if slices.Equal(tc.want, []artifact.Format{artifact.FormatLegacy}) {
					// cosign 2.6 prefers bundles when an image has any, so the
					// legacy .sig is checked on a legacy-only run.
					out, err := cosign(t, e, e.Cosign2, []string{"SIGSTORE_ROOT_FILE=" + e.FulcioRoot, "SIGSTORE_REKOR_PUBLIC_KEY=" + e.RekorPubKey, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + e.CTLogPubKey},
						append(append([]string{"verify", "--allow-http-registry"}, id...), d.String())...)
					if err != nil || !strings.Contains(out, "cosign container image signature") {
						t.Errorf("cosign v2 verify %s (legacy): %v\n%s", d, err, out)
					}
				}
			}
			for _, f := range r.files {
				p := filepath.Join(r.dir, f)
				out, err := cosign(t, e, e.Cosign3, nil, append(append([]string{"verify-blob", "--trusted-root", e.TrustedRoot, "--bundle", p + ".sigstore.json"}, id...), p)...)
				if err != nil {
					t.Errorf("cosign v3 verify-blob %s: %v\n%s", f, err, out)
				}
			}
			checkVerifyAction(t, e, r, tc.format)
			checkVerifyDigests(t, e, r)
			checkMergeAction(t, s.outputs["signatures"], tc.format != "bundle")

			// A wrong identity is refused: the checks above are not vacuous.
			wrong := []string{"--certificate-identity", tbenv.Identity("sigil-dev/demo", ".github/workflows/other.yml", "refs/tags/v1.0.0"), "--certificate-oidc-issuer", e.Issuer}
			if out, err := cosign(t, e, e.Cosign3, nil, append(append([]string{"verify-blob", "--trusted-root", e.TrustedRoot, "--bundle", filepath.Join(r.dir, r.files[0]) + ".sigstore.json"}, wrong...), filepath.Join(r.dir, r.files[0]))...); err == nil {
				t.Errorf("cosign accepted a wrong identity:\n%s", out)
			}
		})
	}
}

// checkResult checks the signatures output against what was pushed.
func checkResult(t *testing.T, r release, res sign.Result, want []artifact.Format, rekorVersion int) {
	t.Helper()
	got := map[string]sign.Image{}
	for _, img := range res.Images {
		got[img.Repository+"@"+img.Digest] = img
	}
	all := append(slices.Clone(r.digests), r.children...)
	if len(res.Images) != len(all) {
		t.Errorf("signed %d manifests, want %d (3 images + 2 platform manifests, in 2 registries)", len(res.Images), len(all))
	}
	for _, d := range all {
		img, ok := got[d.Context().Name()+"@"+d.DigestStr()]
		if !ok {
			t.Errorf("%s was not signed", d)
			continue
		}
		var formats []artifact.Format
		for _, s := range img.Signatures {
			formats = append(formats, s.Format)
			if s.Location == "" || s.ReadBack == "" {
				t.Errorf("%s: %s signature has no location or was not read back: %+v", d, s.Format, s)
			}
			wantV := rekorVersion
			if s.Format == artifact.FormatLegacy {
				wantV = 1
			}
			if s.Log.Version != wantV || s.Log.URL == "" {
				t.Errorf("%s: %s signature logged in %+v, want Rekor v%d", d, s.Format, s.Log, wantV)
			}
		}
		if !slices.Equal(formats, want) {
			t.Errorf("%s: formats %v, want %v", d, formats, want)
		}
	}
	if len(res.Files) != len(r.files) {
		t.Errorf("signed %d files, want %d", len(res.Files), len(r.files))
	}
}

// TestSignRefusesBadRuns checks the errors a user can hit: each names what
// failed and what to do, and nothing is signed or pushed.
func TestSignRefusesBadRuns(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	repo := tbenv.UniqueRepo(t)
	good := e.GHCR.PushImage(t, repo, "v1", tbenv.RandomImage(t))
	base := func() map[string]string {
		return map[string]string{
			"images":               e.GHCR.Tag(t, repo, "v1").String(),
			"signing-config":       e.SigningConfig,
			"trusted-root":         e.TrustedRoot,
			"registry-credentials": credentials(e),
		}
	}
	with := func(k, v string) map[string]string {
		m := base()
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		inputs  map[string]string
		noToken bool
		want    []string
	}{
		{name: "no id-token permission", inputs: base(), noToken: true, want: []string{"id-token: write"}},
		{name: "tag does not exist", inputs: with("images", e.GHCR.Tag(t, repo, "v1").String()+"\n"+e.GHCR.Tag(t, repo, "nope").String()), want: []string{"does not exist", ":nope"}},
		{name: "registry refuses credentials", inputs: with("registry-credentials", e.GHCR.Host+"=sigil:wrong-password"), want: []string{"refused the credentials", e.GHCR.Host, "registry-credentials"}},
		{name: "bad reference", inputs: with("images", "Not A Reference"), want: []string{"not a valid reference"}},
		{name: "legacy needs rekor v1", inputs: with("signing-config", e.SigningConfigV2), want: []string{"legacy", "Rekor v1", "format: bundle"}},
		{name: "unknown mode", inputs: with("mode", "attest"), want: []string{`mode "attest"`}},
		{name: "glob matches nothing", inputs: with("files", "dist/*.zip"), want: []string{"matches no file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &step{inputs: tc.inputs}
			s.env = e.ToolEnv(t)
			if !tc.noToken {
				s.env = append(s.env, e.ActionsEnv(nil)...)
			}
			runAction(t, s)
			if s.code == 0 {
				t.Fatalf("sigil succeeded, want a failure:\n%s", s.stdout)
			}
			if !strings.Contains(s.stdout, "::error::") {
				t.Errorf("no ::error:: annotation:\n%s", s.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(s.stdout, w) {
					t.Errorf("the error does not mention %q:\n%s", w, s.stdout)
				}
			}
			if strings.Contains(unmasked(s.stdout), e.GHCR.Password) {
				t.Errorf("a password reached the log")
			}
		})
	}
	// None of the failed runs wrote a signature.
	tag := good.Context().Tag(strings.Replace(good.DigestStr(), ":", "-", 1) + ".sig")
	if _, err := remote.Head(tag, remote.WithAuth(e.GHCR.Authenticator())); err == nil {
		t.Errorf("a failed run pushed %s", tag)
	}
	idx, err := remote.Referrers(good, remote.WithAuth(e.GHCR.Authenticator()))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := idx.IndexManifest(); m != nil && len(m.Manifests) > 0 {
		t.Errorf("a failed run attached %d referrers to %s", len(m.Manifests), good)
	}
}

// unmasked is the log without its ::add-mask:: commands, which name the
// secrets for the runner to hide.
func unmasked(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// checkVerifyAction runs sigil's verify mode as a downstream job would,
// with GitHub presets, over everything the release signed, and once with a
// workflow that did not sign it.
func checkVerifyAction(t *testing.T, e *tbenv.Env, r release, format string) {
	t.Helper()
	var refs []string
	for _, d := range r.digests {
		refs = append(refs, d.String())
	}
	verifyFormat := map[string]string{"both": "any", "bundle": "bundle", "legacy": "legacy"}[format]
	for _, tc := range []struct {
		workflow string
		wantOK   bool
	}{
		{".github/workflows/release.yml", true},
		{".github/workflows/nightly.yml", false},
	} {
		s := &step{
			dir: r.dir,
			inputs: map[string]string{
				"mode":                    "verify",
				"images":                  strings.Join(refs, "\n"),
				"files":                   "dist/app_linux_amd64.tar.gz, dist/checksums.txt",
				"repository":              "sigil-dev/demo",
				"workflow":                tc.workflow,
				"ref":                     "refs/tags/v*",
				"certificate-oidc-issuer": e.Issuer,
				"trusted-root":            e.TrustedRoot,
				"format":                  verifyFormat,
				"recursive":               "true",
				"registry-credentials":    credentials(e),
			},
		}
		runAction(t, s)
		if got := s.outputs["verified"]; got != fmt.Sprint(tc.wantOK) || (s.code == 0) != tc.wantOK {
			t.Errorf("verify as %s: exit %d, verified=%q, want %v:\n%s", tc.workflow, s.code, got, tc.wantOK, s.stdout)
			continue
		}
		var report struct {
			Verified  bool
			Artifacts []struct {
				Reference string
				Passed    bool
			}
		}
		if err := json.Unmarshal([]byte(s.outputs["report"]), &report); err != nil {
			t.Fatalf("report output: %v", err)
		}
		// 6 top-level manifests, the index's 2 platform manifests in each of
		// the 2 registries, and 2 files.
		if want := len(r.digests) + len(r.children) + len(r.files); len(report.Artifacts) != want {
			t.Errorf("report has %d artifacts, want %d", len(report.Artifacts), want)
		}
		if !tc.wantOK && !strings.Contains(s.stdout, "identity failed") {
			t.Errorf("the failure does not name the identity check:\n%s", s.stdout)
		}
		if !strings.Contains(s.summary, "## sigil verify") {
			t.Errorf("no verify summary")
		}
	}
}

// checkVerifyDigests verifies a release file by its digest alone, as a
// consumer who holds the digest and the bundle but not the file: the right
// digest passes, another is refused, naming the claims.
func checkVerifyDigests(t *testing.T, e *tbenv.Env, r release) {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(r.dir, "dist", "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	for _, tc := range []struct {
		digest string
		wantOK bool
	}{
		{fmt.Sprintf("sha256:%x", sum), true},
		{fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("another file"))), false},
	} {
		s := &step{dir: r.dir, inputs: map[string]string{
			"mode":                    "verify",
			"digests":                 tc.digest + "=dist/checksums.txt.sigstore.json",
			"repository":              "sigil-dev/demo",
			"certificate-oidc-issuer": e.Issuer,
			"trusted-root":            e.TrustedRoot,
		}}
		runAction(t, s)
		if got := s.outputs["verified"]; got != fmt.Sprint(tc.wantOK) || (s.code == 0) != tc.wantOK {
			t.Errorf("verify digest %s: exit %d, verified=%q, want %v:\n%s", tc.digest, s.code, got, tc.wantOK, s.stdout)
		}
		if !tc.wantOK && !strings.Contains(s.stdout, "claims failed") {
			t.Errorf("the failure does not name the claims check:\n%s", s.stdout)
		}
	}
}

// checkMergeAction merges the run's signatures output, as the last job of a
// release matrix does, and checks the policies and summary it writes.
func checkMergeAction(t *testing.T, signatures string, wantPolicies bool) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "signatures-source-controller.json"), []byte(signatures), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &step{dir: dir, inputs: map[string]string{"mode": "merge", "reports": "signatures-*.json"}}
	runAction(t, s)
	if s.code != 0 {
		t.Fatalf("merge exited %d:\n%s", s.code, s.stdout)
	}
	if s.outputs["policies"] != "sigil-policies" || !strings.Contains(s.summary, "signing run(s) merged") {
		t.Errorf("merge: policies=%q, summary:\n%s", s.outputs["policies"], s.summary)
	}
	_, err := os.Stat(filepath.Join(dir, "sigil-policies", "kyverno-clusterpolicy.yaml"))
	if (err == nil) != wantPolicies {
		t.Errorf("merge wrote Kyverno policy: %v, want %v", err == nil, wantPolicies)
	}
}
