package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// Env is what a command needs from its surroundings, injected so that tests
// run in parallel.
type Env struct {
	// IDToken returns an OIDC identity token with audience "sigstore".
	IDToken func(ctx context.Context) (string, error)
	// Transport carries every HTTP request. The default is a retrying
	// transport over http.DefaultTransport.
	Transport http.RoundTripper
	// Progress receives one line per finished step. The default discards.
	Progress func(string)
	// GHCRHost is the registry github-token is for. The default is ghcr.io.
	GHCRHost string
	// Now is the clock. The default is time.Now.
	Now func() time.Time
}

func (e *Env) defaults() {
	if e.Transport == nil {
		e.Transport = httpretry.New(pooledTransport())
	}
	if e.Progress == nil {
		e.Progress = func(string) {}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
}

// pooledTransport is http.DefaultTransport keeping enough idle connections
// per host for the run's concurrency: the default keeps 2, so a run signing
// 16 artifacts at once against one registry would open a new connection
// (and, on the internet, a new TLS handshake) for most requests.
func pooledTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	t.MaxIdleConns = 1024
	return t
}

// Signed is the outcome of RunSign.
type Signed struct {
	Result sign.Result
	// CertificateRequests is how many certificates Fulcio issued this run.
	CertificateRequests int
	// TrustedRoot is the trusted root path used ("" for the public one).
	TrustedRoot string
	// PolicyDir holds the generated consumer policies ("" if no image was
	// signed).
	PolicyDir string
	// Warnings are for the log.
	Warnings []string
}

// RunSign validates cfg, then signs its images and files.
func RunSign(ctx context.Context, cfg SignConfig, env Env) (*Signed, error) {
	env.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	files, err := ExpandFiles(cfg.Files)
	if err != nil {
		return nil, err
	}
	services, err := trust.SelectServices(trust.ServiceOptions{
		SigningConfigPath: cfg.SigningConfig, FulcioURL: cfg.FulcioURL, RekorURL: cfg.RekorURL, TSAURL: cfg.TSAURL,
	}, env.Now())
	if err != nil {
		return nil, err
	}
	tr, err := trust.LoadTrustedRoot(cfg.TrustedRoot)
	if err != nil {
		return nil, err
	}
	auth, ropts, err := cfg.remote(env.GHCRHost, env.Transport)
	if err != nil {
		return nil, err
	}
	if env.IDToken == nil {
		return nil, errors.New("no identity token source")
	}
	token := guardPublicLog(env.IDToken, services, cfg.AllowPublicLog)
	s, err := sign.New(
		sign.WithServices(services),
		sign.WithTrustedRoot(tr),
		sign.WithIdentityToken(token),
		sign.WithTransport(env.Transport),
		sign.WithRegistry(auth, ropts...),
		sign.WithFormat(cfg.Format),
		sign.WithRecursive(cfg.Recursive),
		sign.WithAnnotations(cfg.Annotations),
		sign.WithConcurrency(cfg.Concurrency),
		sign.WithClock(env.Now),
		sign.WithProgress(env.Progress),
	)
	if err != nil {
		return nil, err
	}
	out := &Signed{TrustedRoot: cfg.TrustedRoot}
	images, err := s.SignImages(ctx, cfg.Images)
	out.Result.Images = images
	if err != nil {
		out.CertificateRequests = s.CertificateRequests()
		return out, err
	}
	out.Result.Files, err = s.SignFiles(ctx, files)
	out.CertificateRequests = s.CertificateRequests()
	if err != nil {
		return out, err
	}
	if out.Result.Identity, err = s.Identity(ctx); err != nil {
		return out, err
	}
	if dir := cfg.PolicyDir; dir != "" && len(out.Result.Images) > 0 {
		if out.Warnings, err = writePolicies(dir, cfg.TrustedRoot, cfg.PolicyRefs, out.Result); err != nil {
			return out, err
		}
		if hasLegacy(out.Result) {
			out.PolicyDir = dir
		}
	}
	return out, nil
}

// publicRekorHosts are the public instance's logs, where a private
// repository's name would become public.
var publicRekorHosts = map[string]bool{"rekor.sigstore.dev": true, "log2025-1.rekor.sigstore.dev": true}

// guardPublicLog refuses, before any certificate is requested, a token
// whose repository is private when a log is the public one, unless the
// user opted in: the certificate in each log entry names the repository.
func guardPublicLog(token func(context.Context) (string, error), s trust.Services, allow bool) func(context.Context) (string, error) {
	if allow {
		return token
	}
	public := ""
	for _, u := range []string{s.RekorURL, s.LegacyRekorURL} {
		if p, err := url.Parse(u); err == nil && (publicRekorHosts[p.Hostname()] || strings.HasSuffix(p.Hostname(), ".rekor.sigstore.dev")) {
			public = u
		}
	}
	if public == "" {
		return token
	}
	return func(ctx context.Context) (string, error) {
		t, err := token(ctx)
		if err != nil {
			return "", err
		}
		if visibility(t) == "private" {
			return "", fmt.Errorf("this repository is private, and signing would write its name to the public transparency log at %s: set allow-public-log: true to accept that, or use a private Sigstore (signing-config, trusted-root)", public)
		}
		return t, nil
	}
}

// visibility reads the repository_visibility claim of a GitHub token,
// unverified (Fulcio verifies the token; this only decides whether to ask).
func visibility(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Visibility string `json:"repository_visibility"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.Visibility
}
