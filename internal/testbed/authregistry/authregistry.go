// Package authregistry holds the test bed's registries that stand for
// GHCR and Docker Hub where no real registry binary behaves as they do:
// go-containerregistry's registry (pkg/registry, in memory) behind the
// token auth of package regtoken.
//
// GHCR is the ghcr.io stand-in. Like ghcr.io it serves its own token
// endpoint at /token on the registry host and challenges with
// `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope=...`
// (here http://HOST/token); the token endpoint takes basic credentials
// (a username and a personal access token or the workflow's
// GITHUB_TOKEN) and gives anonymous callers pull tokens for public
// repositories only. It has no OCI referrers API: `GET
// /v2/<name>/referrers/<digest>` answers 404 on ghcr.io (regctl and cosign
// fall back to the sha256-<hex> tag there: dataaxiom/ghcr-cleanup-action#13,
// rtvkiz/minimal#7, actions/attest-build-provenance#91), and has been seen
// to answer a cross-host 303 to GitHub's web UI instead, whose page is HTML
// (artifacthub/hub#4785: "GHCR's OCI Referrers endpoint responds with 303
// redirecting to the internal GitHub web-UI packages API ... and truncates
// the digest in the Location header"). ReferrersRedirect models the latter.
//
// DockerHub is the docker.io stand-in that serves the referrers API (Docker
// Hub gained it in 2025: awslabs/soci-snapshotter#1828 and its registry
// compatibility table; docker/roadmap#724 asked for it). Its tokens come
// from a regtoken.Server on another host, as Docker Hub's come from
// auth.docker.io; the bed's other docker.io stand-in is the distribution
// registry, which has token auth of its own and no referrers API.
package authregistry

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
)

// Referrers is what a GHCR stand-in answers on its referrers endpoint.
type Referrers int

const (
	// ReferrersNotFound answers 404, as ghcr.io does.
	ReferrersNotFound Referrers = iota
	// ReferrersRedirect answers 303 to an HTML page on another host, as
	// ghcr.io has been seen to (artifacthub/hub#4785).
	ReferrersRedirect
)

// GHCRService is the service GHCR names in its challenges.
const GHCRService = "ghcr.io"

// GHCR configures a ghcr.io stand-in.
type GHCR struct {
	// Policy is who may do what; Policy.Public marks the public
	// repositories.
	Policy regtoken.Policy
	// Referrers is the referrers endpoint's answer.
	Referrers Referrers
	// PagesURL is the base URL of the HTML host a ReferrersRedirect
	// answer points to (GitHub's https://github.com), e.g.
	// "http://127.0.0.1:8081".
	PagesURL string
	// Keys sign the tokens; nil means a new key pair.
	Keys *regtoken.KeyPair
	// Logger receives the in-memory registry's log; nil discards it.
	Logger *log.Logger
}

// New returns a GHCR stand-in whose one account is user with password and
// where no repository is public.
func New(user, password string) http.Handler {
	h, err := GHCR{Policy: regtoken.Policy{User: user, Password: password}}.Handler()
	if err != nil {
		panic(err) // only key generation can fail, and crypto/rand does not
	}
	return h
}

// Handler returns the stand-in.
func (g GHCR) Handler() (http.Handler, error) {
	if g.Referrers == ReferrersRedirect && g.PagesURL == "" {
		return nil, fmt.Errorf("a GHCR stand-in that redirects its referrers endpoint needs PagesURL")
	}
	kp := g.Keys
	if kp == nil {
		var err error
		if kp, err = regtoken.NewKeyPair("ghcr.io stand-in"); err != nil {
			return nil, err
		}
	}
	auth, err := regtoken.NewAuthority(GHCRService, kp)
	if err != nil {
		return nil, err
	}
	tokens := &regtoken.Server{Authority: auth, Service: GHCRService, Policy: g.Policy, Style: regtoken.GHCR}
	guard := regtoken.Guard{Authority: auth, Service: GHCRService, Style: regtoken.GHCR,
		Realm: func(r *http.Request) string { return "http://" + r.Host + "/token" }}
	reg := registry.New(registry.Logger(logger(g.Logger)))
	referrers := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Referrers == ReferrersRedirect {
			http.Redirect(w, r, g.PagesURL+webUIPath(r.URL.Path), http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[{"code":"NOT_FOUND","message":"not found"}]}` + "\n"))
	})
	api := guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isReferrers(r.URL.Path) {
			referrers.ServeHTTP(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	mux := http.NewServeMux()
	mux.Handle("/token", tokens)
	mux.Handle("/v2/", api)
	mux.Handle("/v2", api)
	return mux, nil
}

// isReferrers reports whether path is /v2/<name>/referrers/<digest>.
func isReferrers(path string) bool {
	i := strings.LastIndex(path, "/referrers/")
	return strings.HasPrefix(path, "/v2/") && i > len("/v2") && !strings.Contains(path[i+len("/referrers/"):], "/")
}

// webUIPath is where ghcr.io sends a referrers request: GitHub's packages
// API under /-/v2/packages/container/package/, with the repository and the
// rest of the path escaped into one segment and cut at the digest's colon,
// as the Location in artifacthub/hub#4785 shows
// (".../package/robintra%2Fcharts%2Fperf-sentinel%2Freferrers%2Fsha256").
func webUIPath(path string) string {
	rest := strings.TrimPrefix(path, "/v2/")
	if i := strings.Index(rest, ":"); i >= 0 {
		rest = rest[:i]
	}
	return "/-/v2/packages/container/package/" + url.PathEscape(rest)
}

// PagesHandler stands for GitHub's web UI, where ReferrersRedirect points:
// every path answers 200 with an HTML page, as a browser-facing site does.
func PagesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Package · GitHub</title></head><body><p>Sign in to view this package.</p></body></html>\n"))
	})
}

// DockerHubService is the service Docker Hub names in its challenges and
// tokens.
const DockerHubService = "registry.docker.io"

// DockerHubIssuer is the issuer of Docker Hub's tokens.
const DockerHubIssuer = "auth.docker.io"

// DockerHub configures the docker.io stand-in with the referrers API.
type DockerHub struct {
	// Authority verifies the tokens its token server issues.
	Authority *regtoken.Authority
	// Realm is the token server's URL (Docker Hub's
	// https://auth.docker.io/token).
	Realm string
	// Logger receives the in-memory registry's log; nil discards it.
	Logger *log.Logger
}

// Handler returns the stand-in: go-containerregistry's registry with the
// referrers API, behind the tokens of Realm.
func (d DockerHub) Handler() http.Handler {
	guard := regtoken.Guard{Authority: d.Authority, Service: DockerHubService, Style: regtoken.DockerHub,
		Realm: func(*http.Request) string { return d.Realm }}
	return guard.Wrap(artifactTypes(registry.New(registry.WithReferrersSupport(true), registry.Logger(logger(d.Logger)))))
}

func logger(l *log.Logger) *log.Logger {
	if l == nil {
		return log.New(io.Discard, "", 0)
	}
	return l
}
