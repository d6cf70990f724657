package policy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// These tests are the acceptance of the generated policies: the real
// Kyverno CLI and policy-controller's tester, on the test bed, must admit an
// image sigil signed as one workflow under the policy generated for that
// workflow, and refuse it under the policy generated for another.

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
func signAs(t *testing.T, e *tbenv.Env, tr *root.TrustedRoot, claims tbenv.Claims, f sign.Format, refs ...string) sign.Result {
	t.Helper()
	services, err := trust.SelectServices(trust.ServiceOptions{SigningConfigPath: e.SigningConfig}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	auth := registry.Auth{}
	for _, reg := range e.Registries() {
		auth.Credentials = append(auth.Credentials, registry.Credential{Host: reg.Host, Username: reg.User, Password: reg.Password})
	}
	kc, err := auth.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.New(
		sign.WithServices(services),
		sign.WithTrustedRoot(tr),
		sign.WithIdentityToken(func(context.Context) (string, error) { return e.IDToken(t, "sigstore", claims), nil }),
		sign.WithRegistry(auth, registry.RemoteOptions(kc, nil, "sigil-policy-test")...),
		sign.WithFormat(f),
	)
	if err != nil {
		t.Fatal(err)
	}
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

func writePolicies(t *testing.T, in policy.Input) string {
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

// TestRealTools signs images on the bed as workflow A and as workflow B and
// checks the policies generated for A with the real verifiers.
func TestRealTools(t *testing.T) {
	e := tbenv.Load(t)
	tl := findTools(t)
	tr, err := trust.LoadTrustedRoot(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, e)

	workflowA := tbenv.Claims{"repository": {"sigil-dev/demo"}, "workflow_path": {".github/workflows/release.yml"}, "ref": {"refs/tags/v1.0.0"}, "run_id": {tbenv.UniqueRunID(t)}}
	workflowB := tbenv.Claims{"repository": {"sigil-dev/demo"}, "workflow_path": {".github/workflows/other.yml"}, "ref": {"refs/tags/v1.0.0"}, "run_id": {tbenv.UniqueRunID(t)}}

	// One repository on each registry; in each, an image signed by A, one
	// signed by B, one not signed at all.
	repo := tbenv.UniqueRepo(t)
	byA := e.PushRandomImage(t, repo, "by-a")
	byB := e.PushRandomImage(t, repo, "by-b")
	unsigned := e.PushRandomImage(t, repo, "unsigned")
	var tagsA, tagsB []string
	for i := range byA {
		tagsA = append(tagsA, byA[i].Context().Tag("by-a").String())
		tagsB = append(tagsB, byB[i].Context().Tag("by-b").String())
	}
	resA := signAs(t, e, tr, workflowA, sign.FormatBoth, tagsA...)
	resB := signAs(t, e, tr, workflowB, sign.FormatBoth, tagsB...)
	t.Logf("A signed as %s; B as %s", resA.Identity.Subject, resB.Identity.Subject)
	if !policy.LegacySigned(resA) {
		t.Fatalf("sign wrote no legacy signature: %+v", resA.Images)
	}

	inA := policy.FromResult(resA, tr)
	if inA.RekorURL != e.RekorURL {
		t.Errorf("FromResult: RekorURL = %q, want the bed's Rekor v1 %q", inA.RekorURL, e.RekorURL)
	}
	dirA := writePolicies(t, inA)
	dirB := writePolicies(t, policy.FromResult(resB, tr))

	for i, reg := range e.Registries() {
		t.Run(reg.Name, func(t *testing.T) {
			cases := []struct {
				name     string
				dir      string
				image    string
				accept   bool
				kyverno  string // in the refusal's output
				pcTester string
			}{
				{"A's image by tag under A's policy", dirA, tagsA[i], true, "", ""},
				{"A's image by digest under A's policy", dirA, byA[i].String(), true, "", ""},
				{"B's image under A's policy", dirA, tagsB[i], false, "subject mismatch", "none of the expected identities matched"},
				{"A's image under B's policy", dirB, tagsA[i], false, "subject mismatch", "none of the expected identities matched"},
				{"unsigned image under A's policy", dirA, unsigned[i].Context().Tag("unsigned").String(), false, "no signatures found", "no signatures found"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					for _, tool := range []struct {
						name string
						f    func(*testing.T, *runner, tools, string, string) verdict
						want string
					}{{"kyverno", kyvernoApply, c.kyverno}, {"policy-tester", policyTest, c.pcTester}} {
						v := tool.f(t, r, tl, c.dir, c.image)
						switch {
						case c.accept && v.code != 0:
							t.Errorf("%s refused %s (exit %d):\n%s", tool.name, c.image, v.code, v.out)
						case !c.accept && v.code == 0:
							t.Errorf("%s accepted %s (exit 0):\n%s", tool.name, c.image, v.out)
						case !c.accept && !strings.Contains(v.out, tool.want):
							t.Errorf("%s refused %s (exit %d), but without %q:\n%s", tool.name, c.image, v.code, tool.want, v.out)
						case !c.accept:
							t.Logf("%s refused, exit %d: %s", tool.name, v.code, firstLineWith(v.out, tool.want))
						default:
							t.Logf("%s accepted, exit 0", tool.name)
						}
					}
				})
			}
		})
	}
}

func firstLineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
