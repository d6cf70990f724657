package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"

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
	upToken     = "token"
	upFulcio    = "fulcio"
	upRekor     = "rekor"
	upRekorV2   = "rekor-v2"
	upTSA       = "tsa"
	upGHCR      = "ghcr"
	upDockerHub = "dockerhub"
)

var upstreamOrder = []string{upToken, upFulcio, upRekor, upRekorV2, upTSA, upGHCR, upDockerHub}

// fronted is the bed as a far client sees it: every URL and registry host
// is a proxy's.
type fronted struct {
	env   *tbenv.Env
	proxy *latency.Group
	dir   string

	tokenURL      string // ACTIONS_ID_TOKEN_REQUEST_URL with the claims
	signingConfig string
	trustedRoot   string
	dockerConfig  string // a directory
	registries    []frontedRegistry
}

type frontedRegistry struct {
	bed   tbenv.Registry // the registry itself, for setting up images
	proxy string         // host:port of its proxy
}

// front starts the proxies and writes the proxy-fronted trust files and
// Docker config into dir.
func front(e *tbenv.Env, dir string, opts ...latency.Option) (*fronted, error) {
	tokenBase, err := url.Parse(e.TokenURL)
	if err != nil {
		return nil, err
	}
	ups := []latency.Upstream{
		{Name: upToken, URL: tokenBase.Scheme + "://" + tokenBase.Host},
		{Name: upFulcio, URL: e.FulcioURL},
		{Name: upRekor, URL: e.RekorURL},
		{Name: upRekorV2, URL: e.RekorV2URL},
		{Name: upTSA, URL: e.TSAURL},
		{Name: upGHCR, URL: "http://" + e.GHCR.Host},
		{Name: upDockerHub, URL: "http://" + e.DockerHub.Host},
	}
	g, err := latency.Start(ups, opts...)
	if err != nil {
		return nil, err
	}
	f := &fronted{env: e, proxy: g, dir: dir}
	var pairs []string
	for _, u := range ups {
		pairs = append(pairs, strings.TrimSuffix(u.URL, "/"), g.URL(u.Name))
	}
	rewrite := strings.NewReplacer(pairs...).Replace
	tu := *tokenBase
	tu.Host = g.Host(upToken)
	f.tokenURL = tu.String() + "&" + claims.Encode()
	if f.signingConfig, err = rewriteSigningConfig(e.SigningConfig, filepath.Join(dir, "signing_config.json"), rewrite); err != nil {
		g.Close()
		return nil, err
	}
	if f.trustedRoot, err = rewriteTrustedRoot(e.TrustedRoot, filepath.Join(dir, "trusted_root.json"), rewrite); err != nil {
		g.Close()
		return nil, err
	}
	f.registries = []frontedRegistry{{bed: e.GHCR, proxy: g.Host(upGHCR)}, {bed: e.DockerHub, proxy: g.Host(upDockerHub)}}
	f.dockerConfig = filepath.Join(dir, "docker")
	if err := f.writeDockerConfig(); err != nil {
		g.Close()
		return nil, err
	}
	return f, nil
}

func (f *fronted) Close() error { return f.proxy.Close() }

// rewriteSigningConfig writes a copy of the signing config at in whose
// service URLs point at the proxies.
func rewriteSigningConfig(in, out string, rewrite func(string) string) (string, error) {
	b, err := os.ReadFile(in)
	if err != nil {
		return "", err
	}
	var sc prototrustroot.SigningConfig
	if err := protojson.Unmarshal(b, &sc); err != nil {
		return "", fmt.Errorf("signing config %s: %w", in, err)
	}
	for _, ss := range [][]*prototrustroot.Service{sc.CaUrls, sc.RekorTlogUrls, sc.TsaUrls, sc.OidcUrls} {
		for _, s := range ss {
			s.Url = rewrite(s.Url)
		}
	}
	b, err = protojson.Marshal(&sc)
	if err != nil {
		return "", err
	}
	if _, err := root.NewSigningConfigFromJSON(b); err != nil {
		return "", fmt.Errorf("the rewritten signing config does not load: %w", err)
	}
	return out, os.WriteFile(out, b, 0o644)
}

// rewriteTrustedRoot writes a copy of the trusted root at in whose service
// URLs point at the proxies. The keys and certificates are the same:
// verification does not depend on the URLs.
func rewriteTrustedRoot(in, out string, rewrite func(string) string) (string, error) {
	b, err := os.ReadFile(in)
	if err != nil {
		return "", err
	}
	var tr prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(b, &tr); err != nil {
		return "", fmt.Errorf("trusted root %s: %w", in, err)
	}
	for _, l := range append(tr.Tlogs, tr.Ctlogs...) {
		l.BaseUrl = rewrite(l.BaseUrl)
	}
	for _, ca := range append(tr.CertificateAuthorities, tr.TimestampAuthorities...) {
		ca.Uri = rewrite(ca.Uri)
	}
	b, err = protojson.Marshal(&tr)
	if err != nil {
		return "", err
	}
	if _, err := root.NewTrustedRootFromJSON(b); err != nil {
		return "", fmt.Errorf("the rewritten trusted root does not load: %w", err)
	}
	return out, os.WriteFile(out, b, 0o644)
}

// writeDockerConfig writes config.json with the credentials of both
// registries under their proxies' hosts, for cosign.
func (f *fronted) writeDockerConfig() error {
	auths := map[string]map[string]string{}
	for _, r := range f.registries {
		auths[r.proxy] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.bed.User + ":" + r.bed.Password))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dockerConfig, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.dockerConfig, "config.json"), b, 0o600)
}

// credentialFlags are sigil's --registry-credentials for both proxies.
func (f *fronted) credentialFlags() []string {
	var out []string
	for _, r := range f.registries {
		out = append(out, "--registry-credentials", r.proxy+"="+r.bed.User+":"+r.bed.Password)
	}
	return out
}

// token fetches an identity token through the proxy, as a job would.
func (f *fronted) token(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.tokenURL+"&audience=sigstore", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+f.env.Token)
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
func (f *fronted) pushSet(ctx context.Context, prefix string, imgs []v1.Image) (imageSet, error) {
	refs := make([]string, 2*len(imgs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, img := range imgs {
		for j, r := range f.registries {
			g.Go(func() error {
				repo := fmt.Sprintf("%s/img-%03d", prefix, i)
				tag, err := name.NewTag(r.bed.Host + "/" + repo + ":v1")
				if err != nil {
					return err
				}
				auth := &authn.Basic{Username: r.bed.User, Password: r.bed.Password}
				if err := remote.Write(tag, img, remote.WithAuth(auth), remote.WithContext(gctx)); err != nil {
					return fmt.Errorf("pushing %s: %w", tag, err)
				}
				d, err := img.Digest()
				if err != nil {
					return err
				}
				refs[2*i+j] = r.proxy + "/" + repo + "@" + d.String()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return imageSet{}, err
	}
	// GHCR refs first, then Docker Hub's, as a workflow lists them.
	var ordered []string
	for j := range f.registries {
		for i := range imgs {
			ordered = append(ordered, refs[2*i+j])
		}
	}
	return imageSet{refs: ordered}, nil
}

// randomImages returns n small random images (two layers of 256 bytes).
func randomImages(n int) ([]v1.Image, error) {
	imgs := make([]v1.Image, n)
	for i := range imgs {
		img, err := random.Image(256, 2)
		if err != nil {
			return nil, err
		}
		imgs[i] = img
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
