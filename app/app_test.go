package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func dg(c string) string { return "sha256:" + strings.Repeat(c, 64) }

func sampleSigned() *Signed {
	log := func(i int64) artifact.LogEntry {
		t := time.Unix(1700000000, 0).UTC()
		return artifact.LogEntry{URL: "https://rekor.example", Version: 1, Index: i, LogID: "c0d23d6a", IntegratedTime: &t, EntryURL: "https://rekor.example/api/v1/log/entries?logIndex=1"}
	}
	return &Signed{
		TrustedRoot: "trusted_root.json",
		PolicyDir:   "sigil-policies",
		Result: sign.Result{
			Identity: artifact.Identity{Subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0", Issuer: "https://token.actions.githubusercontent.com"},
			Images: []sign.Image{
				{Target: artifact.Target{Reference: "ghcr.io/org/app:v1", Repository: "ghcr.io/org/app", Digest: dg("a")}, Signatures: []sign.Signature{
					{Format: artifact.FormatBundle, Location: "ghcr.io/org/app@" + dg("b"), ReadBack: sign.ReadBackReferrers, Log: log(10)},
					{Format: artifact.FormatLegacy, Location: "ghcr.io/org/app:sha256-" + strings.Repeat("a", 64) + ".sig", ReadBack: sign.ReadBackLegacyTag, Log: log(11)},
				}},
				{Target: artifact.Target{Reference: "ghcr.io/org/app:v1", Repository: "ghcr.io/org/app", Digest: dg("c"), Platform: "linux/arm64", Index: dg("a")}, Signatures: []sign.Signature{
					{Format: artifact.FormatLegacy, Location: "ghcr.io/org/app:sha256-" + strings.Repeat("c", 64) + ".sig", ReadBack: sign.ReadBackLegacyTag, Log: log(12)},
				}},
				{Target: artifact.Target{Reference: "docker.io/org/app:v1", Repository: "index.docker.io/org/app", Digest: dg("a")}, Signatures: []sign.Signature{
					{Format: artifact.FormatLegacy, Location: "index.docker.io/org/app:sha256-" + strings.Repeat("a", 64) + ".sig", ReadBack: sign.ReadBackLegacyTag, Log: log(13)},
				}},
			},
			Files: []sign.File{{Path: "dist/app_linux_amd64.tar.gz", SHA256: "0123", Bundle: "dist/app_linux_amd64.tar.gz.sigstore.json", Log: log(14)}},
		},
	}
}

// sampleAttested is sampleSigned with provenance and an SBOM attested to
// the index, the provenance of its platform manifest, one of them already
// there, and the provenance of the file.
func sampleAttested() *Signed {
	s := sampleSigned()
	imgs := s.Result.Images
	le := func(i int64) artifact.LogEntry { l := imgs[0].Signatures[0].Log; l.Index = i; return l }
	imgs[0].Attestations = []sign.Signature{
		{Format: artifact.FormatBundle, PredicateType: provenance.PredicateType, Location: "ghcr.io/org/app@" + dg("d"), ReadBack: sign.ReadBackReferrers, Log: le(20)},
		{Format: artifact.FormatLegacy, PredicateType: provenance.PredicateType, Location: "ghcr.io/org/app:sha256-" + strings.Repeat("a", 64) + ".att", ReadBack: sign.ReadBackAttestationTag, Log: le(20)},
		{Format: artifact.FormatBundle, PredicateType: attestation.SPDXPredicateType, Location: "ghcr.io/org/app@" + dg("e"), ReadBack: sign.ReadBackReferrers, Log: le(21), AlreadySigned: true},
	}
	imgs[1].Attestations = []sign.Signature{
		{Format: artifact.FormatLegacy, PredicateType: provenance.PredicateType, Location: "ghcr.io/org/app:sha256-" + strings.Repeat("c", 64) + ".att", ReadBack: sign.ReadBackAttestationTag, Log: le(22)},
	}
	s.Result.FileAttestations = []sign.FileAttestation{{PredicateType: provenance.PredicateType, Kind: "provenance", Files: []string{s.Result.Files[0].Path},
		Bundle: "dist/" + sign.ProvenanceBundle, Log: le(23)}}
	return s
}

func TestSignSummaryGolden(t *testing.T) {
	t.Parallel()
	golden(t, "sign-summary.md", SignSummary(sampleSigned()))
	golden(t, "sign-summary-attested.md", SignSummary(sampleAttested()))
}

func TestSignOutputsGolden(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	env := map[string]string{"GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": summary}
	var stdout bytes.Buffer
	rt, err := ghaction.New(ghaction.WithGetenv(func(k string) string { return env[k] }), ghaction.WithStdout(&stdout), ghaction.WithRandom(bytes.NewReader(bytes.Repeat([]byte{7}, 4096))))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSignOutputs(rt, sampleAttested()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sign-outputs.txt", string(b))
	golden(t, "sign-stdout.txt", stdout.String())
}

func TestExpandFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"dist/a.tar.gz", "dist/b.tar.gz", "dist/a.tar.gz.sigstore.json", "dist/sub/c.zip", "checksums.txt"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(f), 0o644)
	}
	j := func(p ...string) []string {
		for i := range p {
			p[i] = filepath.Join(dir, p[i])
		}
		return p
	}
	tests := []struct {
		name    string
		globs   []string
		want    []string
		wantErr string
	}{
		{name: "star", globs: j("dist/*.tar.gz"), want: j("dist/a.tar.gz", "dist/b.tar.gz")},
		{name: "doublestar", globs: j("dist/**"), want: j("dist/a.tar.gz", "dist/b.tar.gz", "dist/sub/c.zip")},
		{name: "doublestar suffix", globs: j("**/*.zip"), want: j("dist/sub/c.zip")},
		{name: "dedup", globs: j("checksums.txt", "check*"), want: j("checksums.txt")},
		{name: "no match", globs: j("dist/*.deb"), wantErr: "matches no file"},
		{name: "only bundles", globs: j("dist/*.json"), wantErr: "matches no file"},
		{name: "bad pattern", globs: []string{"[x"}, wantErr: "syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ExpandFiles(tc.globs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func fakeToken(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestGuardPublicLog(t *testing.T) {
	t.Parallel()
	public := trust.Services{RekorURL: "https://rekor.sigstore.dev", LegacyRekorURL: "https://rekor.sigstore.dev"}
	private := trust.Services{RekorURL: "http://127.0.0.1:3000"}
	tests := []struct {
		name     string
		services trust.Services
		allow    bool
		claims   string
		wantErr  bool
	}{
		{"private repo, public log", public, false, `{"repository_visibility":"private"}`, true},
		{"private repo, public log, opted in", public, true, `{"repository_visibility":"private"}`, false},
		{"public repo, public log", public, false, `{"repository_visibility":"public"}`, false},
		{"internal repo, public log", public, false, `{"repository_visibility":"internal"}`, false},
		{"private repo, private log", private, false, `{"repository_visibility":"private"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := fakeToken(tc.claims)
			f := guardPublicLog(func(context.Context) (string, error) { return tok, nil }, tc.services, tc.allow, actionInputs{}.name)
			got, err := f(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "allow-public-log") || strings.Contains(err.Error(), tok) {
					t.Errorf("error must name the input and never the token: %v", err)
				}
			} else if got != tok {
				t.Errorf("token changed")
			}
		})
	}
}

// failingTransport fails the test on any request: a run refused for its
// inputs must contact nothing.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("a refused run sent %s %s", r.Method, r.URL)
	return nil, errors.New("no requests here")
}

// runAction runs the action with inputs (names without INPUT_), a trusted
// root on disk and an identity token source that fails the test, so that
// nothing is contacted; it returns the exit code and what was printed.
func runAction(t *testing.T, inputs map[string]string) (int, string) {
	t.Helper()
	tr := filepath.Join("..", "policy", "testdata", "private-no-ct.trusted_root.json")
	getenv := func(k string) string {
		if k == "INPUT_TRUSTED-ROOT" {
			if v, ok := inputs["TRUSTED-ROOT"]; ok {
				return v
			}
			return tr
		}
		if strings.HasPrefix(k, "ACTIONS_ID_TOKEN_REQUEST_") {
			return "http://127.0.0.1:9/token?x"
		}
		return inputs[strings.TrimPrefix(k, "INPUT_")]
	}
	var stdout bytes.Buffer
	rt, err := ghaction.New(ghaction.WithGetenv(getenv), ghaction.WithStdout(&stdout))
	if err != nil {
		t.Fatal(err)
	}
	env := Env{
		Transport: failingTransport{t},
		IDToken: func(context.Context) (string, error) {
			t.Error("a refused run asked for an identity token")
			return "", errors.New("no token")
		},
	}
	return Action(t.Context(), rt, getenv, env), stdout.String()
}

func TestActionRefusesBadInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		inputs  map[string]string
		wantErr string
	}{
		{"nothing to sign", map[string]string{}, "nothing to sign"},
		{"bad format", map[string]string{"IMAGES": "a/b:c", "FORMAT": "sbom"}, `input format: "sbom": want both, bundle or legacy`},
		{"verify format in sign", map[string]string{"IMAGES": "a/b:c", "FORMAT": "any"}, `input format: "any"`},
		{"bad bool", map[string]string{"IMAGES": "a/b:c", "RECURSIVE": "yes please"}, "input recursive"},
		{"bad concurrency", map[string]string{"IMAGES": "a/b:c", "CONCURRENCY": "many"}, "input concurrency"},
		{"zero concurrency", map[string]string{"IMAGES": "a/b:c", "CONCURRENCY": "0"}, "input concurrency: 0: want 1 to 256"},
		{"bad credentials", map[string]string{"IMAGES": "a/b:c", "REGISTRY-CREDENTIALS": "docker.io=nopassword"}, "input registry-credentials"},
		{"annotations without legacy", map[string]string{"IMAGES": "a/b:c", "FORMAT": "bundle", "ANNOTATIONS": "a=b"}, "use format: both or format: legacy"},
		{"bad annotation", map[string]string{"IMAGES": "a/b:c", "ANNOTATIONS": "novalue"}, "input annotations"},
		{"bad policy-refs", map[string]string{"IMAGES": "a/b:c", "POLICY-REFS": "branches"}, "input policy-refs"},
		{"bad fulcio url", map[string]string{"IMAGES": "a/b:c", "FULCIO-URL": "ftp://x"}, "input fulcio-url"},
		{"missing trusted root", map[string]string{"IMAGES": "a/b:c", "TRUSTED-ROOT": "/nonexistent.json"}, "input trusted-root"},
		{"unknown mode", map[string]string{"MODE": "attest"}, `input mode "attest": want sign, verify or merge`},
		{"verify without identity", map[string]string{"MODE": "verify", "IMAGES": "a/b:c"}, "no identity to check"},
		{"verify bad format", map[string]string{"MODE": "verify", "IMAGES": "a/b:c", "REPOSITORY": "o/r", "FORMAT": "both"}, `input format: "both": want any, bundle or legacy`},
		{"merge nothing", map[string]string{"MODE": "merge"}, "nothing to merge"},
		{"sbom line without an image", map[string]string{"IMAGES": "a/b:c", "SBOMS": "=sbom.json"}, "input sboms: line 1: nothing before '='"},
		{"predicates without their type", map[string]string{"IMAGES": "a/b:c", "PREDICATES": "p.json"}, "input predicate-type: input predicates gives custom predicates without their type"},
		{"a predicate type that is no URI", map[string]string{"IMAGES": "a/b:c", "PREDICATES": "p.json", "PREDICATE-TYPE": "test-result"}, `input predicate-type: predicate type "test-result": want an absolute URI`},
		{"a predicate type without predicates", map[string]string{"IMAGES": "a/b:c", "PREDICATE-TYPE": "https://example.com/t/v1"}, "input predicates"},
		{"verify an unknown attestation", map[string]string{"MODE": "verify", "IMAGES": "a/b:c", "REPOSITORY": "o/r", "ATTESTATIONS": "slsa"}, `input attestations: predicate type "slsa": want an absolute URI`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out := runAction(t, tc.inputs)
			if code != 1 || !strings.Contains(out, "::error::") || !strings.Contains(out, tc.wantErr) {
				t.Fatalf("exit %d, output %q; want 1 and an ::error:: mentioning %q", code, out, tc.wantErr)
			}
			if strings.Contains(out, "nopassword") {
				t.Errorf("output leaks a secret: %v", out)
			}
		})
	}
}

func TestRunMerge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := sampleSigned().Result
	b := sampleSigned().Result
	b.Identity.Subject = "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.1"
	b.Images = b.Images[:1]
	b.Files = nil
	for i, r := range []sign.Result{a, b} {
		js, _ := json.Marshal(r)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("signatures-%d.json", i)), js, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "garbage.json"), []byte("{not json"), 0o644)
	policies := filepath.Join(dir, "policies")
	m, err := RunMerge(MergeConfig{Reports: []string{filepath.Join(dir, "signatures-*.json")}, PolicyDir: policies})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Combined.Images) != 4 || len(m.Identities) != 2 {
		t.Errorf("merged %d images and %d identities, want 4 and 2", len(m.Combined.Images), len(m.Identities))
	}
	for _, f := range []string{"kyverno-clusterpolicy.yaml", "policy-controller-clusterimagepolicy.yaml", "flux-ocirepository-verify.yaml"} {
		body, err := os.ReadFile(filepath.Join(policies, f))
		if err != nil {
			t.Errorf("policy %s: %v", f, err)
			continue
		}
		// By default the policies admit the signing workflow at any tag.
		if workflow := regexp.QuoteMeta("https://github.com/org/app/.github/workflows/release.yml") + "@refs/tags/"; !strings.Contains(string(body), workflow) || strings.Contains(string(body), "v1.0.1") {
			t.Errorf("%s does not admit the release workflow at any tag:\n%s", f, body)
		}
	}
	exact := filepath.Join(dir, "exact")
	if _, err := RunMerge(MergeConfig{Reports: []string{filepath.Join(dir, "signatures-*.json")}, PolicyDir: exact, PolicyRefs: PolicyRefsExact}); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(exact, "kyverno-clusterpolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range m.Identities {
		if !strings.Contains(string(body), "subject: "+id.Subject) {
			t.Errorf("exact policies do not pin %s:\n%s", id.Subject, body)
		}
	}
	golden(t, "merge-summary.md", strings.ReplaceAll(MergeSummary(m), dir, "DIR"))

	if _, err := RunMerge(MergeConfig{Reports: []string{filepath.Join(dir, "garbage.json")}, PolicyDir: policies}); err == nil || !strings.Contains(err.Error(), "not a sigil signatures output") {
		t.Errorf("garbage report: err = %v", err)
	}
	if _, err := RunMerge(MergeConfig{}); err == nil {
		t.Error("merging nothing succeeded")
	}
}

// mustRuntime is a Runtime reading env (names as the runner sets them)
// and writing to a discarded buffer.
func mustRuntime(t *testing.T, env map[string]string) *ghaction.Runtime {
	t.Helper()
	rt, err := ghaction.New(ghaction.WithGetenv(func(k string) string { return env[k] }), ghaction.WithStdout(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestDockerConfigInAContainer: a DOCKER_CONFIG given as a runner path
// under the workspace is read inside the container; one that holds no
// config.json is a warning, not a failure.
func TestDockerConfigInAContainer(t *testing.T) {
	t.Parallel()
	rt := mustRuntime(t, map[string]string{
		"DOCKER_CONFIG":     "/home/runner/work/app/app/.docker",
		"GITHUB_WORKSPACE":  "/github/workspace",
		"RUNNER_WORKSPACE":  "/home/runner/work/app",
		"GITHUB_REPOSITORY": "org/app",
	})
	if got := (actionInputs{rt: rt}).env(EnvDockerConfig); got != "/github/workspace/.docker" {
		t.Errorf("DOCKER_CONFIG read as %q in the container", got)
	}
	var warnings []string
	env := Env{Warn: func(s string) { warnings = append(warnings, s) }}
	env.defaults(0, "")
	tr := filepath.Join("..", "policy", "testdata", "private-no-ct.trusted_root.json")
	d, err := setUp(t.Context(), Artifacts{TrustedRoot: tr, RegistryConfig: RegistryConfig{DockerConfigDir: filepath.Join(t.TempDir(), "missing")}}, false, false, env)
	if err != nil || d.auth.DockerConfigDir != "" {
		t.Fatalf("a missing Docker config failed the run (%v) or was kept (%q)", err, d.auth.DockerConfigDir)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "holds no config.json") {
		t.Errorf("warnings %q", warnings)
	}
}

// TestSignRefusesBadDocuments: an SBOM or predicate that is not what it
// says, names nothing of the step, or is too large for any log fails the
// step before anything is contacted, naming the input, the line and the
// file (runAction fails the test on any request or token).
func TestSignRefusesBadDocuments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spdx := write("app.spdx.json", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`)
	notJSON := write("broken.spdx.json", `{"spdxVersion":`)
	cdxNamedSPDX := write("other.spdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.6"}`)
	huge := write("huge.spdx.json", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","pad":"`+strings.Repeat("x", 19<<20)+`"}`)
	tests := []struct {
		name   string
		inputs map[string]string
		want   []string
	}{
		{"names an image the step does not sign", map[string]string{"IMAGES": "ghcr.io/org/app:v1", "SBOMS": "ghcr.io/org/other:v1=" + spdx},
			[]string{"input sboms", "line 1", "names no image or file of this step", "ghcr.io/org/app:v1"}},
		{"not JSON", map[string]string{"IMAGES": "ghcr.io/org/app:v1", "SBOMS": notJSON}, []string{"input sboms", "line 1", notJSON}},
		{"another kind than its name", map[string]string{"IMAGES": "ghcr.io/org/app:v1", "SBOMS": cdxNamedSPDX}, []string{"input sboms", cdxNamedSPDX, "CycloneDX"}},
		{"too large for the log", map[string]string{"IMAGES": "ghcr.io/org/app:v1", "SBOMS": "ghcr.io/org/app:v1=" + huge}, []string{"input sboms", huge, "MiB"}},
		{"a custom predicate that is no object", map[string]string{"IMAGES": "ghcr.io/org/app:v1", "PREDICATE-TYPE": "https://example.com/t/v1", "PREDICATES": write("p.json", `[1]`)},
			[]string{"input predicates", "p.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out := runAction(t, tc.inputs)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("the output does not say %q:\n%s", w, out)
				}
			}
		})
	}
}
