package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/internal/testbed/fronted"
	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// The identity every benchmark run signs as, through the stand-in's claim
// overrides; tokens live an hour, longer than the slowest cosign loop.
var (
	claims = url.Values{
		"repository":    {"sigil-dev/bench"},
		"workflow_path": {".github/workflows/release.yml"},
		"ref":           {"refs/tags/v1.0.0"},
		"lifetime":      {"1h"},
	}
	identity = tbenv.Identity("sigil-dev/bench", ".github/workflows/release.yml", "refs/tags/v1.0.0")
)

// Upstream names, for the proxy and the report.
const (
	upToken     = fronted.Token
	upFulcio    = fronted.Fulcio
	upRekor     = fronted.Rekor
	upRekorV2   = fronted.RekorV2
	upTSA       = fronted.TSA
	upGHCR      = fronted.RegistryPrefix + "ghcr"
	upDockerHub = fronted.RegistryPrefix + "dockerhub"
)

var upstreamOrder = []string{upToken, upFulcio, upRekor, upRekorV2, upTSA, upGHCR, upDockerHub}

// front fronts the bed's services and its two registries.
func front(e *tbenv.Env, dir string, opts ...latency.Option) (*fronted.Bed, error) {
	return fronted.Start(e, dir, []tbenv.Registry{e.GHCR, e.DockerHub}, opts...)
}

// tokenURL is the token endpoint through its proxy, minting the benchmark
// identity's tokens.
func tokenURL(f *fronted.Bed) string { return f.TokenBase + "&" + claims.Encode() }

// credentialFlags are sigil's --registry-credentials for both proxies.
func credentialFlags(f *fronted.Bed) []string {
	var out []string
	for _, r := range f.Registries {
		out = append(out, "--registry-credentials", r.Credentials())
	}
	return out
}

// token fetches an identity token through the proxy, as a job would.
func token(ctx context.Context, f *fronted.Bed) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tokenURL(f)+"&audience=sigstore", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+f.Env.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: %s: %s", resp.Status, b)
	}
	var v struct{ Value string }
	if err := json.Unmarshal(b, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("token endpoint: no token in %q", b)
	}
	return v.Value, nil
}

// imageSet is N images, each pushed to both registries under repositories
// of their own, referred to by digest through the proxies.
type imageSet struct {
	refs []string // 2N: image i on GHCR, then on Docker Hub
}

// pushSet pushes imgs to repositories prefix/img-NNN on both registries,
// directly (not through the proxies: setting up is not measured), and
// returns the proxied digest references.
func pushSet(ctx context.Context, f *fronted.Bed, prefix string, imgs []remote.Taggable) (imageSet, error) {
	refs := make([]string, 2*len(imgs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, img := range imgs {
		for j, r := range f.Registries {
			g.Go(func() error {
				repo := fmt.Sprintf("%s/img-%03d", prefix, i)
				tag, err := name.NewTag(r.Bed.Host + "/" + repo + ":v1")
				if err != nil {
					return err
				}
				auth := &authn.Basic{Username: r.Bed.User, Password: r.Bed.Password}
				if err := remote.Push(tag, img, remote.WithAuth(auth), remote.WithContext(gctx)); err != nil {
					return fmt.Errorf("pushing %s: %w", tag, err)
				}
				d, err := partial.Digest(img)
				if err != nil {
					return err
				}
				refs[2*i+j] = r.Host + "/" + repo + "@" + d.String()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return imageSet{}, err
	}
	// GHCR refs first, then Docker Hub's, as a workflow lists them.
	var ordered []string
	for j := range f.Registries {
		for i := range imgs {
			ordered = append(ordered, refs[2*i+j])
		}
	}
	return imageSet{refs: ordered}, nil
}

// randomImages returns n small random images (two layers of 256 bytes),
// the first of them a two-platform index (of two such images), as a
// release has: signing it signs the index, as cosign does without
// --recursive.
func randomImages(n int) ([]remote.Taggable, error) {
	imgs := make([]remote.Taggable, n)
	for i := range imgs {
		var err error
		if i == 0 {
			imgs[i], err = random.Index(256, 2, 2)
		} else {
			imgs[i], err = random.Image(256, 2)
		}
		if err != nil {
			return nil, err
		}
	}
	return imgs, nil
}

// refuser is the HTTP(S) proxy of the tools' environment: it refuses
// every request and counts them. Go never proxies loopback, so only a
// request that would leave the machine (a TUF mirror, a public log) reaches
// it.
type refuser struct{ g *latency.Group }

func startRefuser() (*refuser, error) {
	g, err := latency.Start([]latency.Upstream{{Name: "outside", URL: "http://127.0.0.1:9"}},
		latency.WithPolicy(latency.PolicyFunc(func(string, *http.Request) latency.Plan {
			return latency.Plan{Fault: latency.Status(http.StatusForbidden, nil)}
		})))
	if err != nil {
		return nil, err
	}
	return &refuser{g: g}, nil
}

func (r *refuser) URL() string    { return r.g.URL("outside") }
func (r *refuser) Escapes() int64 { return r.g.Stats()["outside"].Requests }
func (r *refuser) Close() error   { return r.g.Close() }
