// Package fronted puts the test bed behind the latency proxy (package
// latency): every service and registry is reached through a proxy of its
// own, as a far client reaches the real ones, so that a benchmark can add
// round-trip time and a test can inject faults service by service.
//
// Start fronts the bed and writes, into a directory of the caller's, the
// bed's signing configs and trusted root with every URL pointing at the
// proxies (the keys and certificates unchanged: verification does not
// depend on URLs), and a Docker config with the registries' credentials
// under their proxies' hosts.
package fronted

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// The upstreams' names, as the proxy reports them and policies see them.
const (
	Token          = "token"
	Fulcio         = "fulcio"
	Rekor          = "rekor"
	RekorV2        = "rekor-v2"
	TSA            = "tsa"
	RegistryPrefix = "registry:" // + the registry's name, e.g. "registry:ghcr"
)

// Services are the Sigstore upstreams, in order; registries follow them.
var Services = []string{Token, Fulcio, Rekor, RekorV2, TSA}

// Bed is the test bed as a far client sees it.
type Bed struct {
	Env   *tbenv.Env
	Proxy *latency.Group
	// TokenBase is the token endpoint through its proxy, with the query
	// the bed's endpoint takes (api-version), without claims.
	TokenBase string
	// SigningConfig (Fulcio, Rekor v1), SigningConfigV2 (Fulcio, Rekor v2,
	// the TSA) and TrustedRoot are files naming the proxies.
	SigningConfig, SigningConfigV2, TrustedRoot string
	// DockerConfig is a directory whose config.json has the registries'
	// credentials under their proxies' hosts.
	DockerConfig string
	// Registries are the fronted registries, in the order given.
	Registries []Registry
}

// Registry is one of the bed's registries and its proxy.
type Registry struct {
	Bed tbenv.Registry
	// Host is the proxy's host:port, which clients use.
	Host string
}

// Credentials is a registry-credentials line for the proxy's host.
func (r Registry) Credentials() string { return r.Host + "=" + r.Bed.User + ":" + r.Bed.Password }

// Start fronts e's services and the given registries with proxies, and
// writes the trust files and Docker config into dir.
func Start(e *tbenv.Env, dir string, registries []tbenv.Registry, opts ...latency.Option) (*Bed, error) {
	tokenURL, err := url.Parse(e.TokenURL)
	if err != nil {
		return nil, err
	}
	ups := []latency.Upstream{
		{Name: Token, URL: tokenURL.Scheme + "://" + tokenURL.Host},
		{Name: Fulcio, URL: e.FulcioURL},
		{Name: Rekor, URL: e.RekorURL},
		{Name: RekorV2, URL: e.RekorV2URL},
		{Name: TSA, URL: e.TSAURL},
	}
	for _, r := range registries {
		ups = append(ups, latency.Upstream{Name: RegistryPrefix + r.Name, URL: "http://" + r.Host})
	}
	g, err := latency.Start(ups, opts...)
	if err != nil {
		return nil, err
	}
	b := &Bed{Env: e, Proxy: g}
	var pairs []string
	for _, u := range ups {
		pairs = append(pairs, strings.TrimSuffix(u.URL, "/"), g.URL(u.Name))
	}
	rewrite := strings.NewReplacer(pairs...).Replace
	tu := *tokenURL
	tu.Host = g.Host(Token)
	b.TokenBase = tu.String()
	for _, r := range registries {
		b.Registries = append(b.Registries, Registry{Bed: r, Host: g.Host(RegistryPrefix + r.Name)})
	}
	for _, f := range []struct {
		in  string
		out *string
		fn  func(in, out string, rewrite func(string) string) error
	}{
		{e.SigningConfig, &b.SigningConfig, rewriteSigningConfig},
		{e.SigningConfigV2, &b.SigningConfigV2, rewriteSigningConfig},
		{e.TrustedRoot, &b.TrustedRoot, rewriteTrustedRoot},
	} {
		*f.out = filepath.Join(dir, filepath.Base(f.in))
		if err := f.fn(f.in, *f.out, rewrite); err != nil {
			g.Close()
			return nil, err
		}
	}
	b.DockerConfig = filepath.Join(dir, "docker")
	if err := b.writeDockerConfig(); err != nil {
		g.Close()
		return nil, err
	}
	return b, nil
}

// Close stops the proxies.
func (b *Bed) Close() error { return b.Proxy.Close() }

// ActionsEnv is the token endpoint's variables through the proxy, minting
// tokens with claims (see tbenv.Env.ActionsEnv).
func (b *Bed) ActionsEnv(claims tbenv.Claims) []string {
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + b.TokenBase + "&" + url.Values(claims).Encode(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + b.Env.Token,
	}
}

// Credentials are the registry-credentials lines of every proxy.
func (b *Bed) Credentials() string {
	var lines []string
	for _, r := range b.Registries {
		lines = append(lines, r.Credentials())
	}
	return strings.Join(lines, "\n")
}

// rewriteSigningConfig writes a copy of the signing config at in whose
// service URLs point at the proxies.
func rewriteSigningConfig(in, out string, rewrite func(string) string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var sc prototrustroot.SigningConfig
	if err := protojson.Unmarshal(b, &sc); err != nil {
		return fmt.Errorf("signing config %s: %w", in, err)
	}
	for _, ss := range [][]*prototrustroot.Service{sc.CaUrls, sc.RekorTlogUrls, sc.TsaUrls, sc.OidcUrls} {
		for _, s := range ss {
			s.Url = rewrite(s.Url)
		}
	}
	if b, err = protojson.Marshal(&sc); err != nil {
		return err
	}
	if _, err := root.NewSigningConfigFromJSON(b); err != nil {
		return fmt.Errorf("the rewritten signing config does not load: %w", err)
	}
	return os.WriteFile(out, b, 0o644)
}

// rewriteTrustedRoot writes a copy of the trusted root at in whose service
// URLs point at the proxies.
func rewriteTrustedRoot(in, out string, rewrite func(string) string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var tr prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(b, &tr); err != nil {
		return fmt.Errorf("trusted root %s: %w", in, err)
	}
	for _, l := range append(tr.Tlogs, tr.Ctlogs...) {
		l.BaseUrl = rewrite(l.BaseUrl)
	}
	for _, ca := range append(tr.CertificateAuthorities, tr.TimestampAuthorities...) {
		ca.Uri = rewrite(ca.Uri)
	}
	if b, err = protojson.Marshal(&tr); err != nil {
		return err
	}
	if _, err := root.NewTrustedRootFromJSON(b); err != nil {
		return fmt.Errorf("the rewritten trusted root does not load: %w", err)
	}
	return os.WriteFile(out, b, 0o644)
}

// writeDockerConfig writes config.json with the credentials of every
// registry under its proxy's host, for cosign.
func (b *Bed) writeDockerConfig() error {
	auths := map[string]map[string]string{}
	for _, r := range b.Registries {
		auths[r.Host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.Bed.User + ":" + r.Bed.Password))}
	}
	js, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.DockerConfig, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.DockerConfig, "config.json"), js, 0o600)
}
