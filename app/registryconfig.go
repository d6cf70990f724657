package app

import (
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
)

// RegistryConfig is how sigil authenticates to registries, shared by sign
// and verify.
type RegistryConfig struct {
	GitHubToken     string
	GitHubActor     string
	Credentials     []registry.Credential
	DockerConfigDir string
	// GHCRHost is the registry GitHubToken is for; the default is ghcr.io.
	GHCRHost string
}

// secrets are the values to keep out of logs.
func (c RegistryConfig) secrets() []string {
	out := []string{c.GitHubToken}
	for _, cr := range c.Credentials {
		out = append(out, cr.Password)
	}
	return out
}

// remote returns the registry credentials, the go-containerregistry
// options every registry call of the run shares (one connection pool, one
// ping per registry, one authentication per repository and scope) and the
// push transports sign writes through, over the same pings. name renders
// settings in error messages as the front end calls them.
func (c RegistryConfig) remote(t http.RoundTripper, name func(setting.Setting) string) (registry.Auth, []remote.Option, *registry.Pushes, error) {
	auth := registry.Auth{Credentials: c.Credentials, GitHubToken: c.GitHubToken, GitHubActor: c.GitHubActor, GHCRHost: c.GHCRHost, DockerConfigDir: c.DockerConfigDir, Name: name}
	kc, err := auth.Keychain()
	if err != nil {
		return auth, nil, nil, err
	}
	t = registry.OnePing(t)
	opts, err := registry.Reusing(registry.RemoteOptions(kc, t, userAgent))
	return auth, opts, registry.NewPushes(kc, t, userAgent), err
}

// userAgent names sigil to registries.
const userAgent = "sigil"
