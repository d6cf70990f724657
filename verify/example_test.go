package verify_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/trust"
	"github.com/sigil-dev/sigil/verify"
)

// Verify a release image the way a downstream job does: signed by the
// release workflow of sigil-dev/sigil for a v* tag, on a GitHub-hosted
// runner, in either signature format.
func Example() {
	ctx := context.Background()
	policy, err := verify.NewPolicy(
		verify.WithRepository("sigil-dev/sigil"),
		verify.WithWorkflow(".github/workflows/release.yml"),
		verify.WithRef("refs/tags/v*"),
		verify.WithRunnerEnvironment(verify.RunnerGitHubHosted),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	// The public Sigstore instance's trusted root (through TUF), or a file.
	tr, err := trust.LoadTrustedRoot("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	auth := registry.Auth{}
	kc, err := auth.Keychain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	v, err := verify.New(tr, policy, verify.WithRegistry(auth, registry.RemoteOptions(kc, nil, "sigil")...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	report, err := v.VerifyImages(ctx, []string{"ghcr.io/sigil-dev/sigil:v1.0.0"})
	fmt.Print(report.Text())
	var failed *verify.Error
	if errors.As(err, &failed) {
		fmt.Fprintf(os.Stderr, "%d artifact(s) failed\n", len(failed.Failed))
	}
}

// The GitHub presets become an anchored subject expression and certificate
// extension checks.
func ExampleNewPolicy() {
	policy, err := verify.NewPolicy(
		verify.WithRepository("sigil-dev/sigil"),
		verify.WithWorkflow("release.yml"),
		verify.WithRef("refs/tags/v*"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(policy.Expected().SubjectRegexp)
	fmt.Println(policy)

	_, err = verify.NewPolicy(verify.WithIssuer(verify.GitHubIssuer))
	fmt.Println(err != nil)
	// Output:
	// ^https://github\.com/sigil-dev/sigil/\.github/workflows/release\.yml@refs/tags/v[^/]*$
	// subject matching ^https://github\.com/sigil-dev/sigil/\.github/workflows/release\.yml@refs/tags/v[^/]*$, issuer https://token.actions.githubusercontent.com, source repository https://github.com/sigil-dev/sigil
	// true
}
