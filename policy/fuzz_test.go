package policy_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/yamltest"
	"github.com/sigil-dev/sigil/policy"
)

// validGlob is policy-controller's check of an image glob (pkg/apis/glob
// in v0.13.1): a glob with any other character is refused.
var validGlob = regexp.MustCompile(`^[a-zA-Z0-9-_:\/\*\.@]+$`)

// FuzzGenerate feeds arbitrary identities and repositories to Generate.
// Whatever it accepts must give YAML that parses into the expected number
// of documents (no value can add one), and that gives each tool exactly the
// identity that signed; whatever it refuses must be text no policy could
// carry (empty, invalid UTF-8, control characters) or a bad repository.
func FuzzGenerate(f *testing.F) {
	f.Add(releaseA, githubIssuer, "ghcr.io/org/app", "v1")
	f.Add(`re*ease?.yml@refs/heads/[a]{b}|c^d$e\f`, "https://x/?q=*", "index.docker.io/library/app", "")
	f.Add("'quoted' \"double\" #c: d\n---\nkind: Secret", " true ", "127.0.0.1:5000/a/b", "1.0")
	f.Add("---", "null", "docker.io/a", "latest")
	f.Add("- item", "{a: b}", "localhost:5000/x", "x")
	f.Fuzz(func(t *testing.T, subject, issuer, repo, tag string) {
		in := policy.Input{
			Identities: []artifact.Requirement{{Subject: subject, Issuer: issuer}},
			Images:     []policy.Image{{Repository: repo, Tag: tag}},
		}
		files, err := policy.Generate(in)
		if err != nil {
			if carriable(subject) && carriable(issuer) && !strings.Contains(err.Error(), "repository") && !strings.Contains(err.Error(), "tag") {
				t.Fatalf("Generate refused a carriable identity %q / %q: %v", subject, issuer, err)
			}
			return
		}
		if !carriable(subject) || !carriable(issuer) {
			t.Fatalf("Generate accepted an identity no policy can carry: %q / %q", subject, issuer)
		}
		for _, file := range files {
			want := 1
			if file.Name == policy.FluxFile {
				want = len(in.Images)
			}
			if n := len(yamltest.Docs(t, file.Data)); n != want {
				t.Fatalf("%s has %d YAML documents, want %d:\n%s", file.Name, n, want, file.Data)
			}
		}
		checkIdentity(t, files, in.Identities[0])
		cip := yamltest.Docs(t, fileNamed(t, files, policy.ClusterImagePolicyFile))[0]
		for _, im := range yamltest.Get(t, cip, "spec", "images").([]any) {
			if g := im.(map[string]any)["glob"].(string); !validGlob.MatchString(g) {
				t.Fatalf("glob %q would be refused by policy-controller", g)
			}
		}
	})
}

func carriable(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\uFEFF' {
			return false
		}
	}
	return true
}
