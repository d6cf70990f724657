package provenance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// tagPush are the claims of a release workflow run on a tag push.
func tagPush() Claims {
	return Claims{
		Issuer:            "https://token.actions.githubusercontent.com",
		Repository:        "sigil-dev/demo",
		RepositoryID:      "700000001",
		RepositoryOwnerID: "700000000",
		Ref:               "refs/tags/v1.0.0",
		SHA:               "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
		EventName:         "push",
		WorkflowRef:       "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		JobWorkflowRef:    "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		RunnerEnvironment: "github-hosted",
		RunID:             "9000000001",
		RunAttempt:        "1",
	}
}

// TestNewGolden pins the JSON of a tag push's predicate.
func TestNewGolden(t *testing.T) {
	p, err := New(tagPush(), "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "tag-push.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./provenance -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("predicate (-want +got):\n%s", diff)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(c *Claims)
		serverURL string
		// want checks the fields the case is about.
		want func(p *Predicate) map[string]string
		// wantErr is in the error.
		wantErr string
	}{{
		name: "self-hosted runner",
		edit: func(c *Claims) { c.RunnerEnvironment = "self-hosted" },
		want: func(p *Predicate) map[string]string {
			return map[string]string{
				"runner_environment": p.BuildDefinition.InternalParameters.GitHub.RunnerEnvironment,
				"builder":            p.RunDetails.Builder.ID,
			}
		},
	}, {
		name: "branch push with a reusable workflow",
		edit: func(c *Claims) {
			c.Ref = "refs/heads/main"
			c.WorkflowRef = "sigil-dev/demo/.github/workflows/ci.yml@refs/heads/main"
			c.JobWorkflowRef = "sigil-dev/shared/.github/workflows/build.yml@refs/tags/v2"
		},
		want: func(p *Predicate) map[string]string {
			return map[string]string{
				"path":    p.BuildDefinition.ExternalParameters.Workflow.Path,
				"ref":     p.BuildDefinition.ExternalParameters.Workflow.Ref,
				"builder": p.RunDetails.Builder.ID,
				"source":  p.BuildDefinition.ResolvedDependencies[0].URI,
			}
		},
	}, {
		name: "pull request, second attempt",
		edit: func(c *Claims) {
			c.EventName, c.Ref, c.RunAttempt = "pull_request", "refs/pull/7/merge", "2"
			c.WorkflowRef = "sigil-dev/demo/.github/workflows/ci.yml@refs/pull/7/merge"
		},
		want: func(p *Predicate) map[string]string {
			return map[string]string{
				"event_name": p.BuildDefinition.InternalParameters.GitHub.EventName,
				"run":        p.RunDetails.Metadata.InvocationID,
				"path":       p.BuildDefinition.ExternalParameters.Workflow.Path,
			}
		},
	}, {
		name: "a workflow path holding the repository's name",
		edit: func(c *Claims) {
			c.Repository = "o/r"
			c.WorkflowRef = "o/r/.github/workflows/o/r/x.yml@refs/tags/v1"
		},
		want: func(p *Predicate) map[string]string {
			return map[string]string{"path": p.BuildDefinition.ExternalParameters.Workflow.Path}
		},
	}, {
		name:      "GitHub Enterprise Cloud",
		serverURL: "https://acme.ghe.com",
		want: func(p *Predicate) map[string]string {
			return map[string]string{
				"repository": p.BuildDefinition.ExternalParameters.Workflow.Repository,
				"builder":    p.RunDetails.Builder.ID,
			}
		},
	}, {
		name:    "missing claims",
		edit:    func(c *Claims) { c.SHA, c.RunAttempt = "", "" },
		wantErr: "lacks the claims sha, run_attempt",
	}, {
		name:      "a server URL with a trailing slash",
		serverURL: "https://github.com/",
		wantErr:   "without a trailing '/'",
	}}
	wants := map[string]map[string]string{
		"self-hosted runner": {"runner_environment": "self-hosted", "builder": "https://github.com/sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0"},
		"branch push with a reusable workflow": {
			"path": ".github/workflows/ci.yml", "ref": "refs/heads/main",
			"builder": "https://github.com/sigil-dev/shared/.github/workflows/build.yml@refs/tags/v2",
			"source":  "git+https://github.com/sigil-dev/demo@refs/heads/main",
		},
		"pull request, second attempt": {
			"event_name": "pull_request", "path": ".github/workflows/ci.yml",
			"run": "https://github.com/sigil-dev/demo/actions/runs/9000000001/attempts/2",
		},
		"a workflow path holding the repository's name": {"path": ".github/workflows/o/r/x.yml"},
		"GitHub Enterprise Cloud": {
			"repository": "https://acme.ghe.com/sigil-dev/demo",
			"builder":    "https://acme.ghe.com/sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tagPush()
			if tc.edit != nil {
				tc.edit(&c)
			}
			p, err := New(c, tc.serverURL)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New: error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wants[tc.name], tc.want(p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// What New writes, Parse reads back.
			b, err := p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse(New): %v", err)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("Parse(New) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	good, err := New(tagPush(), "")
	if err != nil {
		t.Fatal(err)
	}
	goodJSON, _ := good.JSON()
	tests := []struct {
		name, in, wantErr string
	}{
		{"good", string(goodJSON), ""},
		{"extra fields", strings.Replace(string(goodJSON), `"runDetails":{`, `"runDetails":{"byproducts":[],`, 1), ""},
		{"not JSON", "{", "not SLSA v1 JSON"},
		{"SLSA v0.2", `{"builder":{"id":"x"},"buildType":"https://github.com/slsa-framework/slsa-github-generator/generic@v1"}`, "build type is \"\""},
		{"another build type", strings.Replace(string(goodJSON), BuildType, "https://example.com/build/v1", 1), "not GitHub's workflow build type"},
		{"no commit", strings.Replace(string(goodJSON), `"gitCommit"`, `"sha1"`, 1), "resolvedDependencies[0].digest.gitCommit"},
		{"no run", strings.Replace(string(goodJSON), `"invocationId"`, `"x"`, 1), "runDetails.metadata.invocationId"},
		{"too large", `{"x":"` + strings.Repeat("a", maxPredicateSize) + `"}`, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.in))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Parse: error %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}

// extensionsFor are the extensions Fulcio writes for a token with claims c
// (fulcio's pkg/identity/github/principal.go).
func extensionsFor(c Claims) certificate.Extensions {
	const gh = "https://github.com/"
	return certificate.Extensions{
		Issuer:                          c.Issuer,
		BuildSignerURI:                  gh + c.JobWorkflowRef,
		RunnerEnvironment:               c.RunnerEnvironment,
		SourceRepositoryURI:             gh + c.Repository,
		SourceRepositoryDigest:          c.SHA,
		SourceRepositoryRef:             c.Ref,
		SourceRepositoryIdentifier:      c.RepositoryID,
		SourceRepositoryOwnerIdentifier: c.RepositoryOwnerID,
		BuildConfigURI:                  gh + c.WorkflowRef,
		BuildTrigger:                    c.EventName,
		RunInvocationURI:                gh + c.Repository + "/actions/runs/" + c.RunID + "/attempts/" + c.RunAttempt,
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// edit changes the claims the predicate is built from; the
		// certificate keeps tagPush's.
		edit func(c *Claims)
		// want are the mismatched fields.
		want []string
	}{
		{"same claims", func(*Claims) {}, nil},
		{"another repository", func(c *Claims) {
			c.Repository = "evil/demo"
			c.WorkflowRef = "evil/demo/.github/workflows/release.yml@refs/tags/v1.0.0"
		}, []string{
			"buildDefinition.externalParameters.workflow.repository",
			"buildDefinition.externalParameters.workflow (repository/path@ref)",
			"buildDefinition.resolvedDependencies[0].uri",
			"runDetails.metadata.invocationId",
		}},
		{"another workflow", func(c *Claims) {
			c.WorkflowRef = "sigil-dev/demo/.github/workflows/other.yml@refs/tags/v1.0.0"
			c.JobWorkflowRef = c.WorkflowRef
		}, []string{"buildDefinition.externalParameters.workflow (repository/path@ref)", "runDetails.builder.id"}},
		{"another commit", func(c *Claims) { c.SHA = "0000000000000000000000000000000000000000" },
			[]string{"buildDefinition.resolvedDependencies[0].digest.gitCommit"}},
		{"a self-hosted runner", func(c *Claims) { c.RunnerEnvironment = "self-hosted" },
			[]string{"buildDefinition.internalParameters.github.runner_environment"}},
		{"another run", func(c *Claims) { c.RunID = "1" }, []string{"runDetails.metadata.invocationId"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tagPush()
			tc.edit(&c)
			p, err := New(c, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range p.Compare(extensionsFor(tagPush())) {
				got = append(got, m.Field)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatched fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimsFromToken(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := func(claims any) string {
		s, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	full := tagPush()
	got, err := ClaimsFromToken(token(map[string]any{
		"iss": full.Issuer, "aud": "sigstore", "sub": "repo:sigil-dev/demo:ref:refs/tags/v1.0.0",
		"repository": full.Repository, "repository_id": full.RepositoryID, "repository_owner_id": full.RepositoryOwnerID,
		"ref": full.Ref, "sha": full.SHA, "event_name": full.EventName, "workflow_ref": full.WorkflowRef,
		"job_workflow_ref": full.JobWorkflowRef, "runner_environment": full.RunnerEnvironment,
		"run_id": full.RunID, "run_attempt": full.RunAttempt, "repository_visibility": "public",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if _, err := ClaimsFromToken(token(map[string]any{"iss": "https://accounts.google.com", "email": "a@example.com"})); err == nil || !strings.Contains(err.Error(), "lacks the claims ref, sha") {
		t.Errorf("ClaimsFromToken(a Google token): %v, want it to name the missing claims", err)
	}
	if _, err := ClaimsFromToken("not.a.token"); err == nil {
		t.Error("ClaimsFromToken(garbage): no error")
	}
}

func FuzzParse(f *testing.F) {
	good, _ := New(tagPush(), "")
	b, _ := good.JSON()
	f.Add(b)
	f.Add([]byte(`{"buildDefinition":{"buildType":"` + BuildType + `","resolvedDependencies":[{}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw)
		if err != nil {
			return
		}
		s := p.Summary()
		if s.SourceRepository == "" || s.Commit == "" || s.Run == "" || s.Workflow == "" {
			t.Errorf("Parse accepted a predicate without its source, commit, run or workflow: %+v", s)
		}
		_ = p.Compare(certificate.Extensions{})
	})
}
