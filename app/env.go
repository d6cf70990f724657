package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/trust"
)

// Env is what a command needs from its surroundings, injected so that tests
// run in parallel.
type Env struct {
	// IDToken returns an OIDC identity token with audience "sigstore".
	IDToken func(ctx context.Context) (string, error)
	// Transport carries every HTTP request. The default is a retrying
	// transport over a pooled http.Transport.
	Transport http.RoundTripper
	// Progress receives one line per finished step. The default discards.
	Progress func(string)
	// Warn receives what the user should know but need not fail the run
	// for. The default discards.
	Warn func(string)
	// Now is the clock. The default is time.Now.
	Now func() time.Time
	// Name renders a setting in messages as the front end calls it (an
	// input, a flag). The default is the setting's own name.
	Name func(setting.Setting) string
}

func (e *Env) defaults() {
	if e.Transport == nil {
		e.Transport = httpretry.New(pooledTransport())
	}
	if e.Progress == nil {
		e.Progress = func(string) {}
	}
	if e.Warn == nil {
		e.Warn = func(string) {}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Name == nil {
		e.Name = func(s setting.Setting) string { return string(s) }
	}
}

// pooledTransport is http.DefaultTransport keeping enough idle connections
// per host for the run's concurrency: the default keeps 2, so a run signing
// 16 artifacts at once against one registry would open a new connection
// (and, on the internet, a new TLS handshake) for most requests.
func pooledTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = setting.MaxConcurrency
	t.MaxIdleConns = 4 * setting.MaxConcurrency
	return t
}

// deployment is what sign and verify set up the same way: the trusted root
// (loaded once a run) and the registry access.
type deployment struct {
	trustedRoot *root.TrustedRoot
	auth        registry.Auth
	remote      []remote.Option
}

func setUp(trustedRoot string, reg RegistryConfig, env Env) (*deployment, error) {
	tr, err := trust.LoadTrustedRoot(trustedRoot)
	if err != nil {
		return nil, err
	}
	if dir := reg.DockerConfigDir; dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			// Credentials nobody may need: say so, and go on without.
			env.Warn(fmt.Sprintf("DOCKER_CONFIG names %s, which holds no config.json here (%v): its credentials are not used; in a container action, put it under the workspace", dir, err))
			reg.DockerConfigDir = ""
		}
	}
	auth, ropts, err := reg.remote(env.Transport, env.Name)
	if err != nil {
		return nil, err
	}
	return &deployment{trustedRoot: tr, auth: auth, remote: ropts}, nil
}
