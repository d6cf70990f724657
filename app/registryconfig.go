package app

import (
	"fmt"
	"strconv"

	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/ghaction/inputlist"
	"github.com/sigil-dev/sigil/registry"
)

// RegistryConfig is how sigil authenticates to registries, shared by sign
// and verify.
type RegistryConfig struct {
	GitHubToken     string
	GitHubActor     string
	Credentials     []inputlist.Credential
	DockerConfigDir string
}

// remote returns the registry credentials and the go-containerregistry
// options every registry call of the run shares (one connection pool, one
// authentication per repository).
func (c RegistryConfig) remote(ghcrHost string, t http.RoundTripper) (registry.Auth, []remote.Option, error) {
	auth := registry.Auth{Credentials: c.Credentials, GitHubToken: c.GitHubToken, GitHubActor: c.GitHubActor, GHCRHost: ghcrHost, DockerConfigDir: c.DockerConfigDir}
	kc, err := auth.Keychain()
	if err != nil {
		return auth, nil, err
	}
	opts, err := registry.Reusing(registry.RemoteOptions(kc, t, userAgent))
	return auth, opts, err
}

// userAgent names sigil to registries.
const userAgent = "sigil"

// registryInputs reads the registry inputs shared by both modes, masking the
// token (InputCredentials masks the passwords).
func registryInputs(rt *ghaction.Runtime, getenv func(string) string) (RegistryConfig, error) {
	c := RegistryConfig{
		GitHubToken:     rt.Input("github-token"),
		GitHubActor:     getenv("GITHUB_ACTOR"),
		DockerConfigDir: getenv("DOCKER_CONFIG"),
	}
	if c.GitHubToken != "" {
		if err := rt.AddMask(c.GitHubToken); err != nil {
			return c, err
		}
	}
	var err error
	c.Credentials, err = rt.InputCredentials("registry-credentials")
	return c, err
}

// concurrencyInput reads the concurrency input; empty means the default.
func concurrencyInput(rt *ghaction.Runtime) (int, error) {
	c := rt.Input("concurrency")
	if c == "" {
		return DefaultConcurrency, nil
	}
	n, err := strconv.Atoi(c)
	if err != nil {
		return 0, fmt.Errorf("concurrency %q: want a whole number", c)
	}
	return n, nil
}
