package policy_test

import (
	"fmt"
	"log"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/policy"
)

// Generate the policies for a release signed on the public Sigstore
// instance, its image pushed to GHCR and mirrored on Docker Hub.
func ExampleGenerate() {
	files, err := policy.Generate(policy.Input{
		Identities: []artifact.Requirement{{
			Subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3",
			Issuer:  "https://token.actions.githubusercontent.com",
		}},
		Images: []policy.Image{
			{Repository: "ghcr.io/org/app", Tag: "v1.2.3"},
			{Repository: "docker.io/org/app", Tag: "v1.2.3"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Name)
	}
	// Output:
	// kyverno-clusterpolicy.yaml
	// policy-controller-clusterimagepolicy.yaml
	// flux-ocirepository-verify.yaml
}
