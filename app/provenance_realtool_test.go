package app

import (
	"strings"
	"testing"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/trust"
)

// TestRealToolsProvenance checks the provenance requirement of the
// generated policies with the real Kyverno CLI and policy-controller's
// tester on the bed. cosign 2 signs each image and attests SLSA provenance
// built by package provenance in cosign's legacy .att (what both tools
// read), as the release workflow: the image whose provenance is the run's
// is admitted; one whose provenance names another repository (signed by
// the same workflow, so only the predicate is wrong), and one without
// provenance, are refused.
func TestRealToolsProvenance(t *testing.T) {
	e := tbenv.Load(t)
	tl := findTools(t)
	tr, err := trust.LoadTrustedRoot(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, e)
	const (
		repoName = "sigil-dev/demo"
		workflow = ".github/workflows/release.yml"
		ref      = "refs/tags/v1.0.0"
	)
	claims := tbenv.Claims{"repository": {repoName}, "workflow_path": {workflow}, "ref": {ref}, "run_id": {tbenv.UniqueRunID(t)}}

	repo := tbenv.UniqueRepo(t)
	images := map[string][]string{} // case -> digest reference on each registry, GHCR first
	var signed []policy.Image
	for _, tag := range []string{"provenance", "other-repository", "no-provenance"} {
		for _, d := range e.PushRandomImage(t, repo, tag) {
			images[tag] = append(images[tag], d.String())
			signed = append(signed, policy.Image{Repository: d.Context().Name(), Tag: tag})
		}
	}
	// The predicates: the run's own, and one naming another repository.
	token := e.IDToken(t, "sigstore", claims)
	c, err := provenance.ClaimsFromToken(token)
	if err != nil {
		t.Fatal(err)
	}
	own := tbenv.ProvenanceFile(t, c)
	c.Repository = "evil/demo"
	c.WorkflowRef = "evil/demo/" + workflow + "@" + ref
	other := tbenv.ProvenanceFile(t, c)

	cosign := func(args ...string) {
		t.Helper()
		base := []string{"--yes", "--identity-token=" + token, "--fulcio-url=" + e.FulcioURL, "--rekor-url=" + e.RekorURL, "--trusted-root=" + e.TrustedRoot}
		if out, code := r.run(t, e.Cosign2, append(append(args[:1:1], base...), args[1:]...)...); code != 0 {
			t.Fatalf("cosign %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	for tag, refs := range images {
		for _, d := range refs {
			cosign("sign", d)
			switch tag {
			case "provenance":
				cosign("attest", "--type=slsaprovenance1", "--predicate="+own, d)
			case "other-repository":
				cosign("attest", "--type=slsaprovenance1", "--predicate="+other, d)
			}
		}
	}

	dir := writeInput(t, policy.Input{
		Identities:  []artifact.Requirement{{Subject: tbenv.Identity(repoName, workflow, ref), Issuer: e.Issuer}},
		Images:      signed,
		TrustedRoot: tr,
		RekorURL:    e.RekorURL,
		Provenance:  true,
	})
	tools := map[string]func(image string) verdict{
		"kyverno":       func(image string) verdict { return kyvernoApply(t, r, tl, dir, image) },
		"policy-tester": func(image string) verdict { return policyTest(t, r, tl, dir, image) },
	}
	// want: "" admits; otherwise the tool refuses with that text.
	cases := []struct {
		image string
		want  map[string]string
	}{
		{"provenance", map[string]string{"kyverno": "", "policy-tester": ""}},
		{"other-repository", map[string]string{"kyverno": "attestation checks failed", "policy-tester": `conflicting values "https://github.com/evil/demo"`}},
		{"no-provenance", map[string]string{"kyverno": "no matching attestations", "policy-tester": "no matching attestations"}},
	}
	for i, reg := range e.Registries() {
		for _, tc := range cases {
			t.Run(reg.Name+"/"+tc.image, func(t *testing.T) {
				image := images[tc.image][i]
				for tool, want := range tc.want {
					expect(t, tool, image, tools[tool](image), want)
				}
			})
		}
	}
}
