package policy_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/yamltest"
	"github.com/sigil-dev/sigil/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	githubIssuer = "https://token.actions.githubusercontent.com"
	releaseA     = "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3"
)

func loadRoot(t testing.TB, name string) *root.TrustedRoot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// goldenCases are the inputs whose every generated file is kept in
// testdata/<case>/.
func goldenCases(t *testing.T) []struct {
	name string
	in   policy.Input
} {
	return []struct {
		name string
		in   policy.Input
	}{
		{"public-one-repo", policy.Input{
			Identities: []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}},
			Images:     []policy.Image{{Repository: "ghcr.io/org/app", Tag: "v1.2.3", Digest: "sha256:" + strings.Repeat("a", 64)}},
		}},
		{"public-mirrors", policy.Input{
			Identities: []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}},
			Images: []policy.Image{
				// Unsorted, duplicated and spelled several ways on
				// purpose: the output is sorted and deduplicated.
				{Repository: "docker.io/org/app", Tag: "v1.2.3"},
				{Repository: "ghcr.io/org/app", Tag: "v1.2.3"},
				{Repository: "index.docker.io/org/app", Tag: "latest"},
				{Repository: "ghcr.io/org/app", Digest: "sha256:" + strings.Repeat("b", 64)},
				{Repository: "docker.io/library/tool"},
				{Repository: "ghcr.io/org/controller-with-a-rather-long-name-that-needs-cutting-down-to-fit", Digest: "sha256:" + strings.Repeat("c", 64)},
			},
			Name:          "release-images",
			FluxNamespace: "apps",
		}},
		{"private-no-ct", policy.Input{
			Identities:  []artifact.Requirement{{Subject: releaseA, Issuer: "https://issuer.example.internal"}},
			Images:      []policy.Image{{Repository: "registry.example.internal:5000/org/app", Tag: "v1.2.3"}},
			TrustedRoot: loadRoot(t, "private-no-ct.trusted_root.json"),
		}},
		{"private-ct-two-logs", policy.Input{
			Identities:  []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}},
			Images:      []policy.Image{{Repository: "ghcr.io/org/app", Tag: "v1.2.3"}, {Repository: "index.docker.io/org/app", Tag: "v1.2.3"}},
			TrustedRoot: loadRoot(t, "private-ct-two-logs.trusted_root.json"),
			RekorURL:    "https://rekor.example.internal/",
		}},
		{"provenance", policy.Input{
			// A merged release: two repositories' workflows.
			Identities: []artifact.Requirement{
				{Subject: releaseA, Issuer: githubIssuer},
				{Subject: "https://github.com/org/cli/.github/workflows/build.yml@refs/tags/v0.9.0", Issuer: githubIssuer},
			},
			Images:      []policy.Image{{Repository: "ghcr.io/org/app", Tag: "v1.2.3"}, {Repository: "index.docker.io/org/cli", Tag: "v0.9.0"}},
			TrustedRoot: loadRoot(t, "private-ct-two-logs.trusted_root.json"),
			RekorURL:    "https://rekor.example.internal/",
			Provenance:  true,
		}},
		{"metacharacters", policy.Input{
			Identities: []artifact.Requirement{
				{Subject: `https://github.com/o/r/.github/workflows/re*ease?.yml@refs/heads/a+b(c)[d]{e}|f^g$h\i`, Issuer: "https://issuer.example/?x=*"},
				{Subject: `"quoted" 'single' #hash: colon, - dash & amp ! bang % pct @ at ` + "`tick`", Issuer: "   leading and trailing spaces   "},
				{Subject: "ünïcödé ✓ と", Issuer: "true"},
			},
			Images: []policy.Image{{Repository: "ghcr.io/org/app"}},
		}},
	}
}

// TestGolden compares every generated file with testdata/<case>/<file>;
// go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			files, err := policy.Generate(c.in)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", c.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, f := range files {
				got = append(got, f.Name)
				path := filepath.Join(dir, f.Name)
				if *update {
					if err := os.WriteFile(path, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to write the golden files)", err)
				}
				if diff := cmp.Diff(string(want), string(f.Data)); diff != "" {
					t.Errorf("%s differs from %s (-want +got):\n%s", f.Name, path, diff)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var have []string
			for _, e := range entries {
				have = append(have, e.Name())
			}
			slices.Sort(got)
			if diff := cmp.Diff(have, got); diff != "" {
				t.Errorf("golden files in %s differ from the generated files (-golden +generated):\n%s", dir, diff)
			}
		})
	}
}

// TestDeterministic generates each case twice, the second time from
// shuffled input, and expects the same bytes.
func TestDeterministic(t *testing.T) {
	for _, c := range goldenCases(t) {
		a, err := policy.Generate(c.in)
		if err != nil {
			t.Fatal(err)
		}
		in := c.in
		in.Identities = slices.Clone(in.Identities)
		in.Images = slices.Clone(in.Images)
		slices.Reverse(in.Identities)
		slices.Reverse(in.Images)
		in.Images = append(in.Images, in.Images...)
		b, err := policy.Generate(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%s: output depends on input order or duplicates (-first +second):\n%s", c.name, diff)
		}
	}
}

func fileNamed(t testing.TB, files []policy.File, name string) []byte {
	t.Helper()
	for _, f := range files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

// TestTable checks what each tool is told, per case: public or private
// trust, one or several repositories and identities.
func TestTable(t *testing.T) {
	private := loadRoot(t, "private-no-ct.trusted_root.json")
	withCT := loadRoot(t, "private-ct-two-logs.trusted_root.json")
	cases := []struct {
		name string
		in   policy.Input
		// wantFiles are the files generated.
		wantFiles []string
		// kyvernoRefs are the Kyverno imageReferences.
		kyvernoRefs []string
		// globs are the ClusterImagePolicy globs.
		globs []string
		// fluxURLs are the OCIRepository URLs.
		fluxURLs []string
		// private: keys and trust root references are present.
		private bool
		// ignoreSCT: the SCT check is skipped.
		ignoreSCT bool
	}{
		{
			name:        "public, one repository",
			in:          policy.Input{Identities: []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}}, Images: []policy.Image{{Repository: "ghcr.io/org/app"}}},
			wantFiles:   []string{policy.KyvernoFile, policy.ClusterImagePolicyFile, policy.FluxFile},
			kyvernoRefs: []string{"ghcr.io/org/app:*", "ghcr.io/org/app@*"},
			globs:       []string{"ghcr.io/org/app:*", "ghcr.io/org/app@*"},
			fluxURLs:    []string{"oci://ghcr.io/org/app"},
		},
		{
			name: "public, mirrored on Docker Hub",
			in: policy.Input{Identities: []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}}, Images: []policy.Image{
				{Repository: "index.docker.io/org/app"}, {Repository: "ghcr.io/org/app"}, {Repository: "docker.io/org/app"},
			}},
			wantFiles: []string{policy.KyvernoFile, policy.ClusterImagePolicyFile, policy.FluxFile},
			kyvernoRefs: []string{
				"docker.io/org/app:*", "docker.io/org/app@*", "ghcr.io/org/app:*", "ghcr.io/org/app@*",
				"index.docker.io/org/app:*", "index.docker.io/org/app@*",
			},
			globs:    []string{"ghcr.io/org/app:*", "ghcr.io/org/app@*", "index.docker.io/org/app:*", "index.docker.io/org/app@*"},
			fluxURLs: []string{"oci://ghcr.io/org/app", "oci://docker.io/org/app"},
		},
		{
			name:        "private, no CT log",
			in:          policy.Input{Identities: []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}}, Images: []policy.Image{{Repository: "127.0.0.1:5000/org/app"}}, TrustedRoot: private},
			wantFiles:   []string{policy.KyvernoFile, policy.ClusterImagePolicyFile, policy.TrustRootFile, policy.FluxFile},
			kyvernoRefs: []string{"127.0.0.1:5000/org/app:*", "127.0.0.1:5000/org/app@*"},
			globs:       []string{"127.0.0.1:5000/org/app:*", "127.0.0.1:5000/org/app@*"},
			fluxURLs:    []string{"oci://127.0.0.1:5000/org/app"},
			private:     true,
			ignoreSCT:   true,
		},
		{
			name: "private, CT log, two identities, several repositories",
			in: policy.Input{
				Identities:  []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}, {Subject: "https://github.com/org/app/.github/workflows/nightly.yml@refs/heads/main", Issuer: githubIssuer}},
				Images:      []policy.Image{{Repository: "ghcr.io/org/a"}, {Repository: "ghcr.io/org/b"}},
				TrustedRoot: withCT, RekorURL: "https://rekor.example.internal",
			},
			wantFiles:   []string{policy.KyvernoFile, policy.ClusterImagePolicyFile, policy.TrustRootFile, policy.FluxFile},
			kyvernoRefs: []string{"ghcr.io/org/a:*", "ghcr.io/org/a@*", "ghcr.io/org/b:*", "ghcr.io/org/b@*"},
			globs:       []string{"ghcr.io/org/a:*", "ghcr.io/org/a@*", "ghcr.io/org/b:*", "ghcr.io/org/b@*"},
			fluxURLs:    []string{"oci://ghcr.io/org/a", "oci://ghcr.io/org/b"},
			private:     true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files, err := policy.Generate(c.in)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
				if !bytes.HasPrefix(f.Data, []byte("# Generated by sigil")) {
					t.Errorf("%s does not start with the generated-by comment", f.Name)
				}
				if !bytes.Contains(f.Data, []byte("legacy")) && f.Name != policy.TrustRootFile {
					t.Errorf("%s does not say which signature format its tool reads", f.Name)
				}
			}
			if diff := cmp.Diff(c.wantFiles, names); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}

			ky := yamltest.Docs(t, fileNamed(t, files, policy.KyvernoFile))[0]
			vi := yamltest.Get(t, ky, "spec", "rules", 0, "verifyImages", 0)
			if diff := cmp.Diff(toStrings(yamltest.Get(t, vi, "imageReferences")), c.kyvernoRefs); diff != "" {
				t.Errorf("kyverno imageReferences (-got +want):\n%s", diff)
			}
			for k, want := range map[string]any{"type": "Cosign", "mutateDigest": true, "verifyDigest": true, "required": true, "failureAction": "Enforce"} {
				if got := yamltest.Get(t, vi, k); got != want {
					t.Errorf("kyverno %s = %v, want %v", k, got, want)
				}
			}
			entries := yamltest.Get(t, vi, "attestors", 0, "entries").([]any)
			if len(entries) != len(c.in.Identities) {
				t.Errorf("kyverno has %d attestor entries, want one per identity (%d)", len(entries), len(c.in.Identities))
			}
			kl := yamltest.Get(t, entries[0], "keyless").(map[string]any)
			_, hasRoots := kl["roots"]
			_, hasPub := kl["rekor"].(map[string]any)["pubkey"]
			if hasRoots != c.private || hasPub != c.private {
				t.Errorf("kyverno roots present %v, rekor pubkey present %v; want both %v", hasRoots, hasPub, c.private)
			}
			ct, _ := kl["ctlog"].(map[string]any)
			if ignore, _ := ct["ignoreSCT"].(bool); ignore != c.ignoreSCT {
				t.Errorf("kyverno ctlog.ignoreSCT = %v, want %v", ignore, c.ignoreSCT)
			}
			if c.private && !c.ignoreSCT && ct["pubkey"] == nil {
				t.Error("kyverno ctlog has no pubkey though the trusted root has a CT log")
			}

			cip := yamltest.Docs(t, fileNamed(t, files, policy.ClusterImagePolicyFile))[0]
			var globs []string
			for _, im := range yamltest.Get(t, cip, "spec", "images").([]any) {
				globs = append(globs, im.(map[string]any)["glob"].(string))
			}
			if diff := cmp.Diff(globs, c.globs); diff != "" {
				t.Errorf("ClusterImagePolicy globs (-got +want):\n%s", diff)
			}
			auth := yamltest.Get(t, cip, "spec", "authorities", 0)
			ref, _ := yamltest.Get(t, auth, "keyless").(map[string]any)["trustRootRef"].(string)
			ctRef, _ := yamltest.Get(t, auth, "ctlog").(map[string]any)["trustRootRef"].(string)
			if c.private {
				tr := yamltest.Docs(t, fileNamed(t, files, policy.TrustRootFile))[0]
				name := yamltest.Get(t, tr, "metadata", "name")
				if ref != name || ctRef != name {
					t.Errorf("trustRootRef keyless %q ctlog %q, want the TrustRoot's name %q", ref, ctRef, name)
				}
			} else if ref != "" || ctRef != "" {
				t.Errorf("public trust, but trustRootRef %q/%q", ref, ctRef)
			}
			if ignore, _ := yamltest.Get(t, auth, "keyless", "insecureIgnoreSCT").(bool); ignore != c.ignoreSCT {
				t.Errorf("insecureIgnoreSCT = %v, want %v", ignore, c.ignoreSCT)
			}

			var urls []string
			for _, d := range yamltest.Docs(t, fileNamed(t, files, policy.FluxFile)) {
				if d["kind"] != "OCIRepository" {
					continue
				}
				urls = append(urls, yamltest.Get(t, d, "spec", "url").(string))
				_, hasSecret := yamltest.Get(t, d, "spec", "verify").(map[string]any)["trustedRootSecretRef"]
				if hasSecret != c.private {
					t.Errorf("flux trustedRootSecretRef present %v, want %v", hasSecret, c.private)
				}
			}
			slices.Sort(urls)
			want := slices.Sorted(slices.Values(c.fluxURLs))
			if diff := cmp.Diff(urls, want); diff != "" {
				t.Errorf("flux URLs (-got +want):\n%s", diff)
			}
		})
	}
}

func toStrings(v any) []string {
	var s []string
	for _, x := range v.([]any) {
		s = append(s, x.(string))
	}
	return s
}

// TestProvenanceNeedsGitHubSubjects: provenance conditions are derived
// from GitHub workflow subjects; another identity is refused.
func TestProvenanceNeedsGitHubSubjects(t *testing.T) {
	t.Parallel()
	for _, subject := range []string{"someone@example.com", "https://github.com/org/app@refs/tags/v1", "https://gitlab.com/org/app//.gitlab-ci.yml@refs/heads/main"} {
		_, err := policy.Generate(policy.Input{Identities: []artifact.Requirement{{Subject: subject, Issuer: githubIssuer}}, Images: []policy.Image{{Repository: "ghcr.io/org/app"}}, Provenance: true})
		if err == nil || !strings.Contains(err.Error(), "provenance conditions need a GitHub workflow subject") {
			t.Errorf("Generate(Provenance, subject %q): %v", subject, err)
		}
	}
}

// TestIdentityRoundTrip checks that each tool is given exactly the
// identity that signed, including identities with characters that mean
// something to YAML, to regular expressions or to Kyverno's wildcards.
func TestIdentityRoundTrip(t *testing.T) {
	for _, c := range goldenCases(t) {
		files, err := policy.Generate(c.in)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range c.in.Identities {
			checkIdentity(t, files, id)
		}
	}
}

// checkIdentity fails t unless every policy in files admits id exactly.
func checkIdentity(t testing.TB, files []policy.File, id artifact.Requirement) {
	t.Helper()
	// Kyverno: subject/issuer are wildcard patterns ('*', '?'), so a value
	// holding one must be in the RegExp field, quoted and anchored.
	found := false
	ky := yamltest.Docs(t, fileNamed(t, files, policy.KyvernoFile))[0]
	for _, e := range yamltest.Get(t, ky, "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries").([]any) {
		kl := yamltest.Get(t, e, "keyless").(map[string]any)
		if exactly(t, "kyverno subject", kl["subject"], kl["subjectRegExp"], id.Subject, true) &&
			exactly(t, "kyverno issuer", kl["issuer"], kl["issuerRegExp"], id.Issuer, true) {
			found = true
		}
	}
	if !found {
		t.Errorf("kyverno policy has no entry for %+v", id)
	}
	// policy-controller: exact strings.
	found = false
	cip := yamltest.Docs(t, fileNamed(t, files, policy.ClusterImagePolicyFile))[0]
	for _, i := range yamltest.Get(t, cip, "spec", "authorities", 0, "keyless", "identities").([]any) {
		m := i.(map[string]any)
		if m["subject"] == id.Subject && m["issuer"] == id.Issuer && m["subjectRegExp"] == nil && m["issuerRegExp"] == nil {
			found = true
		}
	}
	if !found {
		t.Errorf("ClusterImagePolicy has no identity %+v", id)
	}
	// Flux: Go regular expressions that match exactly the value.
	for _, d := range yamltest.Docs(t, fileNamed(t, files, policy.FluxFile)) {
		if d["kind"] != "OCIRepository" {
			continue
		}
		found = false
		for _, m := range yamltest.Get(t, d, "spec", "verify", "matchOIDCIdentity").([]any) {
			mm := m.(map[string]any)
			if exactly(t, "flux subject", nil, mm["subject"], id.Subject, false) && exactly(t, "flux issuer", nil, mm["issuer"], id.Issuer, false) {
				found = true
			}
		}
		if !found {
			t.Errorf("OCIRepository %v has no matchOIDCIdentity for %+v", yamltest.Get(t, d, "metadata", "name"), id)
		}
	}
}

// exactly reports whether a policy's exact value or regexp admits want and
// nothing else: the exact value must equal want (and, for Kyverno, hold no
// wildcard); the regexp must be want quoted and anchored.
func exactly(t testing.TB, what string, exact, re any, want string, wildcards bool) bool {
	t.Helper()
	if exact != nil {
		if re != nil {
			t.Errorf("%s: both an exact value and a regexp", what)
		}
		if wildcards && exact == want && strings.ContainsAny(want, "*?") {
			t.Errorf("%s: %q holds a wildcard, so an exact field would match more than itself", what, want)
		}
		return exact == want
	}
	s, ok := re.(string)
	if !ok {
		return false
	}
	rx, err := regexp.Compile(s)
	if err != nil {
		t.Errorf("%s: %q does not compile: %v", what, s, err)
		return false
	}
	if s != "^"+regexp.QuoteMeta(want)+"$" {
		return false
	}
	if !rx.MatchString(want) {
		t.Errorf("%s: %q does not match %q", what, s, want)
	}
	for _, other := range []string{want + "x", "x" + want, want[:len(want)-1]} {
		if rx.MatchString(other) {
			t.Errorf("%s: %q also matches %q", what, s, other)
		}
	}
	return true
}

func TestErrors(t *testing.T) {
	good := policy.Input{Identities: []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}}, Images: []policy.Image{{Repository: "ghcr.io/org/app"}}}
	twoLogs := loadRoot(t, "private-ct-two-logs.trusted_root.json")
	cases := []struct {
		name string
		edit func(*policy.Input)
		want string
	}{
		{"no identity", func(in *policy.Input) { in.Identities = nil }, "no signing identity"},
		{"empty subject", func(in *policy.Input) { in.Identities[0].Subject = "" }, "subject) is empty"},
		{"newline in subject", func(in *policy.Input) { in.Identities[0].Subject = releaseA + "\nkind: Secret" }, "control character"},
		{"invalid UTF-8 issuer", func(in *policy.Input) { in.Identities[0].Issuer = "https://x\xff" }, "not valid UTF-8"},
		{"no image", func(in *policy.Input) { in.Images = nil }, "no signed image"},
		{"tag in repository", func(in *policy.Input) { in.Images[0].Repository = "ghcr.io/org/app:v1" }, "without tag or digest"},
		{"upper case repository", func(in *policy.Input) { in.Images[0].Repository = "ghcr.io/Org/App" }, "without tag or digest"},
		{"bad tag", func(in *policy.Input) { in.Images[0].Tag = "v1\n" }, "tag"},
		{"bad digest", func(in *policy.Input) { in.Images[0].Digest = "sha256:zz" }, "digest"},
		{"bad name", func(in *policy.Input) { in.Name = "Sigil_Policy" }, "not a Kubernetes object name"},
		{"bad namespace", func(in *policy.Input) { in.FluxNamespace = "a.b" }, "namespace"},
		{"several logs, none chosen", func(in *policy.Input) { in.TrustedRoot = twoLogs }, "several transparency logs"},
		{"chosen log not in root", func(in *policy.Input) { in.TrustedRoot, in.RekorURL = twoLogs, "https://rekor.sigstore.dev" }, "no transparency log at https://rekor.sigstore.dev"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := good
			in.Identities = slices.Clone(good.Identities)
			in.Images = slices.Clone(good.Images)
			c.edit(&in)
			_, err := policy.Generate(in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Generate: err = %v, want one containing %q", err, c.want)
			}
			if _, err := policy.Write(t.TempDir(), in); err == nil {
				t.Error("Write succeeded where Generate fails")
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policies")
	private := policy.Input{
		Identities:  []artifact.Requirement{{Subject: releaseA, Issuer: githubIssuer}},
		Images:      []policy.Image{{Repository: "ghcr.io/org/app"}},
		TrustedRoot: loadRoot(t, "private-no-ct.trusted_root.json"),
	}
	paths, err := policy.Write(dir, private)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Fatalf("wrote %v, want 4 files", paths)
	}
	files, _ := policy.Generate(private)
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) != files[i].Name || !bytes.Equal(b, files[i].Data) {
			t.Errorf("%s does not hold what Generate returns for %s", p, files[i].Name)
		}
	}
	// A later public run must not leave the private TrustRoot behind.
	public := private
	public.TrustedRoot = nil
	if _, err = policy.Write(dir, public); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{policy.FluxFile, policy.KyvernoFile, policy.ClusterImagePolicyFile}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("directory after a public run (-want +got):\n%s", diff)
	}
}

func TestAnyTag(t *testing.T) {
	t.Parallel()
	const iss = "https://token.actions.githubusercontent.com"
	tests := []struct {
		subject, want string
		matches, not  []string
	}{
		{
			subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3",
			want:    `^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/[^@]+$`,
			matches: []string{"https://github.com/org/app/.github/workflows/release.yml@refs/tags/v2.0.0", "https://github.com/org/app/.github/workflows/release.yml@refs/tags/release/v1"},
			not: []string{
				"https://github.com/org/app/.github/workflows/release.yml@refs/heads/main",
				"https://github.com/org/app/.github/workflows/other.yml@refs/tags/v1.2.3",
				"https://github.com/org/app2/.github/workflows/release.yml@refs/tags/v1.2.3",
				"https://github.com/org/app/.github/workflows/releaseXyml@refs/tags/v1.2.3",
			},
		},
		{subject: "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"},
		{subject: "someone@example.com"},
	}
	for _, tc := range tests {
		got := policy.AnyTag(artifact.Requirement{Subject: tc.subject, Issuer: iss})
		if got.SubjectRegexp != tc.want || got.Subject != tc.subject || got.Issuer != iss {
			t.Errorf("AnyTag(%q) = %+v, want regexp %q", tc.subject, got, tc.want)
			continue
		}
		if tc.want == "" {
			continue
		}
		re := regexp.MustCompile(got.SubjectRegexp)
		for _, m := range append([]string{tc.subject}, tc.matches...) {
			if !re.MatchString(m) {
				t.Errorf("%s does not admit %s", got.SubjectRegexp, m)
			}
		}
		for _, m := range tc.not {
			if re.MatchString(m) {
				t.Errorf("%s admits %s", got.SubjectRegexp, m)
			}
		}
	}
	if _, err := policy.Generate(policy.Input{
		Identities: []artifact.Requirement{{Subject: "s", Issuer: iss, SubjectRegexp: "unanchored"}},
		Images:     []policy.Image{{Repository: "ghcr.io/org/app"}},
	}); err == nil || !strings.Contains(err.Error(), "anchored") {
		t.Errorf("an unanchored regexp was accepted: %v", err)
	}
}

// TestHeaderTellsHowSubjectsMatch: the comment above each policy says what
// the rule below it does, exact or any tag.
func TestHeaderTellsHowSubjectsMatch(t *testing.T) {
	t.Parallel()
	exact := artifact.Requirement{Subject: releaseA, Issuer: githubIssuer}
	for _, tc := range []struct {
		id   artifact.Requirement
		want string
	}{
		{exact, "Each subject is the exact workflow ref that signed"},
		{policy.AnyTag(exact), "the workflow that\n# signed, at any tag"},
	} {
		files, err := policy.Generate(policy.Input{Identities: []artifact.Requirement{tc.id}, Images: []policy.Image{{Repository: "ghcr.io/org/app"}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Name != policy.TrustRootFile && !strings.Contains(string(f.Data), tc.want) {
				t.Errorf("%s for %+v does not say %q:\n%s", f.Name, tc.id, tc.want, f.Data)
			}
		}
	}
}
