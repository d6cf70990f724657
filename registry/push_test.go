package registry

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
	"github.com/sigil-dev/sigil/internal/testbed/reqcount"
)

// TestPushesUploadBlob uploads blobs and a manifest to the GHCR stand-in
// (token auth) through one repository's push session: one ping and one
// token for everything, two requests per blob (no HEAD, no PATCH), and
// the blobs are there, under their digests.
func TestPushesUploadBlob(t *testing.T) {
	t.Parallel()
	log, host, kc := serveCountedGHCR(t)
	p := NewPushes(kc, nil, "test")
	repo, _ := name.NewRepository(host + "/org/app")
	blobs := [][]byte{[]byte(`{"critical":{}}`), []byte("config"), {}}
	for _, b := range blobs {
		h, err := p.UploadBlob(t.Context(), repo, b)
		if err != nil {
			t.Fatalf("UploadBlob(%q): %v", b, err)
		}
		if want := fmt.Sprintf("sha256:%x", sha256.Sum256(b)); h.String() != want {
			t.Errorf("UploadBlob(%q) = %s, want %s", b, h, want)
		}
	}
	img, _ := random.Image(16, 1)
	opts, err := p.Options(t.Context(), repo)
	if err != nil {
		t.Fatal(err)
	}
	tag := repo.Tag("v1")
	if err := remote.Write(tag, img, opts...); err != nil {
		t.Fatal(err)
	}
	got := log.Counts()
	if got["GET /v2/"] != 1 || got["GET /token"] != 1 {
		t.Errorf("pings %d, tokens %d; want 1 and 1 for the repository (%v)", got["GET /v2/"], got["GET /token"], got)
	}
	if got["POST uploads"] != 3+2 || got["PUT uploads"] != 3+2 || got["PATCH uploads"] != 2 {
		t.Errorf("upload requests %v; want POST and PUT once per UploadBlob (PATCH only for go-containerregistry's two)", got)
	}
	if got["HEAD blob"] != 2 {
		t.Errorf("blob HEADs %d, want only go-containerregistry's 2 (%v)", got["HEAD blob"], got)
	}
	for _, b := range blobs {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		l, err := remote.Layer(repo.Digest(d), remote.WithAuth(&authn.Basic{Username: "u", Password: "p"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Size(); err != nil {
			t.Errorf("blob %s not in the registry: %v", d, err)
		}
	}
}

// serveCountedGHCR serves the GHCR stand-in (token auth, user u,
// password p) and counts its requests; kc holds the credentials.
func serveCountedGHCR(t *testing.T) (*reqcount.Counter, string, authn.Keychain) {
	t.Helper()
	h, err := authregistry.GHCR{Policy: regtoken.Policy{User: "u", Password: "p"}}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	log, counted := reqcount.Wrap(h, reqcount.RegistryKind)
	host, kc := serveAuthenticated(t, counted)
	return log, host, kc
}

// TestPushesRefused: a registry's refusal reaches the caller as
// go-containerregistry's *transport.Error, which Explain turns into an
// error naming the credentials, without the password.
func TestPushesRefused(t *testing.T) {
	t.Parallel()
	h, err := authregistry.GHCR{Policy: regtoken.Policy{User: "u", Password: "p", Public: regtoken.PublicNamespace("public")}}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name string
		auth Auth
		repo string
	}{
		{name: "wrong password", auth: Auth{Credentials: []Credential{{Host: host, Username: "u", Password: "wrong-secret"}}}, repo: "org/app"},
		{name: "anonymous, public repository", repo: "public/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kc, err := tc.auth.Keychain()
			if err != nil {
				t.Fatal(err)
			}
			repo, _ := name.NewRepository(host + "/" + tc.repo)
			_, err = NewPushes(kc, nil, "test").UploadBlob(t.Context(), repo, []byte("x"))
			var te *transport.Error
			if !errors.As(err, &te) || (te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden) {
				t.Fatalf("UploadBlob: %v, want a 401 or 403 *transport.Error", err)
			}
			var ae *AuthError
			if err := Explain(err, repo.Tag("v1"), tc.auth); !errors.As(err, &ae) || strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("Explain: %v, want an AuthError without the password", err)
			}
		})
	}
}

// TestUploadLocation feeds UploadBlob the upload starts a registry may
// answer with.
func TestUploadLocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		location string // "" for none
		code     int
		wantErr  string // "" for success
	}{
		{name: "relative, with state", location: "/v2/org/app/blobs/uploads/abc?_state=s1", code: http.StatusAccepted},
		{name: "absolute, same host", location: "{self}/v2/org/app/blobs/uploads/abc?_state=s1", code: http.StatusAccepted},
		{name: "no Location", code: http.StatusAccepted, wantErr: "without a Location"},
		{name: "another host, private address", location: "http://10.1.2.3/upload?_state=s1", code: http.StatusAccepted, wantErr: "internal address 10.1.2.3"},
		{name: "another host, link-local address", location: "http://169.254.169.254/latest", code: http.StatusAccepted, wantErr: "internal address"},
		{name: "refused", code: http.StatusForbidden, wantErr: "DENIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				put string
			)
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/v2/":
					w.WriteHeader(http.StatusOK)
				case r.Method == http.MethodPost:
					if tc.location != "" {
						w.Header().Set("Location", strings.ReplaceAll(tc.location, "{self}", srv.URL))
					}
					if tc.code == http.StatusForbidden {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(tc.code)
						fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"permission_denied: write_package"}]}`)
						return
					}
					w.WriteHeader(tc.code)
				case r.Method == http.MethodPut:
					mu.Lock()
					put = r.URL.RawQuery
					mu.Unlock()
					w.WriteHeader(http.StatusCreated)
				default:
					w.WriteHeader(http.StatusMethodNotAllowed)
				}
			}))
			t.Cleanup(srv.Close)
			repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/org/app")
			h, err := NewPushes(authn.NewMultiKeychain(), nil, "").UploadBlob(t.Context(), repo, []byte("blob"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("UploadBlob: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(put, "_state=s1") || !strings.Contains(put, "digest="+strings.ReplaceAll(h.String(), ":", "%3A")) {
				t.Errorf("PUT query %q, want the Location's _state and the digest", put)
			}
		})
	}
}

// TestPushesRetryHandshake: a failed handshake is not kept; the next call
// authenticates again. Neither is a forgotten session.
func TestPushesRetryHandshake(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		pings int
	)
	reg := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			mu.Lock()
			pings++
			first := pings == 1
			mu.Unlock()
			if first {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/org/app")
	p := NewPushes(authn.NewMultiKeychain(), nil, "")
	if _, err := p.Transport(t.Context(), repo); err == nil {
		t.Fatal("Transport succeeded on a failed ping")
	}
	if _, err := p.Transport(t.Context(), repo); err != nil {
		t.Fatalf("Transport after a failed ping: %v, want a new handshake", err)
	}
	if _, err := p.Transport(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if pings != 2 {
		t.Errorf("%d pings, want 2 (the failed one, then one kept)", pings)
	}
	mu.Unlock()
	// A forgotten session is made again on the next use, once.
	p.Forget(repo)
	for range 2 {
		if _, err := p.Transport(t.Context(), repo); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if pings != 3 {
		t.Errorf("%d pings, want 3 (one more after Forget)", pings)
	}
}
