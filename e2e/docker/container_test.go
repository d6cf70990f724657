package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/verify"
)

// TestContainerSignAndVerify runs the action image as a release job's sign
// step — an image on both registries and a release file in the workspace —
// then as a consumer's verify steps, and reads every result back from the
// file commands and the workspace, as the next steps of a job would.
func TestContainerSignAndVerify(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	d := loadDaemon(t, e)
	image := actionImage(t, d)

	repo := tbenv.UniqueRepo(t)
	digests := e.PushRandomImage(t, repo, "v1.0.0")
	var tags, creds []string
	for _, r := range e.Registries() {
		tags = append(tags, r.Tag(t, repo, "v1.0.0").String())
		creds = append(creds, r.Host+"="+r.User+":"+r.Password)
	}
	ws := t.TempDir()
	// A workflow names trust files by their path in the checkout.
	for src, dst := range map[string]string{e.TrustedRoot: ".sigstore/trusted_root.json", e.SigningConfig: ".sigstore/signing_config.json"} {
		copyFile(t, src, filepath.Join(ws, dst))
	}
	archive := "dist/demo_linux_amd64.tar.gz"
	if err := os.MkdirAll(filepath.Join(ws, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, archive), []byte("an archive of "+repo), 0o644); err != nil {
		t.Fatal(err)
	}

	runID := tbenv.UniqueRunID(t)
	s := &step{
		workspace: ws,
		inputs: map[string]string{
			"mode":                 "sign",
			"images":               strings.Join(tags, "\n"),
			"files":                "dist/*",
			"signing-config":       ".sigstore/signing_config.json",
			"trusted-root":         ".sigstore/trusted_root.json",
			"registry-credentials": strings.Join(creds, "\n"),
			"github-token":         "ghs_notusedonthebed",
			// The defaults action.yml gives.
			"concurrency":      "16",
			"allow-public-log": "false",
			"policies-dir":     "sigil-policies",
		},
		env: e.ActionsEnv(tbenv.Claims{"run_id": {runID}}),
	}
	d.runAction(t, image, s)
	if s.code != 0 {
		t.Fatalf("the sign step exited %d:\n%s", s.code, s.log)
	}
	if n := e.TokensMinted(t, runID); n != 1 {
		t.Errorf("the step requested %d identity tokens, want 1", n)
	}
	identity := tbenv.Identity("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.0.0")
	if got := s.outputs["certificate-identity"]; got != identity {
		t.Errorf("certificate-identity = %q, want %q", got, identity)
	}
	if got := s.outputs["certificate-oidc-issuer"]; got != e.Issuer {
		t.Errorf("certificate-oidc-issuer = %q, want %q", got, e.Issuer)
	}
	var res sign.Result
	if err := json.Unmarshal([]byte(s.outputs["signatures"]), &res); err != nil {
		t.Fatalf("signatures output: %v\n%s", err, s.outputs["signatures"])
	}
	var signed []string
	for _, img := range res.Images {
		signed = append(signed, img.Repository+"@"+img.Digest)
		var formats []artifact.Format
		for _, sg := range img.Signatures {
			formats = append(formats, sg.Format)
			if sg.ReadBack == "" || sg.Log.URL == "" {
				t.Errorf("%s: %s signature not read back or not logged: %+v", img.Repository, sg.Format, sg)
			}
		}
		if want := []artifact.Format{artifact.FormatBundle, artifact.FormatLegacy}; !slices.Equal(formats, want) {
			t.Errorf("%s: formats %v, want %v", img.Repository, formats, want)
		}
	}
	var want []string
	for _, dg := range digests {
		want = append(want, dg.Context().Name()+"@"+dg.DigestStr())
	}
	slices.Sort(want)
	slices.Sort(signed)
	if diff := cmp.Diff(want, signed); diff != "" {
		t.Errorf("signed images (-want +got):\n%s", diff)
	}
	bundle := archive + artifact.BundleSuffix
	if len(res.Files) != 1 || res.Files[0].Bundle != bundle {
		t.Errorf("signed files %+v, want %s with bundle %s", res.Files, archive, bundle)
	}
	if got := s.outputs["bundles"]; got != bundle {
		t.Errorf("bundles = %q, want %q", got, bundle)
	}
	// What the container wrote lands in the checkout, for the next steps.
	if _, err := os.Stat(filepath.Join(ws, bundle)); err != nil {
		t.Errorf("the bundle is not in the workspace: %v", err)
	}
	if got := s.outputs["policies"]; got != "sigil-policies" {
		t.Errorf("policies = %q, want sigil-policies", got)
	} else if ents, err := os.ReadDir(filepath.Join(ws, got)); err != nil || len(ents) == 0 {
		t.Errorf("no policies in the workspace's %s: %v", got, err)
	}
	if !strings.Contains(s.summary, "sigil sign") || !strings.Contains(s.summary, identity) {
		t.Errorf("the step summary lacks the heading or the identity:\n%s", s.summary)
	}
	checkNoSecrets(t, s, e.GHCR.Password, e.DockerHub.Password, "ghs_notusedonthebed")

	// A reference client accepts what the container signed.
	cosign := exec.CommandContext(t.Context(), e.Cosign3, "verify-blob", "--trusted-root", e.TrustedRoot,
		"--certificate-identity", identity, "--certificate-oidc-issuer", e.Issuer,
		"--bundle", filepath.Join(ws, bundle), filepath.Join(ws, archive))
	cosign.Env = e.ToolEnv(t)
	if out, err := cosign.CombinedOutput(); err != nil {
		t.Errorf("cosign v3 verify-blob of the container's bundle: %v\n%s", err, out)
	}

	// A consumer's job verifies with the GitHub presets, in the same image.
	verifyStep := func(workflow string) *step {
		var refs []string
		for _, dg := range digests {
			refs = append(refs, dg.String())
		}
		return &step{
			workspace: ws,
			inputs: map[string]string{
				"mode":                    "verify",
				"images":                  strings.Join(refs, "\n"),
				"files":                   "dist/*.tar.gz",
				"repository":              "sigil-dev/demo",
				"workflow":                workflow,
				"ref":                     "refs/tags/v*",
				"certificate-oidc-issuer": e.Issuer,
				"trusted-root":            ".sigstore/trusted_root.json",
				"registry-credentials":    strings.Join(creds, "\n"),
				"github-token":            "ghs_notusedonthebed",
			},
		}
	}
	v := verifyStep(".github/workflows/release.yml")
	d.runAction(t, image, v)
	if v.code != 0 || v.outputs["verified"] != "true" {
		t.Fatalf("verify exited %d with verified=%q, want 0 and true:\n%s", v.code, v.outputs["verified"], v.log)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(v.outputs["report"]), &rep); err != nil {
		t.Fatalf("report output: %v", err)
	}
	if !rep.Verified || len(rep.Artifacts) != 3 {
		t.Errorf("report: verified %v with %d artifacts, want true with 3 (2 images, 1 file)", rep.Verified, len(rep.Artifacts))
	}
	checkNoSecrets(t, v, e.GHCR.Password, e.DockerHub.Password)

	// Another workflow of the same repository is refused.
	w := verifyStep(".github/workflows/other.yml")
	d.runAction(t, image, w)
	if w.code == 0 || w.outputs["verified"] != "false" {
		t.Errorf("verify against another workflow exited %d with verified=%q, want a failure and false:\n%s", w.code, w.outputs["verified"], w.log)
	}
	if !strings.Contains(w.log, "::error::") {
		t.Errorf("the failed verify wrote no ::error:: annotation:\n%s", w.log)
	}
}

// TestImage checks the image itself: the entrypoint and user GitHub
// needs, the CLI behind the same entrypoint, the licence, and a binary
// identical to one built on the host from this checkout with the flags the
// Dockerfile documents — the build stage compiles exactly this program.
func TestImage(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	d := loadDaemon(t, e)
	image := actionImage(t, d)

	out, err := d.command(t.Context(), "image", "inspect", "--format", "{{json .Config.User}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Os}}", image).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), `"0:0" ["/usr/local/bin/sigil"] null linux`; got != want {
		t.Errorf("user, entrypoint, cmd, os = %s, want %s", got, want)
	}

	help, err := d.command(t.Context(), "run", "--rm", "--network", "none", image, "sign", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(help), "-images") {
		t.Errorf("docker run IMAGE sign --help: %v\n%s", err, help)
	}

	dir := t.TempDir()
	cid, err := d.command(t.Context(), "create", image).Output()
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(cid))
	t.Cleanup(func() { _ = d.command(context.Background(), "rm", id).Run() }) // t.Context() is done by now
	if out, err := d.command(t.Context(), "cp", id+":/usr/local/bin/sigil", filepath.Join(dir, "in-image")).CombinedOutput(); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	if ents, err := os.ReadDir(filepath.Join(dir)); err != nil || len(ents) != 1 {
		t.Fatalf("docker cp wrote %v: %v", ents, err)
	}
	lic := filepath.Join(t.TempDir(), "LICENSE")
	if out, err := d.command(t.Context(), "cp", id+":/usr/share/doc/sigil/LICENSE", lic).CombinedOutput(); err != nil {
		t.Errorf("the image carries no licence: %v\n%s", err, out)
	} else if fileSHA256(t, lic) != fileSHA256(t, filepath.Join(repoRoot, "LICENSE")) {
		t.Errorf("the image's LICENSE differs from the repository's")
	}
	host := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags=-s -w", "-buildvcs=false", "-o", filepath.Join(dir, "on-host"), ".")
	host.Dir = repoRoot
	host.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := host.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if a, b := fileSHA256(t, filepath.Join(dir, "in-image")), fileSHA256(t, filepath.Join(dir, "on-host")); a != b {
		t.Errorf("the image's binary (sha256 %s) differs from the host's build of this checkout (sha256 %s)", a, b)
	}
}

// checkNoSecrets fails t if a secret appears in the log outside the
// ::add-mask:: commands that ask the runner to hide it, or in the summary.
func checkNoSecrets(t *testing.T, s *step, secrets ...string) {
	t.Helper()
	var log []string
	for _, l := range strings.Split(s.log, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			log = append(log, l)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(strings.Join(log, "\n"), secret) || strings.Contains(s.summary, secret) {
			t.Errorf("a secret reached the log or the summary")
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
