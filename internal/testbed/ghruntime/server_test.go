package ghruntime_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/internal/testbed/ghruntime"
)

const bearer = "request-token"

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

var clock = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// start runs a Server on an httptest server whose URL is the issuer.
func start(t *testing.T) (*ghruntime.Server, *httptest.Server) {
	t.Helper()
	var s *ghruntime.Server
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	var err error
	s, err = ghruntime.New(hs.URL, bearer, ghruntime.WithKey(testKey()), ghruntime.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	return s, hs
}

// get requests url with the bearer token auth (none if empty) and returns
// the status and body.
func get(t *testing.T, method, url, auth string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// claimsOf verifies tok as Fulcio does (go-oidc, discovery and JWKS fetched
// from the issuer) and returns its claims.
func claimsOf(t *testing.T, issuer, audience, tok string) map[string]any {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), http.DefaultClient)
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	v := p.Verifier(&oidc.Config{ClientID: audience, Now: func() time.Time { return clock }})
	idt, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("verifying the token: %v", err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenClaims(t *testing.T) {
	t.Parallel()
	base := map[string]any{
		"actor":                 "sigil-bot",
		"actor_id":              "41898282",
		"base_ref":              "",
		"event_name":            "push",
		"head_ref":              "",
		"job_workflow_ref":      "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		"job_workflow_sha":      "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
		"ref":                   "refs/tags/v1.0.0",
		"ref_protected":         "true",
		"ref_type":              "tag",
		"repository":            "sigil-dev/demo",
		"repository_id":         "700000001",
		"repository_owner":      "sigil-dev",
		"repository_owner_id":   "700000000",
		"repository_visibility": "public",
		"run_attempt":           "1",
		"run_id":                "9000000001",
		"run_number":            "1",
		"runner_environment":    "github-hosted",
		"sha":                   "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
		"sub":                   "repo:sigil-dev/demo:ref:refs/tags/v1.0.0",
		"workflow":              "Release",
		"workflow_ref":          "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		"workflow_sha":          "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
		"aud":                   "sigstore",
		"iat":                   float64(clock.Unix()),
		"nbf":                   float64(clock.Add(-10 * time.Minute).Unix()),
		"exp":                   float64(clock.Add(5 * time.Minute).Unix()),
	}
	with := func(kv ...any) map[string]any {
		m := make(map[string]any, len(base))
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		query    string // appended to the token URL
		audience string // expected aud, for verification
		want     map[string]any
	}{
		{name: "defaults", query: "&audience=sigstore", want: base},
		{
			name:  "other repository and workflow",
			query: "&audience=sigstore&repository=other/repo&workflow_path=.github/workflows/x.yml&workflow=X",
			want: with("repository", "other/repo", "repository_owner", "other", "workflow", "X",
				"workflow_ref", "other/repo/.github/workflows/x.yml@refs/tags/v1.0.0",
				"job_workflow_ref", "other/repo/.github/workflows/x.yml@refs/tags/v1.0.0",
				"sub", "repo:other/repo:ref:refs/tags/v1.0.0"),
		},
		{
			name:  "branch ref and sha",
			query: "&audience=sigstore&ref=refs/heads/main&sha=abc",
			want: with("ref", "refs/heads/main", "ref_type", "branch", "sha", "abc", "workflow_sha", "abc", "job_workflow_sha", "abc",
				"workflow_ref", "sigil-dev/demo/.github/workflows/release.yml@refs/heads/main",
				"job_workflow_ref", "sigil-dev/demo/.github/workflows/release.yml@refs/heads/main",
				"sub", "repo:sigil-dev/demo:ref:refs/heads/main"),
		},
		{
			name:  "environment",
			query: "&audience=sigstore&environment=prod",
			want:  with("environment", "prod", "sub", "repo:sigil-dev/demo:environment:prod"),
		},
		{
			name:  "pull request",
			query: "&audience=sigstore&event_name=pull_request&head_ref=feature&base_ref=main",
			want:  with("event_name", "pull_request", "head_ref", "feature", "base_ref", "main", "sub", "repo:sigil-dev/demo:pull_request"),
		},
		{
			name:  "reusable workflow",
			query: "&audience=sigstore&job_workflow_ref=org/shared/.github/workflows/sign.yml@refs/heads/main&job_workflow_sha=def",
			want:  with("job_workflow_ref", "org/shared/.github/workflows/sign.yml@refs/heads/main", "job_workflow_sha", "def"),
		},
		{
			name:  "private self-hosted run",
			query: "&audience=sigstore&repository_visibility=private&runner_environment=self-hosted&run_id=77&run_attempt=2",
			want:  with("repository_visibility", "private", "runner_environment", "self-hosted", "run_id", "77", "run_attempt", "2"),
		},
		{
			name:     "default audience is the owner",
			query:    "",
			audience: "https://github.com/sigil-dev",
			want:     with("aud", "https://github.com/sigil-dev"),
		},
		{
			name:  "lifetime",
			query: "&audience=sigstore&lifetime=1h",
			want:  with("exp", float64(clock.Add(time.Hour).Unix())),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, hs := start(t)
			code, body := get(t, http.MethodGet, s.TokenURL()+tc.query, "Bearer "+bearer)
			if code != http.StatusOK {
				t.Fatalf("status %d, body %s", code, body)
			}
			var resp struct{ Value string }
			if err := json.Unmarshal(body, &resp); err != nil || resp.Value == "" {
				t.Fatalf("body %s is not {\"value\":\"<jwt>\"}: %v", body, err)
			}
			aud := tc.audience
			if aud == "" {
				aud = "sigstore"
			}
			got := claimsOf(t, hs.URL, aud, resp.Value)
			if got["iss"] != hs.URL {
				t.Errorf("iss = %v, want %s", got["iss"], hs.URL)
			}
			if jti, _ := got["jti"].(string); len(jti) != 36 {
				t.Errorf("jti = %q, want a UUID", jti)
			}
			delete(got, "iss")
			delete(got, "jti")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string
		url    string // relative to the token URL unless it starts with '/'
		auth   string
		code   int
		msg    string
	}{
		{name: "no bearer", url: "&audience=sigstore", code: 401, msg: "bearer"},
		{name: "wrong bearer", url: "&audience=sigstore", auth: "Bearer nope", code: 401, msg: "bearer"},
		{name: "basic auth", url: "&audience=sigstore", auth: "Basic " + bearer, code: 401, msg: "bearer"},
		{name: "query string replaced", url: "?audience=sigstore", auth: "Bearer " + bearer, code: 400, msg: "api-version"},
		{name: "unknown parameter", url: "&audience=sigstore&repo=x/y", auth: "Bearer " + bearer, code: 400, msg: "unknown parameter"},
		{name: "repeated parameter", url: "&audience=a&audience=b", auth: "Bearer " + bearer, code: 400, msg: "given 2 times"},
		{name: "bad repository", url: "&repository=nope", auth: "Bearer " + bearer, code: 400, msg: "OWNER/NAME"},
		{name: "bad workflow path", url: "&workflow_path=a@b", auth: "Bearer " + bearer, code: 400, msg: "workflow_path"},
		{name: "bad lifetime", url: "&lifetime=soon", auth: "Bearer " + bearer, code: 400, msg: "lifetime"},
		{name: "post", method: http.MethodPost, url: "&audience=sigstore", auth: "Bearer " + bearer, code: 405, msg: "POST"},
		{name: "not found", url: "/nope", code: 404, msg: "no such endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, hs := start(t)
			u := s.TokenURL() + tc.url
			if strings.HasPrefix(tc.url, "/") {
				u = hs.URL + tc.url
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			code, body := get(t, method, u, tc.auth)
			if code != tc.code || !strings.Contains(string(body), tc.msg) {
				t.Errorf("got %d %s, want %d with %q", code, body, tc.code, tc.msg)
			}
			if n := s.Minted(""); n != 0 {
				t.Errorf("Minted = %d after a refused request, want 0", n)
			}
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s, hs := start(t)
	for _, q := range []string{"&run_id=1", "&run_id=1", "&run_id=2", "", "&run_id=1&audience=x", "&bad=1"} {
		get(t, http.MethodGet, s.TokenURL()+q, "Bearer "+bearer)
	}
	for _, tc := range []struct {
		runID string
		want  int
	}{{"", 5}, {"1", 3}, {"2", 1}, {"9000000001", 1}, {"3", 0}} {
		if got := s.Minted(tc.runID); got != tc.want {
			t.Errorf("Minted(%q) = %d, want %d", tc.runID, got, tc.want)
		}
		code, body := get(t, http.MethodGet, hs.URL+"/stats?run_id="+url.QueryEscape(tc.runID), "")
		var st ghruntime.Stats
		if err := json.Unmarshal(body, &st); code != 200 || err != nil {
			t.Fatalf("GET /stats: %d %s %v", code, body, err)
		}
		if diff := cmp.Diff(ghruntime.Stats{RunID: tc.runID, Tokens: tc.want}, st); diff != "" {
			t.Errorf("GET /stats?run_id=%s (-want +got):\n%s", tc.runID, diff)
		}
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	_, hs := start(t)
	code, body := get(t, http.MethodGet, hs.URL+"/.well-known/openid-configuration", "")
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &doc); code != 200 || err != nil {
		t.Fatalf("discovery: %d %s %v", code, body, err)
	}
	if diff := cmp.Diff([]string{hs.URL, hs.URL + "/.well-known/jwks", "RS256"}, []string{doc.Issuer, doc.JWKSURI, doc.Algs[0]}); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	if _, err := oidc.NewProvider(oidc.ClientContext(context.Background(), http.DefaultClient), hs.URL); err != nil {
		t.Errorf("go-oidc refuses the discovery document: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ issuer, token string }{
		{"127.0.0.1:1", "t"},
		{"ftp://127.0.0.1", "t"},
		{"http://127.0.0.1/", "t"},
		{"http://127.0.0.1?x=1", "t"},
		{"http://127.0.0.1", ""},
	} {
		if _, err := ghruntime.New(tc.issuer, tc.token, ghruntime.WithKey(testKey())); err == nil {
			t.Errorf("New(%q, %q) succeeded, want an error", tc.issuer, tc.token)
		}
	}
}
