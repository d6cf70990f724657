package provenance_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/provenance"
)

// TestBedSameAsActionsAttest runs GitHub's own @actions/attest 3.2.0 (its
// buildSLSAProvenancePredicate, with node) on the test bed, against the
// GitHub runtime stand-in's token endpoint, for several runs, and requires
// sigil's predicate for the same run to be equal, field for field.
//
// Both are fed alike: @actions/attest requests its own token (audience
// "nobody") from ACTIONS_ID_TOKEN_REQUEST_URL, verifies it against the
// issuer's JWKS and reads GITHUB_SERVER_URL; sigil reads the claims of a
// token from the same endpoint with the same claims (audience "sigstore",
// the one it trades at Fulcio) and is given the same server URL.
func TestBedSameAsActionsAttest(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	modules := actionsAttest(t)
	script, err := filepath.Abs(filepath.Join("..", "testbed", "actions-attest", "predicate.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	runs := []struct {
		name   string
		claims tbenv.Claims
	}{
		{"tag push, GitHub-hosted", tbenv.Claims{}},
		{"tag push, self-hosted", tbenv.Claims{"runner_environment": {"self-hosted"}}},
		{"branch push, another workflow", tbenv.Claims{"ref": {"refs/heads/main"}, "workflow_path": {".github/workflows/ci.yml"}, "sha": {"0123456789abcdef0123456789abcdef01234567"}}},
		{"pull request, second attempt", tbenv.Claims{"event_name": {"pull_request"}, "ref": {"refs/pull/42/merge"}, "run_attempt": {"2"}, "run_id": {"123456789"}}},
		{"another repository, a reusable workflow", tbenv.Claims{
			"repository": {"acme/widgets"}, "repository_id": {"5"}, "repository_owner_id": {"4"}, "ref": {"refs/tags/v2.0.0"},
			"job_workflow_ref": {"acme/shared/.github/workflows/build.yml@refs/heads/main"},
		}},
	}
	const serverURL = "https://github.com"
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			theirs := runActionsAttest(t, e, modules, script, r.claims, serverURL)
			claims, err := provenance.ClaimsFromToken(e.IDToken(t, "sigstore", r.claims))
			if err != nil {
				t.Fatal(err)
			}
			p, err := provenance.New(claims, serverURL)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if theirs.Type != provenance.PredicateType {
				t.Errorf("@actions/attest's predicate type is %q, want %q", theirs.Type, provenance.PredicateType)
			}
			var a, b any
			if err := json.Unmarshal(theirs.Params, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ours, &b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("sigil's predicate differs from @actions/attest's (-theirs +ours):\n%s", diff)
			}
			t.Logf("equal: %s", p.Summary())
		})
	}
}

// attestPredicate is what predicate.mjs prints: @actions/attest's Predicate.
type attestPredicate struct {
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params"`
}

// runActionsAttest runs buildSLSAProvenancePredicate as a job whose token
// endpoint gives claims, and returns its predicate.
func runActionsAttest(t *testing.T, e *tbenv.Env, modules, script string, claims tbenv.Claims, serverURL string) attestPredicate {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %v", err)
	}
	cmd := exec.CommandContext(ctx, node, script, modules, e.Issuer)
	cmd.Env = append(append(e.ToolEnv(t), e.ActionsEnv(claims)...), "GITHUB_SERVER_URL="+serverURL)
	cmd.Stderr = &strings.Builder{}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s%s", filepath.Base(script), err, out, cmd.Stderr)
	}
	// @actions/core writes ::debug:: and ::add-mask:: commands to stdout
	// first; the predicate is the last line.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var p attestPredicate
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &p); err != nil {
		t.Fatalf("node %s printed no predicate: %v\n%s", filepath.Base(script), err, out)
	}
	return p
}

// actionsAttest locates @actions/attest's node_modules: SIGIL_TB_ACTIONS_ATTEST,
// else where testbed/install-actions-attest.sh puts it. Without it the test
// is skipped, or fails under SIGIL_TESTBED=required.
func actionsAttest(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SIGIL_TB_ACTIONS_ATTEST")
	if dir == "" {
		out, err := exec.CommandContext(t.Context(), filepath.Join("..", "testbed", "install-actions-attest.sh"), "--path").Output()
		if err != nil {
			t.Fatalf("install-actions-attest.sh --path: %v", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "@actions", "attest", "lib", "index.js")); err != nil {
		msg := "@actions/attest is not installed in " + dir + ": run testbed/install-actions-attest.sh (make tools)"
		if os.Getenv("SIGIL_TESTBED") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}
