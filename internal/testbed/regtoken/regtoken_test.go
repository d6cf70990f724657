package regtoken

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

func newAuthority(t *testing.T, issuer string) *Authority {
	t.Helper()
	kp, err := NewKeyPair("test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthority(issuer, kp)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTokenShape checks what the distribution registry reads: the x5c
// header chaining to the certificate it trusts, the kid, and the claims.
func TestTokenShape(t *testing.T) {
	t.Parallel()
	a := newAuthority(t, "auth.docker.io")
	now := time.Unix(1_700_000_000, 0)
	access := []Access{{Type: "repository", Name: "org/app", Actions: []string{"pull", "push"}}}
	raw, err := a.Sign("sigil", "registry.docker.io", access, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Headers[0]
	roots := x509.NewCertPool()
	roots.AddCert(a.keys.Cert)
	chains, err := h.Certificates(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil || len(chains) == 0 {
		t.Fatalf("x5c does not chain to the certificate: %v", err)
	}
	if h.KeyID == "" || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header kid=%q typ=%v, want a kid and typ JWT", h.KeyID, h.ExtraHeaders["typ"])
	}
	// The claims as JSON, the way the registry decodes them.
	var c map[string]any
	if err := tok.Claims(&a.keys.Key.PublicKey, &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": "auth.docker.io", "sub": "sigil", "aud": "registry.docker.io",
		"exp": float64(now.Add(5 * time.Minute).Unix()), "nbf": float64(now.Unix()), "iat": float64(now.Unix()),
		"access": []any{map[string]any{"type": "repository", "name": "org/app", "actions": []any{"pull", "push"}}},
	}
	delete(c, "jti")
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	got, err := a.Verify(raw, "registry.docker.io", now)
	if err != nil || !got.Allows("repository", "org/app", "push") || got.Allows("repository", "org/other", "pull") {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	other := newAuthority(t, "auth.docker.io")
	for name, check := range map[string]func() error{
		"expired": func() error {
			_, err := a.Verify(raw, "registry.docker.io", now.Add(5*time.Minute+2*Leeway))
			return err
		},
		"not yet valid": func() error { _, err := a.Verify(raw, "registry.docker.io", now.Add(-2*Leeway)); return err },
		"other service": func() error { _, err := a.Verify(raw, "ghcr.io", now); return err },
		"other key":     func() error { _, err := other.Verify(raw, "registry.docker.io", now); return err },
		"garbage":       func() error { _, err := a.Verify("not.a.token", "registry.docker.io", now); return err },
	} {
		if check() == nil {
			t.Errorf("%s: a token was accepted", name)
		}
	}
	if _, err := (&Authority{Issuer: "elsewhere", keys: a.keys, kid: a.kid}).Verify(raw, "registry.docker.io", now); err == nil {
		t.Error("a token of another issuer was accepted")
	}
}

func TestKeyPairPEM(t *testing.T) {
	t.Parallel()
	kp, err := NewKeyPair("test")
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := kp.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKeyPair(key, cert)
	if err != nil || !back.Key.Equal(kp.Key) || !back.Cert.Equal(kp.Cert) {
		t.Fatalf("ParseKeyPair = %v, %v; want the pair back", back, err)
	}
	other, _ := NewKeyPair("other")
	_, otherCert, _ := other.MarshalPEM()
	if _, err := ParseKeyPair(key, otherCert); err == nil || !strings.Contains(err.Error(), "not the token key's") {
		t.Errorf("mismatched pair: %v", err)
	}
	if _, err := ParseKeyPair([]byte("x"), cert); err == nil {
		t.Error("a key without PEM was accepted")
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	got := ParseScopes([]string{
		"repository:org/app:pull,push",
		"repository:127.0.0.1:5000/x:pull repository(plugin):p/q:pull,pull",
		"registry:catalog:*",
		"nonsense", "a:b",
	})
	want := []Access{
		{Type: "repository", Name: "org/app", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "127.0.0.1:5000/x", Actions: []string{"pull"}},
		{Type: "repository", Name: "p/q", Actions: []string{"pull"}},
		{Type: "registry", Name: "catalog", Actions: []string{"*"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// tokenReply is a token request's outcome.
type tokenReply struct {
	code   int
	body   map[string]any
	access []Access
}

func requestToken(t *testing.T, srv *httptest.Server, a *Authority, service, user, pass string, scopes ...string) tokenReply {
	t.Helper()
	q := url.Values{"service": {service}, "scope": scopes}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/token?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := tokenReply{code: resp.StatusCode}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, b)
	}
	if tok, ok := r.body["token"].(string); ok {
		c, err := a.Verify(tok, service, time.Now())
		if err != nil {
			t.Fatalf("the token does not verify: %v", err)
		}
		r.access = c.Access
	}
	return r
}

// TestServer checks each style's answers: who gets which access, and how
// each refuses.
func TestServer(t *testing.T) {
	t.Parallel()
	policy := Policy{User: "u", Password: "p", Public: PublicNamespace("public")}
	pull := func(name string) Access { return Access{Type: "repository", Name: name, Actions: []string{"pull"}} }
	both := func(name string) Access {
		return Access{Type: "repository", Name: name, Actions: []string{"pull", "push"}}
	}
	for _, tc := range []struct {
		name       string
		style      Style
		user, pass string
		scopes     []string
		wantCode   int
		wantAccess []Access
		wantBody   string // a field and value of an error answer
	}{
		{name: "hub account", style: DockerHub, user: "u", pass: "p", scopes: []string{"repository:org/app:pull,push"}, wantCode: 200, wantAccess: []Access{both("org/app")}},
		{name: "hub anonymous public", style: DockerHub, scopes: []string{"repository:public/app:pull"}, wantCode: 200, wantAccess: []Access{pull("public/app")}},
		{name: "hub anonymous push on public gets pull only", style: DockerHub, scopes: []string{"repository:public/app:pull,push"}, wantCode: 200, wantAccess: []Access{pull("public/app")}},
		{name: "hub anonymous private gets nothing", style: DockerHub, scopes: []string{"repository:org/app:pull"}, wantCode: 200, wantAccess: []Access{}},
		{name: "hub anonymous ping", style: DockerHub, wantCode: 200, wantAccess: []Access{}},
		{name: "hub catalog is never granted", style: DockerHub, user: "u", pass: "p", scopes: []string{"registry:catalog:*"}, wantCode: 200, wantAccess: []Access{}},
		{name: "hub wrong password", style: DockerHub, user: "u", pass: "x", scopes: []string{"repository:public/app:pull"}, wantCode: 401, wantBody: "details=incorrect username or password"},
		{name: "ghcr account", style: GHCR, user: "u", pass: "p", scopes: []string{"repository:org/app:push,pull"}, wantCode: 200, wantAccess: []Access{{Type: "repository", Name: "org/app", Actions: []string{"push", "pull"}}}},
		{name: "ghcr anonymous public", style: GHCR, scopes: []string{"repository:public/app:pull"}, wantCode: 200, wantAccess: []Access{pull("public/app")}},
		{name: "ghcr anonymous private", style: GHCR, scopes: []string{"repository:org/app:pull"}, wantCode: 401, wantBody: "code=UNAUTHORIZED"},
		{name: "ghcr anonymous push on public", style: GHCR, scopes: []string{"repository:public/app:push,pull"}, wantCode: 401, wantBody: "code=UNAUTHORIZED"},
		{name: "ghcr wrong token on a public image", style: GHCR, user: "u", pass: "x", scopes: []string{"repository:public/app:pull"}, wantCode: 403, wantBody: "code=DENIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAuthority(t, "issuer")
			srv := httptest.NewServer(&Server{Authority: a, Service: "svc", Policy: policy, Style: tc.style})
			t.Cleanup(srv.Close)
			r := requestToken(t, srv, a, "svc", tc.user, tc.pass, tc.scopes...)
			if r.code != tc.wantCode {
				t.Fatalf("status %d, want %d: %v", r.code, tc.wantCode, r.body)
			}
			if tc.wantCode == 200 {
				if diff := cmp.Diff(tc.wantAccess, r.access); diff != "" {
					t.Errorf("access (-want +got):\n%s", diff)
				}
				_, hasExpiry := r.body["expires_in"]
				if hasExpiry != (tc.style == DockerHub) || (tc.style == DockerHub && r.body["access_token"] != r.body["token"]) {
					t.Errorf("answer %v: Docker Hub sends access_token and expires_in, GHCR the token alone", r.body)
				}
				return
			}
			if _, ok := r.body["token"]; ok {
				t.Errorf("a refusal carries a token: %v", r.body)
			}
			k, v, _ := strings.Cut(tc.wantBody, "=")
			got := r.body[k]
			if errs, ok := r.body["errors"].([]any); ok && len(errs) == 1 {
				got = errs[0].(map[string]any)[k]
			}
			if got != v {
				t.Errorf("answer %v, want %s", r.body, tc.wantBody)
			}
		})
	}

	a := newAuthority(t, "issuer")
	srv := httptest.NewServer(&Server{Authority: a, Service: "svc", Policy: policy})
	t.Cleanup(srv.Close)
	if r := requestToken(t, srv, a, "other", "u", "p"); r.code != http.StatusBadRequest {
		t.Errorf("a request for another service: %d, want 400", r.code)
	}
	resp, err := srv.Client().Post(srv.URL+"/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=password"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /token: %d, want 404 (clients then use GET)", resp.StatusCode)
	}
}

// TestGuard checks the registry side: the access each request needs, and
// the challenge that tells a client what to ask for.
func TestGuard(t *testing.T) {
	t.Parallel()
	a := newAuthority(t, "issuer")
	now := time.Now()
	sign := func(access ...Access) string {
		tok, err := a.Sign("u", "svc", access, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pullPush := sign(Access{Type: "repository", Name: "org/app", Actions: []string{"pull", "push"}})
	pullOnly := sign(Access{Type: "repository", Name: "org/app", Actions: []string{"pull"}})
	empty := sign()
	expired, _ := a.Sign("u", "svc", nil, now.Add(-time.Hour), time.Minute)
	foreign, _ := newAuthority(t, "issuer").Sign("u", "svc", []Access{{Type: "repository", Name: "org/app", Actions: []string{"*"}}}, now, time.Minute)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tc := range []struct {
		name          string
		style         Style
		method, path  string
		authz         string
		wantCode      int
		wantChallenge string
	}{
		{name: "ping without token", method: "GET", path: "/v2/", wantCode: 401, wantChallenge: `Bearer realm="http://auth/token",service="svc"`},
		{name: "ghcr ping without token", style: GHCR, method: "GET", path: "/v2/", wantCode: 401, wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:user/image:pull"`},
		{name: "ping with any token", method: "GET", path: "/v2/", authz: "Bearer " + empty, wantCode: 418},
		{name: "pull without token", method: "HEAD", path: "/v2/org/app/manifests/v1", wantCode: 401, wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/app:pull"`},
		{name: "pull", method: "GET", path: "/v2/org/app/manifests/v1", authz: "Bearer " + pullOnly, wantCode: 418},
		{name: "referrers need pull", method: "GET", path: "/v2/org/app/referrers/sha256:abc", authz: "Bearer " + pullOnly, wantCode: 418},
		{name: "push with a pull token", method: "PUT", path: "/v2/org/app/manifests/v1", authz: "Bearer " + pullOnly, wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/app:pull,push",error="insufficient_scope"`},
		{name: "push", method: "PATCH", path: "/v2/org/app/blobs/uploads/123", authz: "Bearer " + pullPush, wantCode: 418},
		{name: "mount needs pull on the source", method: "POST", path: "/v2/org/app/blobs/uploads/?mount=sha256:abc&from=org/base", authz: "Bearer " + pullPush, wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/app:pull,push repository:org/base:pull",error="insufficient_scope"`},
		{name: "delete", method: "DELETE", path: "/v2/org/app/manifests/sha256:abc", authz: "Bearer " + pullPush, wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/app:delete",error="insufficient_scope"`},
		{name: "other repository", method: "GET", path: "/v2/org/other/tags/list", authz: "Bearer " + pullPush, wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/other:pull",error="insufficient_scope"`},
		{name: "catalog", method: "GET", path: "/v2/_catalog", authz: "Bearer " + pullPush, wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="registry:catalog:*",error="insufficient_scope"`},
		{name: "expired token", method: "GET", path: "/v2/", authz: "Bearer " + expired, wantCode: 401, wantChallenge: `Bearer realm="http://auth/token",service="svc",error="invalid_token"`},
		{name: "token of another key", method: "GET", path: "/v2/org/app/manifests/v1", authz: "Bearer " + foreign, wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/app:pull",error="invalid_token"`},
		{name: "basic credentials", method: "GET", path: "/v2/org/app/manifests/v1", authz: "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p")), wantCode: 401,
			wantChallenge: `Bearer realm="http://auth/token",service="svc",scope="repository:org/app:pull"`},
		{name: "ghcr basic credentials: denied, no challenge", style: GHCR, method: "GET", path: "/v2/org/app/manifests/v1", authz: "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p")), wantCode: 403},
		{name: "outside the API", method: "GET", path: "/token", wantCode: 418},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := Guard{Authority: a, Service: "svc", Style: tc.style, Realm: func(*http.Request) string { return "http://auth/token" }}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			w := httptest.NewRecorder()
			g.Wrap(ok).ServeHTTP(w, req)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantCode, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, tc.wantChallenge)
			}
			if tc.wantCode == 401 && !strings.Contains(w.Body.String(), `"code":"UNAUTHORIZED"`) {
				t.Errorf("body %s, want an UNAUTHORIZED error", w.Body)
			}
		})
	}
}
