package registry

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/setting"
)

// DockerHub is the canonical name of Docker Hub's registry.
const DockerHub = "index.docker.io"

// Auth says which credentials sigil presents to which registry.
type Auth struct {
	// Credentials are explicit entries; they win over everything else.
	Credentials []Credential
	// GitHubToken is presented to GHCRHost (the workflow's github.token).
	GitHubToken string
	// GitHubActor is the username that goes with GitHubToken. The default is
	// "x-access-token".
	GitHubActor string
	// GHCRHost is the registry GitHubToken is for. The default is "ghcr.io".
	GHCRHost string
	// DockerConfigDir, when set, is a directory with a Docker config.json
	// whose auths are used for the remaining registries.
	DockerConfigDir string
	// Name says how the caller's front end names a setting in error
	// messages (an action input, a CLI flag). The default is the setting's
	// own name.
	Name func(setting.Setting) string
}

// canonical is host as NormalizeHost writes it, or host lower-cased when it
// is no valid host name (it then matches nothing).
func canonical(host string) string {
	if h, err := NormalizeHost(host); err == nil {
		return h
	}
	return strings.ToLower(strings.TrimSpace(host))
}

func (a Auth) name(s setting.Setting) string {
	if a.Name == nil {
		return string(s)
	}
	return a.Name(s)
}

// Source says where the credentials for host come from, for error messages;
// it names the setting, never the secret.
func (a Auth) Source(host string) string {
	host = canonical(host)
	for _, c := range a.Credentials {
		if canonical(c.Host) == host {
			return fmt.Sprintf("the %s entry for %s", a.name(setting.Credentials), c.Host)
		}
	}
	if a.GitHubToken != "" && host == canonical(a.ghcr()) {
		return a.name(setting.GitHubToken)
	}
	if a.DockerConfigDir != "" {
		return "the Docker config in " + a.DockerConfigDir
	}
	return anonymous
}

// anonymous is Source's answer for a registry sigil has no credentials for.
const anonymous = "no credentials (anonymous)"

func (a Auth) ghcr() string {
	if a.GHCRHost == "" {
		return "ghcr.io"
	}
	return a.GHCRHost
}

// Keychain returns the keychain that resolves credentials as Auth says.
func (a Auth) Keychain() (authn.Keychain, error) {
	chain := []authn.Keychain{a}
	if a.DockerConfigDir != "" {
		cfg := filepath.Join(a.DockerConfigDir, "config.json")
		if _, err := os.Stat(cfg); err != nil {
			return nil, fmt.Errorf("docker config: %w (DOCKER_CONFIG must name a directory holding config.json)", err)
		}
		chain = append(chain, dockerConfig{dir: a.DockerConfigDir})
	}
	return keychain{Keychain: authn.NewMultiKeychain(chain...), auth: a}, nil
}

// Resolve implements authn.Keychain for the explicit credentials and the
// GitHub token.
func (a Auth) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := canonical(r.RegistryStr())
	for _, c := range a.Credentials {
		if canonical(c.Host) == host {
			return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password}), nil
		}
	}
	if a.GitHubToken != "" && host == canonical(a.ghcr()) {
		user := a.GitHubActor
		if user == "" {
			user = "x-access-token"
		}
		return authn.FromConfig(authn.AuthConfig{Username: user, Password: a.GitHubToken}), nil
	}
	return authn.Anonymous, nil
}

// dockerConfig reads one named Docker config directory. authn.DefaultKeychain
// reads $DOCKER_CONFIG from the process environment itself; sigil passes the
// directory explicitly instead, so that library code reads no environment.
type dockerConfig struct{ dir string }

func (d dockerConfig) Resolve(r authn.Resource) (authn.Authenticator, error) {
	cf, err := loadDockerConfig(d.dir)
	if err != nil {
		return nil, err
	}
	key := r.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	cfg, err := cf.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("docker config %s: %w", d.dir, err)
	}
	if cfg.Username == "" && cfg.Password == "" && cfg.Auth == "" && cfg.IdentityToken == "" && cfg.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
	}), nil
}

// RemoteOptions are the go-containerregistry options for every registry call
// of one run: credentials and transport (t, or remote.DefaultTransport when
// nil, under sigil's fixes: see roundTripper). The context is added per call.
//
// go-containerregistry's own retries are off: t retries (sigil's is
// httpretry's, honouring Retry-After), and retries on top of retries
// multiply a lasting fault's time. A registry that fails for good is
// reported as an *httpretry.ServiceError naming it.
func RemoteOptions(kc authn.Keychain, t http.RoundTripper, userAgent string) []remote.Option {
	opts := []remote.Option{
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(roundTripper(kc, t)),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryStatusCodes(),
	}
	if userAgent != "" {
		opts = append(opts, remote.WithUserAgent(userAgent))
	}
	return opts
}

// Reusing adds to opts one go-containerregistry Puller and one Pusher
// shared by every call of the run. Without them each call pings the
// registry and authenticates anew (a token exchange per call on ghcr.io and
// Docker Hub); with them that happens once per repository.
//
// A Puller also bounds how many blobs are read at once across everything
// it serves, 4 by default (remote.WithJobs): shared by the whole run, that
// made every target's signature layers and bundles wait in one queue (a
// re-run of 100 signed images took 6 s, 4.5 s of it in that queue). The
// run's own concurrency bounds the targets; each reads a few blobs at once.
func Reusing(opts []remote.Option) ([]remote.Option, error) {
	opts = append(append([]remote.Option{}, opts...), remote.WithJobs(blobJobs))
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, err
	}
	return append(opts, remote.Reuse(puller), remote.Reuse(pusher)), nil
}

// blobJobs is how many blobs one run reads (or one write uploads) at once:
// four for each of the most targets a run handles at once.
const blobJobs = 4 * setting.MaxConcurrency
