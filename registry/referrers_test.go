package registry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
)

const index = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`

// TestReferrersAPI feeds referrersAPI each kind of answer a referrers
// endpoint gives and checks what go-containerregistry then sees.
func TestReferrersAPI(t *testing.T) {
	t.Parallel()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>sign in</html>")
	}))
	t.Cleanup(html.Close)
	const path = "/v2/org/app/referrers/sha256:0123"
	for _, tc := range []struct {
		name     string
		path     string
		answer   func(w http.ResponseWriter, r *http.Request)
		wantCode int
		wantBody string
	}{
		{name: "index", path: path, answer: reply(200, "application/vnd.oci.image.index.v1+json", index), wantCode: 200, wantBody: index},
		{name: "index without mediaType in the body", path: path, answer: reply(200, "application/vnd.oci.image.index.v1+json", `{"schemaVersion":2,"manifests":[]}`), wantCode: 200},
		{name: "303 to another host", path: path, answer: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, html.URL+"/-/v2/packages/container/package/org%2Fapp%2Freferrers%2Fsha256", http.StatusSeeOther)
		}, wantCode: 404, wantBody: "redirected its referrers endpoint"},
		{name: "307", path: path, answer: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, wantCode: 404},
		{name: "200 HTML", path: path, answer: reply(200, "text/html; charset=utf-8", "<html></html>"), wantCode: 404, wantBody: `Content-Type \"text/html; charset=utf-8\"`},
		{name: "200 JSON of another type", path: path, answer: reply(200, "application/json", index), wantCode: 404},
		{name: "200 index type, body not JSON", path: path, answer: reply(200, "application/vnd.oci.image.index.v1+json", "<html>"), wantCode: 404, wantBody: "not an OCI image index"},
		{name: "200 index type, a manifest in the body", path: path, answer: reply(200, "application/vnd.oci.image.index.v1+json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`), wantCode: 404},
		{name: "404 passes", path: path, answer: reply(404, "application/json", `{"errors":[]}`), wantCode: 404, wantBody: `{"errors":[]}`},
		{name: "401 passes", path: path, answer: reply(401, "application/json", `{}`), wantCode: 401},
		{name: "other paths untouched", path: "/v2/org/app/manifests/v1", answer: reply(200, "text/html", "<html>"), wantCode: 200, wantBody: "<html>"},
		{name: "a repository named referrers untouched", path: "/v2/org/referrers/manifests/v1", answer: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/blob" {
				reply(200, "text/plain", "followed")(w, r)
				return
			}
			http.Redirect(w, r, "/blob", http.StatusFound)
		}, wantCode: 200, wantBody: "followed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(tc.answer))
			t.Cleanup(srv.Close)
			// As go-containerregistry calls it: through an http.Client
			// that follows redirects.
			c := &http.Client{Transport: referrersAPI{inner: http.DefaultTransport}}
			resp, err := c.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(b), tc.wantBody) {
				t.Errorf("got %d %s, want %d with %q", resp.StatusCode, b, tc.wantCode, tc.wantBody)
			}
		})
	}
}

// TestReferrersAPIRemembersAbsence: once a host's referrers endpoint
// answered 404 (or an answer turned into one), its next referrers requests
// are answered here; other hosts and paths still go out.
func TestReferrersAPIRemembersAbsence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
	}{
		{"404", reply(404, "application/json", `{"errors":[]}`)},
		{"200 HTML", reply(200, "text/html", "<html></html>")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if strings.Contains(r.URL.Path, "/referrers/") {
					tc.answer(w, r)
					return
				}
				reply(200, "text/plain", "ok")(w, r)
			}))
			t.Cleanup(srv.Close)
			c := &http.Client{Transport: roundTripper(nil, http.DefaultTransport)}
			for i, path := range []string{"/v2/org/a/referrers/sha256:01", "/v2/org/b/referrers/sha256:02", "/v2/org/a/manifests/v1"} {
				resp, err := c.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := map[bool]int{true: 404, false: 200}[i < 2]; resp.StatusCode != want {
					t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, b, want)
				}
				if i == 1 && !strings.Contains(string(b), "remembered") {
					t.Errorf("the second referrers answer does not say it was remembered: %s", b)
				}
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("%d requests reached the registry, want 2 (one referrers request, one manifest)", n)
			}
		})
	}
}

func reply(code int, contentType, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// TestReferrersThroughRedirectingGHCR attaches a referrer on the GHCR
// stand-in that redirects its referrers endpoint to an HTML page: with
// sigil's options the fallback tag is written and the referrer is found;
// TestReferrers in authregistry shows plain go-containerregistry losing it.
func TestReferrersThroughRedirectingGHCR(t *testing.T) {
	t.Parallel()
	pages := httptest.NewServer(authregistry.PagesHandler())
	t.Cleanup(pages.Close)
	h, err := authregistry.GHCR{Policy: regtoken.Policy{User: "u", Password: "p"}, Referrers: authregistry.ReferrersRedirect, PagesURL: pages.URL}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	host, kc := serveAuthenticated(t, h)
	opts := RemoteOptions(kc, nil, "test")

	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(host + "/org/app:v1")
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	subject := ref.Context().Digest(d.String())
	desc, err := remote.Head(subject, opts...)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := random.Image(16, 1)
	sig = mutate.Subject(sig, *desc).(v1.Image)
	sd, _ := sig.Digest()
	if err := remote.Write(ref.Context().Digest(sd.String()), sig, opts...); err != nil {
		t.Fatalf("push referrer: %v", err)
	}
	tags, err := remote.List(ref.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if fallback := strings.Replace(d.String(), ":", "-", 1); !slices.Contains(tags, fallback) {
		t.Errorf("tags %v lack the fallback tag %s", tags, fallback)
	}
	idx, err := remote.Referrers(subject, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := idx.IndexManifest(); len(m.Manifests) != 1 || m.Manifests[0].Digest != sd {
		t.Errorf("referrers = %+v, want %s", m.Manifests, sd)
	}
	// The transport also stands under a caller's own.
	var seen []string
	spy := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.Path)
		return http.DefaultTransport.RoundTrip(r)
	})
	if _, err := remote.Referrers(subject, RemoteOptions(kc, spy, "test")...); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(seen, func(p string) bool { return strings.Contains(p, "/referrers/") }) || slices.ContainsFunc(seen, func(p string) bool { return strings.HasPrefix(p, "/-/") }) {
		t.Errorf("requests %v: want the referrers endpoint asked through the caller's transport and its redirect not followed", seen)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
