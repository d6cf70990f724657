package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"go.yaml.in/yaml/v3"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/internal/yamltest"
	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// These tests are the acceptance of the generated policies: the real
// Kyverno CLI and policy-controller's tester, on the test bed, must admit an
// image sigil signed as one workflow under the policy generated for that
// workflow, and refuse it under the policy generated for another. Flux's
// source-controller is no command-line tool; cosign v3, the library it
// verifies with, stands in for it, given the Flux file's identity regexps
// and trusted root.

// tools are the cluster-side verifiers testbed/install-verifiers.sh builds.
type tools struct {
	kyverno, policyTester string
}

// findTools locates the verifiers: SIGIL_TB_KYVERNO and
// SIGIL_TB_POLICY_TESTER, else the test bed's cache by the versions pinned
// in testbed/versions.env. Without them the test is skipped, or fails under
// SIGIL_TESTBED=required.
func findTools(t *testing.T) tools {
	t.Helper()
	versions, err := readVersions(filepath.Join("..", "testbed", "versions.env"))
	if err != nil {
		t.Fatalf("reading the pinned versions: %v", err)
	}
	cache := os.Getenv("SIGIL_TB_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "sigil-testbed")
	}
	find := func(env, dir, bin string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		return filepath.Join(cache, dir, bin)
	}
	tl := tools{
		kyverno:      find("SIGIL_TB_KYVERNO", "kyverno-"+versions["KYVERNO_VERSION"], "kyverno"),
		policyTester: find("SIGIL_TB_POLICY_TESTER", "policy-controller-"+versions["POLICY_CONTROLLER_VERSION"], "policy-tester"),
	}
	var missing []string
	for _, p := range []string{tl.kyverno, tl.policyTester} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("the cluster-side verifiers are missing (%s): run testbed/install-verifiers.sh (make verifiers)", strings.Join(missing, ", "))
		if os.Getenv("SIGIL_TESTBED") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return tl
}

func readVersions(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, val, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			v[k] = val
		}
	}
	return v, sc.Err()
}

// runner runs a verifier as a cluster would, but offline: tbenv.ToolEnv
// gives it its own HOME, a Docker config with the bed's credentials, and a
// proxy that fails the test if the tool tries to leave loopback (a TUF
// mirror, the public Rekor).
type runner struct{ env []string }

func newRunner(t *testing.T, e *tbenv.Env) *runner { return &runner{env: e.ToolEnv(t)} }

func (r *runner) run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = r.env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee) && ee.Exited():
		return string(out), ee.ExitCode()
	}
	t.Fatalf("running %s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	return "", -1
}

// signAs signs refs with sigil's sign package as the workflow claims
// describe, in format f, against the bed's Fulcio and Rekor v1.
func signAs(t *testing.T, e *tbenv.Env, claims tbenv.Claims, f artifact.Format, refs ...string) sign.Result {
	t.Helper()
	s := e.Signer(t, e.SigningConfig, claims, sign.WithFormat(f))
	images, err := s.SignImages(t.Context(), refs)
	if err != nil {
		t.Fatalf("signing %v: %v", refs, err)
	}
	id, err := s.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sign.Result{Identity: id, Images: images}
}

// podYAML is a Pod running image, for kyverno apply --resource.
func podYAML(t *testing.T, image string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pod.yaml")
	// The image is a reference the test made: a loopback registry,
	// a lower-case repository and a tag or digest, nothing to quote.
	doc := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\nspec:\n  containers:\n    - name: app\n      image: " + image + "\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeInput(t *testing.T, in policy.Input) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := policy.Write(dir, in); err != nil {
		t.Fatalf("policy.Write: %v", err)
	}
	return dir
}

// verdict is what one tool said of one image under one policy.
type verdict struct {
	out  string
	code int
}

// expect checks what tool said of image: admitted when want is "",
// otherwise refused with want in its output.
func expect(t *testing.T, tool, image string, v verdict, want string) {
	t.Helper()
	switch {
	case want == "" && v.code != 0:
		t.Errorf("%s refused %s (exit %d):\n%s", tool, image, v.code, v.out)
	case want != "" && v.code == 0:
		t.Errorf("%s admitted %s (exit 0):\n%s", tool, image, v.out)
	case want != "" && !strings.Contains(v.out, want):
		t.Errorf("%s refused %s (exit %d), but without %q:\n%s", tool, image, v.code, want, v.out)
	case want != "":
		t.Logf("%s refused, exit %d: %s", tool, v.code, firstLineWith(v.out, want))
	default:
		t.Logf("%s admitted, exit 0", tool)
	}
}

func kyvernoApply(t *testing.T, r *runner, tl tools, dir, image string) verdict {
	t.Helper()
	out, code := r.run(t, tl.kyverno, "apply", filepath.Join(dir, policy.KyvernoFile), "--resource", podYAML(t, image))
	return verdict{out, code}
}

func policyTest(t *testing.T, r *runner, tl tools, dir, image string) verdict {
	t.Helper()
	args := []string{"--policy", filepath.Join(dir, policy.ClusterImagePolicyFile), "--image", image}
	if _, err := os.Stat(filepath.Join(dir, policy.TrustRootFile)); err == nil {
		args = append(args, "--trustroot", filepath.Join(dir, policy.TrustRootFile))
	}
	out, code := r.run(t, tl.policyTester, args...)
	return verdict{out, code}
}

// TestRealTools signs images on the bed with sigil's sign package, as
// several workflows, and checks the policies generated from those runs with
// the real verifiers: each admits what its workflow signed and refuses the
// rest, with the tool's own reason.
func TestRealTools(t *testing.T) {
	e := tbenv.Load(t)
	tl := findTools(t)
	tr, err := trust.LoadTrustedRoot(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, e)

	workflow := func(path string) tbenv.Claims {
		return tbenv.Claims{"repository": {"sigil-dev/demo"}, "workflow_path": {path}, "ref": {"refs/tags/v1.0.0"}, "run_id": {tbenv.UniqueRunID(t)}}
	}
	// A signs the release; B is another workflow of the same repository.
	// Star's workflow file holds a '*', which Kyverno's subject field
	// would take for a wildcard matching A's "release.yml".
	workflowA := workflow(".github/workflows/release.yml")
	workflowB := workflow(".github/workflows/other.yml")
	workflowStar := workflow(".github/workflows/re*ease.yml")
	// A's next release: the same workflow at another tag.
	workflowANext := workflow(".github/workflows/release.yml")
	workflowANext.Set("ref", "refs/tags/v2.0.0")

	// One repository on each registry holding an image per case.
	repo := tbenv.UniqueRepo(t)
	tagged := map[string][]string{} // tag -> reference on each registry, GHCR first
	digests := map[string][]string{}
	for _, tag := range []string{"by-a", "by-a-next", "by-b", "by-star", "bundle-only", "unsigned"} {
		for _, d := range e.PushRandomImage(t, repo, tag) {
			tagged[tag] = append(tagged[tag], d.Context().Tag(tag).String())
			digests[tag] = append(digests[tag], d.String())
		}
	}
	start := time.Now()
	resA := signAs(t, e, workflowA, artifact.FormatBoth, tagged["by-a"]...)
	resB := signAs(t, e, workflowB, artifact.FormatBoth, tagged["by-b"]...)
	resStar := signAs(t, e, workflowStar, artifact.FormatBoth, tagged["by-star"]...)
	resBundle := signAs(t, e, workflowA, artifact.FormatBundle, tagged["bundle-only"]...)
	signAs(t, e, workflowANext, artifact.FormatBoth, tagged["by-a-next"]...)
	t.Logf("signed 4 runs in %s: A as %s, B as %s, Star as %s", time.Since(start).Round(time.Millisecond), resA.Identity.Subject, resB.Identity.Subject, resStar.Identity.Subject)
	if !legacySigned(resA) || legacySigned(resBundle) {
		t.Fatalf("legacySigned: A %v (want true), bundle-only %v (want false)", legacySigned(resA), legacySigned(resBundle))
	}

	inA := policyInput(resA, tr)
	if inA.RekorURL != e.RekorURL {
		t.Errorf("policyInput: RekorURL = %q, want the bed's Rekor v1 %q", inA.RekorURL, e.RekorURL)
	}
	// A merged release: A and B each signed part of it.
	inAB := inA
	inAB.Identities = append(slices.Clone(inA.Identities), policyInput(resB, tr).Identities...)
	inAB.Images = append(slices.Clone(inA.Images), policyInput(resB, tr).Images...)
	dirs := map[string]string{
		"A":    writeInput(t, inA),
		"B":    writeInput(t, policyInput(resB, tr)),
		"AB":   writeInput(t, inAB),
		"Star": writeInput(t, policyInput(resStar, tr)),
	}
	// A's policies loosened to any tag of A's workflow (policy-refs: tags).
	inAnyTag := inA
	inAnyTag.Identities = []artifact.Requirement{policy.AnyTag(inA.Identities[0])}
	dirs["A any tag"] = writeInput(t, inAnyTag)
	// A's policies for two other private instances: one whose trusted root
	// lists no CT log (the tools are told to skip the SCT, but Flux cannot
	// be), and one whose CT log is another than the one that signed the
	// bed's SCTs (every tool must refuse).
	dirs["A no CT"] = writeInput(t, policyInput(resA, e.TrustedRootWith(t, func(pb *prototrustroot.TrustedRoot) { pb.Ctlogs = nil })))
	dirs["A other CT"] = writeInput(t, policyInput(resA, e.TrustedRootWith(t, tbenv.AnotherCTLogKey(t, false))))
	// The control: Star's Kyverno policy as a naive generator would
	// write it, the subject in Kyverno's wildcard field. It admits A's
	// image, which shows why the generated one uses subjectRegExp.
	dirs["naive Star"] = naiveKyverno(t, dirs["Star"], resStar.Identity.Subject)

	// Each tool's verdict: "" accepts; any other value refuses, with
	// that text in the tool's output. A tool missing from a case is not
	// run for it.
	type verdicts map[string]string
	const (
		kyverno = "kyverno"
		pc      = "policy-tester"
		flux    = "flux stand-in (cosign v3)"
	)
	accept := verdicts{kyverno: "", pc: "", flux: ""}
	mismatch := verdicts{kyverno: "subject mismatch", pc: "none of the expected identities matched", flux: "expected SAN value to match regex"}
	cases := []struct {
		name, policy, image string
		byDigest            bool
		want                verdicts
	}{
		{"A's image by tag under A's policy", "A", "by-a", false, accept},
		{"A's image by digest under A's policy", "A", "by-a", true, accept},
		{"B's image under A's policy", "A", "by-b", false, mismatch},
		{"A's image under B's policy", "B", "by-a", false, mismatch},
		{"B's image under the merged A+B policy", "AB", "by-b", false, accept},
		{"A's image under the merged A+B policy", "AB", "by-a", false, accept},
		{"unsigned image under A's policy", "A", "unsigned", false, verdicts{kyverno: "no signatures found", pc: "no signatures found", flux: "no signatures found"}},
		// Kyverno's Cosign attestor and policy-controller read only the
		// legacy .sig; Flux's cosign v3 reads the bundle too.
		{"bundle-only image under A's policy", "A", "bundle-only", false, verdicts{kyverno: "no signatures found", pc: "no signatures found", flux: ""}},
		{"Star's image under Star's policy", "Star", "by-star", false, accept},
		{"A's image under Star's policy", "Star", "by-a", false, mismatch},
		{"control: A's image under the naive Star policy", "naive Star", "by-a", false, verdicts{kyverno: ""}},
		{"A's next release under A's exact policy", "A", "by-a-next", false, mismatch},
		{"A's next release under A's any-tag policy", "A any tag", "by-a-next", false, accept},
		{"A's image under A's any-tag policy", "A any tag", "by-a", false, accept},
		{"B's image under A's any-tag policy", "A any tag", "by-b", false, mismatch},
		// Flux has no switch to skip the SCT check: it refuses, as the
		// Flux file's header says.
		{"A's image under A's policy from a root without a CT log", "A no CT", "by-a", false, verdicts{kyverno: "", pc: "", flux: "SCT"}},
		// cosign's message, in Kyverno and policy-controller, for an SCT
		// of a log whose key the policy does not carry.
		{"A's image under A's policy from a root with another CT log", "A other CT", "by-a", false, verdicts{kyverno: "ctfe public key not found", pc: "ctfe public key not found", flux: "SCT"}},
	}
	run := map[string]func(t *testing.T, dir, image string) verdict{
		kyverno: func(t *testing.T, dir, image string) verdict { return kyvernoApply(t, r, tl, dir, image) },
		pc:      func(t *testing.T, dir, image string) verdict { return policyTest(t, r, tl, dir, image) },
		flux: func(t *testing.T, dir, image string) verdict {
			return fluxStandIn(t, r, e.Cosign3, dir, image)
		},
	}
	for i, reg := range e.Registries() {
		t.Run(reg.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					image := tagged[c.image][i]
					if c.byDigest {
						image = digests[c.image][i]
					}
					for _, tool := range []string{kyverno, pc, flux} {
						want, ok := c.want[tool]
						if !ok {
							continue
						}
						expect(t, tool, image, run[tool](t, dirs[c.policy], image), want)
					}
				})
			}
		})
	}
}

// fluxStandIn verifies image as Flux's source-controller (v1.10, cosign
// v3) would under the Flux file in dir: cosign v3 verify with each
// matchOIDCIdentity of the image's OCIRepository as identity regexps and,
// for a private instance, the trusted_root.json of the Secret. Flux passes
// when any identity matches. extra are further cosign flags.
func fluxStandIn(t *testing.T, r *runner, cosign3, dir, image string, extra ...string) verdict {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, policy.FluxFile))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	var trustedRoot string
	var ids []any
	for _, d := range yamltest.Docs(t, b) {
		switch d["kind"] {
		case "Secret":
			trustedRoot = filepath.Join(t.TempDir(), "trusted_root.json")
			if err := os.WriteFile(trustedRoot, []byte(yamltest.Get(t, d, "stringData", "trusted_root.json").(string)), 0o644); err != nil {
				t.Fatal(err)
			}
		case "OCIRepository":
			if yamltest.Get(t, d, "spec", "url") == "oci://"+ref.Context().Name() {
				ids = yamltest.Get(t, d, "spec", "verify", "matchOIDCIdentity").([]any)
			}
		}
	}
	if len(ids) == 0 {
		t.Fatalf("%s has no OCIRepository for %s", policy.FluxFile, ref.Context().Name())
	}
	var v verdict
	for _, id := range ids {
		args := []string{"verify",
			"--certificate-identity-regexp=" + yamltest.Get(t, id, "subject").(string),
			"--certificate-oidc-issuer-regexp=" + yamltest.Get(t, id, "issuer").(string)}
		if trustedRoot != "" {
			args = append(args, "--trusted-root="+trustedRoot)
		}
		args = append(append(args, extra...), image)
		out, code := r.run(t, cosign3, args...)
		if v = (verdict{out, code}); code == 0 {
			break
		}
	}
	return v
}

// naiveKyverno copies the Kyverno policy in dir with subjectRegExp replaced
// by the plain subject, as a generator unaware of Kyverno's wildcards
// would write it, and returns the copy's directory.
func naiveKyverno(t *testing.T, dir, subject string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, policy.KyvernoFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	kl := yamltest.Get(t, doc, "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0, "keyless").(map[string]any)
	if _, ok := kl["subjectRegExp"]; !ok {
		t.Fatalf("the policy for %s has no subjectRegExp:\n%s", subject, b)
	}
	delete(kl, "subjectRegExp")
	kl["subject"] = subject
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	naive := t.TempDir()
	if err := os.WriteFile(filepath.Join(naive, policy.KyvernoFile), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return naive
}

func firstLineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// sigstoreBundlePolicy is a Kyverno ClusterPolicy with a SigstoreBundle
// attestor for the images under repo, admitting subject from issuer: the
// attestor for cosign v3's and sigil's bundles, which takes its trust only
// from a TUF repository (the bed's, through TUF_MIRROR and TUF_ROOT_JSON).
func sigstoreBundlePolicy(t *testing.T, repo, subject, issuer, rekorURL string) string {
	t.Helper()
	doc := map[string]any{
		"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
		"metadata": map[string]any{"name": "sigil-bundles"},
		"spec": map[string]any{"rules": []any{map[string]any{
			"name":  "verify-bundle",
			"match": map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []any{"Pod"}}}}},
			"verifyImages": []any{map[string]any{
				"imageReferences": []any{repo + ":*", repo + "@*"},
				"type":            "SigstoreBundle",
				"failureAction":   "Enforce",
				"mutateDigest":    true,
				"required":        true,
				"attestors": []any{map[string]any{"entries": []any{map[string]any{"keyless": map[string]any{
					"subject": subject, "issuer": issuer, "rekor": map[string]any{"url": rekorURL},
				}}}}},
			}},
		}}},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kyverno-sigstorebundle.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKyvernoSigstoreBundle: Kyverno's SigstoreBundle attestor, with its
// trust from the bed's TUF repository, admits the bundle-only images sigil
// signed (Rekor v1, and Rekor v2 with the TSA) on every registry of the
// bed, and refuses them under another subject.
func TestKyvernoSigstoreBundle(t *testing.T) {
	e := tbenv.Load(t)
	tl := findTools(t)
	for _, cfg := range []struct {
		name, signingConfig, rekorURL string
	}{
		{"rekor-v1", e.SigningConfig, e.RekorURL},
		{"rekor-v2", e.SigningConfigV2, e.RekorV2URL},
	} {
		for _, reg := range e.AllRegistries() {
			t.Run(cfg.name+"/"+reg.Name, func(t *testing.T) {
				t.Parallel()
				// A TUF cache of its own: Kyverno locks it, and two at once
				// on one cache fail ("resource temporarily unavailable").
				env := e.ToolEnv(t)
				r := &runner{env: append(env, e.TUFEnv(t, env, e.TUFURL)...)}
				d := reg.PushImage(t, tbenv.UniqueRepo(t), "v1", tbenv.RandomImage(t))
				tag := reg.Tag(t, d.Context().RepositoryStr(), "v1").String()
				claims := tbenv.Claims{"workflow_path": {".github/workflows/release.yml"}, "run_id": {tbenv.UniqueRunID(t)}}
				s := e.Signer(t, cfg.signingConfig, claims, sign.WithFormat(artifact.FormatBundle))
				if _, err := s.SignImages(t.Context(), []string{tag}); err != nil {
					t.Fatal(err)
				}
				id, err := s.Identity(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				repo := d.Context().Name()
				out, code := r.run(t, tl.kyverno, "apply", sigstoreBundlePolicy(t, repo, id.Subject, id.Issuer, cfg.rekorURL), "--resource", podYAML(t, tag))
				if code != 0 {
					t.Errorf("the signing identity was refused (exit %d):\n%s", code, out)
				}
				other := strings.Replace(id.Subject, "release.yml", "nightly.yml", 1)
				if out, code := r.run(t, tl.kyverno, "apply", sigstoreBundlePolicy(t, repo, other, id.Issuer, cfg.rekorURL), "--resource", podYAML(t, tag)); code == 0 {
					t.Errorf("another subject was admitted:\n%s", out)
				}
			})
		}
	}
}
