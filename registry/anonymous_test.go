package registry

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
)

// TestAnonymousReads checks which token requests are tried again without
// credentials, against a token endpoint that refuses the job token and
// gives anonymous callers a token for "public/" repositories.
func TestAnonymousReads(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []string // "anonymous" or the basic user, per request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		mu.Lock()
		seen = append(seen, map[bool]string{true: user, false: "anonymous"}[ok])
		mu.Unlock()
		switch {
		case ok && pass == "good":
			io.WriteString(w, `{"token":"for-the-job"}`)
		case ok:
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":[{"code":"DENIED","message":"denied"}]}`)
		case strings.Contains(r.URL.Query().Get("scope"), ":public/"):
			io.WriteString(w, `{"token":"anonymous"}`)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name       string
		host       string // the GHCR host sigil is configured with
		token      string // the job token sigil is configured with
		pass       string // the basic password sent
		scope      string
		wantCode   int
		wantBody   string
		wantAsked  []string
		wantOrigin bool // the answer is the first one
	}{
		{name: "refused job token, public image", host: host, token: "ghs_bad", pass: "ghs_bad", scope: "repository:public/app:pull", wantCode: 200, wantBody: "anonymous", wantAsked: []string{"actor", "anonymous"}},
		{name: "refused job token, private image", host: host, token: "ghs_bad", pass: "ghs_bad", scope: "repository:org/app:pull", wantCode: 403, wantBody: "DENIED", wantAsked: []string{"actor", "anonymous"}},
		{name: "refused job token, push", host: host, token: "ghs_bad", pass: "ghs_bad", scope: "repository:public/app:push,pull", wantCode: 403, wantAsked: []string{"actor"}},
		{name: "refused job token, pull and another's push", host: host, token: "ghs_bad", pass: "ghs_bad", scope: "repository:public/app:pull repository:public/b:push", wantCode: 403, wantAsked: []string{"actor"}},
		{name: "accepted job token", host: host, token: "good", pass: "good", scope: "repository:org/app:pull", wantCode: 200, wantBody: "for-the-job", wantAsked: []string{"actor"}},
		{name: "other credentials are not the job's", host: host, token: "ghs_bad", pass: "other", scope: "repository:public/app:pull", wantCode: 403, wantAsked: []string{"actor"}},
		{name: "another host", host: "ghcr.io", token: "ghs_bad", pass: "ghs_bad", scope: "repository:public/app:pull", wantCode: 403, wantAsked: []string{"actor"}},
		{name: "no scope", host: host, token: "ghs_bad", pass: "ghs_bad", wantCode: 403, wantAsked: []string{"actor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: the endpoint records the requests of one case.
			rt := anonymousReads{inner: http.DefaultTransport, host: canonical(tc.host), token: tc.token}
			u := srv.URL + "/token?service=ghcr.io"
			if tc.scope != "" {
				u += "&scope=" + url.QueryEscape(tc.scope)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
			req.SetBasicAuth("actor", tc.pass)
			mu.Lock()
			seen = nil
			mu.Unlock()
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(b), tc.wantBody) {
				t.Errorf("got %d %s, want %d with %q", resp.StatusCode, b, tc.wantCode, tc.wantBody)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(seen, ",") != strings.Join(tc.wantAsked, ",") {
				t.Errorf("the endpoint was asked by %v, want %v", seen, tc.wantAsked)
			}
		})
	}
}

func TestPullOnly(t *testing.T) {
	t.Parallel()
	for scopes, want := range map[string]bool{
		"repository:org/app:pull":                  true,
		"repository:127.0.0.1:5000/app:pull":       true,
		"repository:a:pull repository:b:pull":      true,
		"repository:org/app:push,pull":             false,
		"repository:org/app:pull,push":             false,
		"repository:org/app:*":                     false,
		"registry:catalog:*":                       false,
		"repository:a:pull\x00repository:b:delete": false,
		"":                   false,
		"repository:org/app": false,
	} {
		if got := pullOnly(strings.Split(scopes, "\x00")); got != want {
			t.Errorf("pullOnly(%q) = %v, want %v", scopes, got, want)
		}
	}
}

// TestGHCRAnonymousFallback reads from the GHCR stand-in, whose token
// endpoint refuses a wrong token with 403 DENIED as ghcr.io does, with a
// job token it refuses: a public image is read anonymously, a private one
// fails naming github-token, and explicit credentials never fall back.
func TestGHCRAnonymousFallback(t *testing.T) {
	t.Parallel()
	h, err := authregistry.GHCR{Policy: regtoken.Policy{User: "octocat", Password: "ghs_valid", Public: regtoken.PublicNamespace("public")}}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(64, 1)
	for _, repo := range []string{"public/app", "org/app"} {
		tag, _ := name.NewTag(host + "/" + repo + ":v1")
		if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: "octocat", Password: "ghs_valid"})); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := img.Digest()
	for _, tc := range []struct {
		name    string
		auth    Auth
		repo    string
		wantErr string // "" for success
	}{
		{name: "refused job token, public", auth: Auth{GitHubToken: "ghs_expired", GitHubActor: "octocat", GHCRHost: host}, repo: "public/app"},
		{name: "no job token, public", auth: Auth{GHCRHost: host}, repo: "public/app"},
		{name: "valid job token, private", auth: Auth{GitHubToken: "ghs_valid", GitHubActor: "octocat", GHCRHost: host}, repo: "org/app"},
		{name: "refused job token, private", auth: Auth{GitHubToken: "ghs_expired", GitHubActor: "octocat", GHCRHost: host}, repo: "org/app",
			wantErr: "refused the credentials from github-token"},
		{name: "refused explicit credentials, public", auth: Auth{Credentials: []Credential{{Host: host, Username: "octocat", Password: "wrong"}}}, repo: "public/app",
			wantErr: "refused the credentials from the registry-credentials entry"},
		{name: "anonymous, private", auth: Auth{GHCRHost: host}, repo: "org/app", wantErr: "refused anonymous access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kc, err := tc.auth.Keychain()
			if err != nil {
				t.Fatal(err)
			}
			tag, _ := name.NewTag(host + "/" + tc.repo + ":v1")
			m, err := Resolve(t.Context(), tag, tc.auth, false, RemoteOptions(kc, nil, "test")...)
			if tc.wantErr == "" {
				if err != nil || m.Digest.DigestStr() != d.String() {
					t.Fatalf("Resolve = %+v, %v; want %s", m, err, d)
				}
				return
			}
			var ae *AuthError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Resolve: %v, want an AuthError with %q", err, tc.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "ghs_") || strings.Contains(err.Error(), "wrong")) {
				t.Errorf("the error names a secret: %v", err)
			}
		})
	}
}
