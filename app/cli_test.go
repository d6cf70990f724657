package app

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/sigil-dev/sigil/attestation"
)

// runCLI runs the CLI with args and an environment that contacts nothing
// (a request or a token request fails the test).
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := Env{
		Transport: failingTransport{t},
		IDToken: func(context.Context) (string, error) {
			t.Error("the CLI asked for an identity token")
			return "", errors.New("no token")
		},
	}
	code := CLI(t.Context(), args, &stdout, &stderr, func(k string) string { return env[k] }, e)
	return code, stdout.String(), stderr.String()
}

func TestCLIHelpAndVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"sign", "verify", "merge", "version", "completion"}},
		{[]string{"sign", "--help"}, []string{"sigil sign [flags] [IMAGE...]", "--images stringArray", "--format string", "(default \"both\")", "--identity-token", "--github-token string", "(default $GITHUB_TOKEN)", "Examples:", "--files 'dist/*'"}},
		{[]string{"verify", "--help"}, []string{"--certificate-identity string", "--format string", "(default \"any\")", "--repository", "--json"}},
		{[]string{"merge", "--help"}, []string{"SIGNATURES.json...", "--policy-refs string", "(default \"tags\")"}},
		{[]string{"version"}, []string{"sigil "}},
		{[]string{"completion", "bash"}, []string{"bash completion"}},
	}
	for _, tc := range tests {
		code, stdout, stderr := runCLI(t, nil, tc.args...)
		if code != 0 {
			t.Errorf("sigil %v: exit %d: %s", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("sigil %v does not print %q:\n%s", tc.args, w, stdout)
			}
		}
		if strings.Contains(stdout, " -format") || strings.Contains(stdout, "--mode") {
			t.Errorf("sigil %v prints a single-dash flag or the action's mode input:\n%s", tc.args, stdout)
		}
	}
}

func TestCLIRefusesBadCommandLines(t *testing.T) {
	t.Parallel()
	trustedRoot := filepath.Join("..", "policy", "testdata", "private-no-ct.trusted_root.json")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"attest"}, 2, `unknown command "attest"`},
		{"unknown flag", []string{"sign", "--nope"}, 2, "unknown flag: --nope"},
		{"bad format", []string{"sign", "--format", "any", "ghcr.io/o/r:v1"}, 1, `--format: "any": want both, bundle or legacy`},
		{"bad bool", []string{"verify", "--any-identity-unsafe=maybe", "ghcr.io/o/r:v1"}, 2, "invalid argument"},
		{"nothing to sign", []string{"sign"}, 1, "nothing to sign"},
		{"annotations without legacy", []string{"sign", "--trusted-root", trustedRoot, "--format", "bundle", "--annotations", "a=b", "ghcr.io/o/r:v1"}, 1, "--annotations: annotations are signed into the legacy payload, which the bundle format does not write: use --format both or --format legacy"},
		{"bad concurrency", []string{"sign", "--trusted-root", trustedRoot, "--concurrency", "1000", "ghcr.io/o/r:v1"}, 1, "--concurrency: 1000: want 1 to 256"},
		{"verify without identity", []string{"verify", "ghcr.io/o/r:v1"}, 1, "no identity to check"},
		{"bad credentials", []string{"verify", "--repository", "o/r", "--registry-credentials", "ghcr.io=user", "ghcr.io/o/r:v1"}, 1, "--registry-credentials: line 1: missing ':'"},
		{"merge nothing", []string{"merge"}, 1, "nothing to merge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestCLIReadsLikeTheAction: positional images join --images, list flags
// repeat or take commas, and the environment fills what the flags leave
// out, as the input table says.
func TestCLIReadsLikeTheAction(t *testing.T) {
	t.Parallel()
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}, nil, Env{})
	cmd, _, err := root.Find([]string{"sign"})
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--images", "a/b:1,a/b:2", "a/b:3", "--files", "dist/*", "--registry-credentials", "docker.io=u:p", "--registry-credentials", "quay.io=v:q", "--recursive=false"}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	for _, a := range cmd.Flags().Args() {
		_ = cmd.Flags().Set("images", a)
	}
	env := map[string]string{EnvGitHubToken: "ghs_from_env", EnvGHCRHost: "ghcr.example", EnvDockerConfig: "/cfg"}
	cfg, err := readSign(cliFlags{mode: ModeSign, flags: cmd.Flags(), getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Images, " ") != "a/b:1 a/b:2 a/b:3" || strings.Join(cfg.Files, " ") != "dist/*" || cfg.Recursive ||
		len(cfg.Credentials) != 2 || cfg.GitHubToken != "ghs_from_env" || cfg.GHCRHost != "ghcr.example" || cfg.DockerConfigDir != "/cfg" ||
		cfg.Format != "both" || cfg.Concurrency != 16 || cfg.PolicyDir != "" || cfg.PolicyRefs != PolicyRefsTags {
		t.Errorf("read %+v", cfg)
	}
}

// TestReadAttestationInputs: the attestation settings are read from flags
// as the action reads its inputs, names expanded.
func TestReadAttestationInputs(t *testing.T) {
	t.Parallel()
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}, nil, Env{})
	read := func(mode string, args ...string) *pflag.FlagSet {
		t.Helper()
		cmd, _, err := root.Find([]string{mode})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return cmd.Flags()
	}
	none := func(string) string { return "" }
	sc, err := readSign(cliFlags{mode: ModeSign, getenv: none, flags: read("sign", "--provenance", "--sboms", "*/org/app:*=app.spdx.json", "--sboms", "all.cdx.json",
		"--predicate-type", "https://example.com/test-result/v1", "--predicates", "dist/*=tests.json")})
	if err != nil {
		t.Fatal(err)
	}
	want := SignConfig{Provenance: true, PredicateType: "https://example.com/test-result/v1",
		SBOMs:      []attestation.Assignment{{Line: 1, Pattern: "*/org/app:*", Path: "app.spdx.json"}, {Line: 2, Path: "all.cdx.json"}},
		Predicates: []attestation.Assignment{{Line: 1, Pattern: "dist/*", Path: "tests.json"}}}
	if diff := cmp.Diff([]any{want.Provenance, want.PredicateType, want.SBOMs, want.Predicates}, []any{sc.Provenance, sc.PredicateType, sc.SBOMs, sc.Predicates}); diff != "" {
		t.Errorf("sign (-want +got):\n%s", diff)
	}
	vc, err := readVerify(cliFlags{mode: ModeVerify, getenv: none, flags: read("verify", "--repository", "o/r", "--attestations", "provenance,spdx", "--attestations", "https://example.com/test-result/v1", "--attestations", "provenance")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://slsa.dev/provenance/v1", "https://spdx.dev/Document", "https://example.com/test-result/v1"}, vc.Attestations); diff != "" {
		t.Errorf("verify attestations (-want +got):\n%s", diff)
	}
}
