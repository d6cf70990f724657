package verify

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/sigil-dev/sigil/artifact"
)

func TestNewPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []PolicyOption
		want    artifact.Requirement
		wantErr string
	}{{
		name: "exact identity, default issuer",
		opts: []PolicyOption{WithCertificateIdentity("https://github.com/o/r/.github/workflows/x.yml@refs/heads/main")},
		want: artifact.Requirement{Subject: "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main", Issuer: GitHubIssuer},
	}, {
		name: "identity regexp and issuer regexp",
		opts: []PolicyOption{WithCertificateIdentityRegexp(`^https://github\.com/o/`), WithIssuerRegexp(`^https://token\.`)},
		want: artifact.Requirement{SubjectRegexp: `^https://github\.com/o/`, IssuerRegexp: `^https://token\.`},
	}, {
		name: "repository only",
		opts: []PolicyOption{WithRepository("sigil-dev/sigil")},
		want: artifact.Requirement{
			SubjectRegexp:       `^https://github\.com/sigil-dev/sigil/\.github/workflows/[^@]+@.+$`,
			Issuer:              GitHubIssuer,
			SourceRepositoryURI: "https://github.com/sigil-dev/sigil",
		},
	}, {
		name: "repository, workflow, ref glob, runner",
		opts: []PolicyOption{WithRepository("sigil-dev/sigil"), WithWorkflow(".github/workflows/release.yml"), WithRef("refs/tags/v*"), WithRunnerEnvironment(RunnerGitHubHosted)},
		want: artifact.Requirement{
			SubjectRegexp:       `^https://github\.com/sigil-dev/sigil/\.github/workflows/release\.yml@refs/tags/v[^/]*$`,
			Issuer:              GitHubIssuer,
			SourceRepositoryURI: "https://github.com/sigil-dev/sigil",
			RunnerEnvironment:   RunnerGitHubHosted,
		},
	}, {
		name: "bare workflow file, exact ref, ** glob is not used",
		opts: []PolicyOption{WithRepository("o/r"), WithWorkflow("ci.yaml"), WithRef("refs/heads/main"), WithIssuer("http://127.0.0.1:1")},
		want: artifact.Requirement{
			SubjectRegexp:       `^https://github\.com/o/r/\.github/workflows/ci\.yaml@refs/heads/main$`,
			Issuer:              "http://127.0.0.1:1",
			SourceRepositoryURI: "https://github.com/o/r",
			SourceRepositoryRef: "refs/heads/main",
		},
	}, {
		name: "double star and question mark",
		opts: []PolicyOption{WithRepository("o/r"), WithRef("refs/heads/release/**-v?")},
		want: artifact.Requirement{
			SubjectRegexp:       `^https://github\.com/o/r/\.github/workflows/[^@]+@refs/heads/release/.*-v[^/]$`,
			Issuer:              GitHubIssuer,
			SourceRepositoryURI: "https://github.com/o/r",
		},
	}, {
		name: "exact identity with a repository preset",
		opts: []PolicyOption{WithCertificateIdentity("https://github.com/o/r/.github/workflows/x.yml@refs/heads/main"), WithRepository("o/r")},
		want: artifact.Requirement{
			Subject:             "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main",
			SubjectRegexp:       `^https://github\.com/o/r/\.github/workflows/[^@]+@.+$`,
			Issuer:              GitHubIssuer,
			SourceRepositoryURI: "https://github.com/o/r",
		},
	}, {
		name: "any identity, explicitly",
		opts: []PolicyOption{WithAnyIdentityUnsafe()},
		want: artifact.Requirement{AnyIdentityUnsafe: true, Issuer: GitHubIssuer},
	}, {
		name:    "nothing",
		wantErr: "no identity to check",
	}, {
		name:    "issuer alone",
		opts:    []PolicyOption{WithIssuer("https://x")},
		wantErr: "no identity to check",
	}, {
		name:    "runner environment alone",
		opts:    []PolicyOption{WithRunnerEnvironment(RunnerGitHubHosted)},
		wantErr: "no identity to check",
	}, {
		name:    "identity and identity regexp",
		opts:    []PolicyOption{WithCertificateIdentity("a"), WithCertificateIdentityRegexp("b")},
		wantErr: "certificate-identity and certificate-identity-regexp both given",
	}, {
		name:    "issuer and issuer regexp",
		opts:    []PolicyOption{WithCertificateIdentity("a"), WithIssuer("a"), WithIssuerRegexp("b")},
		wantErr: "certificate-oidc-issuer and certificate-oidc-issuer-regexp both given",
	}, {
		name:    "regexp with presets",
		opts:    []PolicyOption{WithCertificateIdentityRegexp("a"), WithRepository("o/r")},
		wantErr: "both constrain the subject",
	}, {
		name:    "workflow without repository",
		opts:    []PolicyOption{WithCertificateIdentity("a"), WithWorkflow("release.yml")},
		wantErr: "need repository",
	}, {
		name:    "unsafe with identity",
		opts:    []PolicyOption{WithAnyIdentityUnsafe(), WithCertificateIdentity("a")},
		wantErr: "any-identity-unsafe conflicts",
	}, {
		name:    "given twice",
		opts:    []PolicyOption{WithRepository("o/r"), WithRepository("o/s")},
		wantErr: "repository given twice",
	}, {
		name:    "bad repository",
		opts:    []PolicyOption{WithRepository("o/r/x")},
		wantErr: `repository "o/r/x": want OWNER/NAME`,
	}, {
		name:    "short ref",
		opts:    []PolicyOption{WithRepository("o/r"), WithRef("v*")},
		wantErr: "give a full ref or glob",
	}, {
		name:    "workflow with @",
		opts:    []PolicyOption{WithRepository("o/r"), WithWorkflow("x.yml@main")},
		wantErr: "without '@'",
	}, {
		name:    "bad runner",
		opts:    []PolicyOption{WithRepository("o/r"), WithRunnerEnvironment("laptop")},
		wantErr: `runner-environment "laptop"`,
	}, {
		name:    "bad regexp",
		opts:    []PolicyOption{WithCertificateIdentityRegexp("(")},
		wantErr: "certificate-identity-regexp",
	}, {
		name:    "empty identity",
		opts:    []PolicyOption{WithCertificateIdentity("")},
		wantErr: "certificate-identity is empty",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPolicy(tc.opts...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewPolicy: error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPolicy: %v", err)
			}
			if diff := cmp.Diff(tc.want, p.Expected()); diff != "" {
				t.Errorf("Expected() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyMatch checks the presets against certificate summaries, as
// Fulcio writes them for GitHub workflows.
func TestPolicyMatch(t *testing.T) {
	t.Parallel()
	summary := func(repo, wf, ref, runner string) certificate.Summary {
		return certificate.Summary{
			SubjectAlternativeName: "https://github.com/" + repo + "/" + wf + "@" + ref,
			Extensions: certificate.Extensions{
				Issuer:              GitHubIssuer,
				SourceRepositoryURI: "https://github.com/" + repo,
				SourceRepositoryRef: ref,
				RunnerEnvironment:   runner,
			},
		}
	}
	release := summary("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.2.3", RunnerGitHubHosted)
	p := mustPolicy(t, WithRepository("sigil-dev/demo"), WithWorkflow("release.yml"), WithRef("refs/tags/v*"), WithRunnerEnvironment(RunnerGitHubHosted))
	tests := []struct {
		name string
		s    certificate.Summary
		want string // empty: match
	}{
		{"match", release, ""},
		{"other workflow", summary("sigil-dev/demo", ".github/workflows/ci.yml", "refs/tags/v1.2.3", RunnerGitHubHosted), "found subject https://github.com/sigil-dev/demo/.github/workflows/ci.yml@"},
		{"other repository", summary("evil/demo", ".github/workflows/release.yml", "refs/tags/v1.2.3", RunnerGitHubHosted), "found subject https://github.com/evil/demo/"},
		{"repository prefix", summary("sigil-dev/demo2", ".github/workflows/release.yml", "refs/tags/v1.2.3", RunnerGitHubHosted), "found subject"},
		{"ref outside the glob", summary("sigil-dev/demo", ".github/workflows/release.yml", "refs/heads/main", RunnerGitHubHosted), "@refs/heads/main"},
		{"ref with a slash under *", summary("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1/evil", RunnerGitHubHosted), "found subject"},
		{"self-hosted", summary("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.2.3", RunnerSelfHosted), "runner environment self-hosted"},
		{"other issuer", func() certificate.Summary { s := release; s.Issuer = "https://evil"; return s }(), "issuer https://evil"},
		{"subject right, source repository wrong", func() certificate.Summary {
			s := release
			s.SourceRepositoryURI = "https://github.com/evil/fork"
			return s
		}(), "source repository https://github.com/evil/fork"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := p.check(tc.s)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("accepted")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), "expected subject matching"):
				t.Errorf("error %q does not say what was expected", err)
			}
		})
	}
}
