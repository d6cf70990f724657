package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
	// transport over a pooled http.Transport, each attempt bounded by the
	// run's request timeout.
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
	// TUFCache is where the TUF repository's verified metadata is kept.
	// The default is the user's cache directory (sigil/tuf under it); the
	// action uses a directory of the container's own that goes away with
	// it (see trust.TUFOptions.CacheDir).
	TUFCache string
}

func (e *Env) defaults(requestTimeout time.Duration, ghcrHost string) {
	if e.Transport == nil {
		e.Transport = &httpretry.Transport{Base: pooledTransport(), Timeout: requestTimeout, Pacer: pacer(ghcrHost)}
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

// ghcrBudget is the request rate sigil keeps to on GHCR: the 2,000
// requests a minute GHCR states when it refuses one over its limit ("429
// TOOMANYREQUESTS: retry-after: 10.305464ms, allowed: 2000/minute" on
// pushes, chainguard-images/images#173, gardenlinux/gardenlinux#2868; pulls
// have been refused at "allowed: 44000/minute", dependabot/cli#380, so the
// lower figure is the one to design for). GHCR states no burst; 100
// requests at once (about 3 s at that rate) lets a small release go
// unpaced, and a 429 takes the burst away anyway (httpretry.Pacer).
var ghcrBudget = httpretry.Budget{Requests: 2000, Per: time.Minute, Burst: 100}

// publicRekorBudget is the rate the public Rekor v1 allows a client
// address: "rekor ... only allows 500 requests per minute", found as 429s
// by a signer of many images (chainguard-dev/terraform-provider-cosign#54,
// which then paced itself to 5 a second, #55); the public instance limits
// by IP address with Cloud Armor (sigstore/rekor-tiles#354). Sigstore
// documents no figure. A release of 100 images on two registries makes 200
// entries in the legacy format and 100 more for the bundles, so it is
// paced: about 40 s of a run goes to waiting for the log's budget.
var publicRekorBudget = httpretry.Budget{Requests: 500, Per: time.Minute, Burst: 50}

// pacer paces the run's requests per host: every host is held back after
// a 429, the GHCR host (ghcr.io, or the one SIGIL_GHCR_HOST names) is kept
// within ghcrBudget, and the public Rekor v1 within publicRekorBudget.
func pacer(ghcrHost string) *httpretry.Pacer {
	if ghcrHost = strings.TrimSpace(ghcrHost); ghcrHost == "" {
		ghcrHost = "ghcr.io"
	}
	return &httpretry.Pacer{Budgets: map[string]httpretry.Budget{ghcrHost: ghcrBudget, "rekor.sigstore.dev": publicRekorBudget}}
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
// (loaded once a run, from a file or through TUF), the signing config TUF
// distributes when sign needs one, and the registry access.
type deployment struct {
	trustedRoot *root.TrustedRoot
	// policyRoot is the trusted root the generated policies carry: nil for
	// the public instance, whose roots the cluster tools know.
	policyRoot *root.TrustedRoot
	// signingConfig is TUF's signing config, when asked for.
	signingConfig *root.SigningConfig
	auth          registry.Auth
	remote        []remote.Option
	// pushes are sign's per-repository push transports, over the same
	// credentials and transport as remote.
	pushes *registry.Pushes
}

// setUp loads the trust material and the registry access. A trusted root
// not given as a file, and a signing config when wantConfig, come from the
// TUF repository the settings name (the public instance's by default),
// opened once.
func setUp(ctx context.Context, a Artifacts, wantConfig, rekorV2 bool, env Env) (*deployment, error) {
	d := &deployment{}
	var tu *trust.TUF
	openTUF := func() (*trust.TUF, error) {
		if tu != nil {
			return tu, nil
		}
		o := trust.TUFOptions{MirrorURL: a.TUFMirror, CacheDir: env.TUFCache, Transport: env.Transport}
		if a.TUFRoot != "" {
			b, err := os.ReadFile(a.TUFRoot)
			if err != nil {
				return nil, setting.Errorf(setting.TUFRoot, "reading %v", err)
			}
			o.InitialRoot = b
		}
		if o.CacheDir == "" {
			dir, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("no directory for the TUF cache (%w): set $XDG_CACHE_HOME or $HOME", err)
			}
			o.CacheDir = filepath.Join(dir, "sigil", "tuf")
		}
		var err error
		tu, err = trust.OpenTUF(ctx, o)
		return tu, err
	}
	if a.TrustedRoot != "" {
		tr, err := trust.LoadTrustedRoot(a.TrustedRoot)
		if err != nil {
			return nil, err
		}
		d.trustedRoot, d.policyRoot = tr, tr
	} else {
		t, err := openTUF()
		if err != nil {
			return nil, err
		}
		if d.trustedRoot, err = t.TrustedRoot(); err != nil {
			return nil, err
		}
		if t.Mirror() != trust.PublicTUFMirror {
			d.policyRoot = d.trustedRoot
		}
	}
	if wantConfig {
		t, err := openTUF()
		if err != nil {
			return nil, err
		}
		if d.signingConfig, err = t.SigningConfig(rekorV2); err != nil {
			return nil, err
		}
	}
	reg := a.RegistryConfig
	if dir := reg.DockerConfigDir; dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			// Credentials nobody may need: say so, and go on without.
			env.Warn(fmt.Sprintf("DOCKER_CONFIG names %s, which holds no config.json here (%v): its credentials are not used; in a container action, put it under the workspace", dir, err))
			reg.DockerConfigDir = ""
		}
	}
	var err error
	if d.auth, d.remote, d.pushes, err = reg.remote(env.Transport, env.Name); err != nil {
		return nil, err
	}
	return d, nil
}
