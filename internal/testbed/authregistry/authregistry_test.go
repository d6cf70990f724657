package authregistry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
)

var policy = regtoken.Policy{User: "u", Password: "p", Public: regtoken.PublicNamespace("public")}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return strings.TrimPrefix(hs.URL, "http://")
}

func ghcr(t *testing.T, g authregistry.GHCR) string {
	t.Helper()
	g.Policy = policy
	h, err := g.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, h)
}

// dockerHub serves Docker Hub's token service and the stand-in with the
// referrers API on two hosts, as auth.docker.io and registry-1.docker.io.
func dockerHub(t *testing.T) string {
	t.Helper()
	kp, err := regtoken.NewKeyPair("test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := regtoken.NewAuthority(authregistry.DockerHubIssuer, kp)
	if err != nil {
		t.Fatal(err)
	}
	auth := serve(t, &regtoken.Server{Authority: a, Service: authregistry.DockerHubService, Policy: policy})
	// go-containerregistry refuses a realm on a loopback IP other than the
	// registry's own host:port; the bed names it localhost.
	_, port, _ := strings.Cut(auth, ":")
	return serve(t, authregistry.DockerHub{Authority: a, Realm: "http://localhost:" + port + "/token"}.Handler())
}

func TestGHCRChallenge(t *testing.T) {
	t.Parallel()
	host := ghcr(t, authregistry.GHCR{})
	resp, err := http.Get("http://" + host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `Bearer realm="http://` + host + `/token",service="ghcr.io",scope="repository:user/image:pull"`
	if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || got != want {
		t.Errorf("GET /v2/ = %d %q, want 401 %q", resp.StatusCode, got, want)
	}
}

func push(t *testing.T, ref string, img v1.Image, auth authn.Authenticator) error {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return remote.Write(r, img, remote.WithAuth(auth), remote.WithContext(t.Context()))
}

func head(t *testing.T, ref string, auth authn.Authenticator) (*v1.Descriptor, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return remote.Head(r, remote.WithAuth(auth), remote.WithContext(t.Context()))
}

func status(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// TestAccess pushes and pulls through go-containerregistry, as sigil does,
// on each registry: the account may do everything, anyone may pull a
// public repository, nobody else anything.
func TestAccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		host string
		// status of an anonymous pull of a private image, and of a wrong
		// password: GHCR refuses at its token endpoint, Docker Hub's
		// registry refuses the empty token.
		anonPrivate, wrongPassword int
	}{
		{name: "ghcr", host: ghcr(t, authregistry.GHCR{}), anonPrivate: 401, wrongPassword: 403},
		{name: "dockerhub", host: dockerHub(t), anonPrivate: 401, wrongPassword: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, _ := random.Image(64, 1)
			account := &authn.Basic{Username: "u", Password: "p"}
			for _, repo := range []string{"public/app", "org/app"} {
				ref := tc.host + "/" + repo + ":v1"
				if err := push(t, ref, img, authn.Anonymous); status(err) != 401 {
					t.Errorf("anonymous push to %s: %v, want 401", repo, err)
				}
				if err := push(t, ref, img, account); err != nil {
					t.Fatalf("push to %s: %v", repo, err)
				}
			}
			d, _ := img.Digest()
			if desc, err := head(t, tc.host+"/public/app:v1", authn.Anonymous); err != nil || desc.Digest != d {
				t.Errorf("anonymous pull of a public image = %v, %v; want %s", desc, err, d)
			}
			if _, err := head(t, tc.host+"/org/app:v1", authn.Anonymous); status(err) != tc.anonPrivate {
				t.Errorf("anonymous pull of a private image: %v, want %d", err, tc.anonPrivate)
			}
			if _, err := head(t, tc.host+"/public/app:v1", &authn.Basic{Username: "u", Password: "wrong"}); status(err) != tc.wrongPassword {
				t.Errorf("pull with a wrong password: %v, want %d", err, tc.wrongPassword)
			}
		})
	}
}

// TestReferrers attaches a referrer with plain go-containerregistry (no
// sigil transport) and looks where it went: through the referrers API on
// Docker Hub, under the fallback tag on GHCR; on the GHCR that redirects,
// go-containerregistry takes the HTML page for the API and writes no tag,
// the behaviour sigil's transport corrects (registry/referrers.go).
func TestReferrers(t *testing.T) {
	t.Parallel()
	pages := serve(t, authregistry.PagesHandler())
	for _, tc := range []struct {
		name         string
		host         string
		wantTag      bool // the sha256-<hex> fallback tag is written
		wantListed   bool // remote.Referrers lists the referrer
		wantRedirect bool
	}{
		{name: "ghcr 404", host: ghcr(t, authregistry.GHCR{}), wantTag: true, wantListed: true},
		{name: "ghcr 303", host: ghcr(t, authregistry.GHCR{Referrers: authregistry.ReferrersRedirect, PagesURL: "http://" + pages}), wantRedirect: true},
		{name: "dockerhub", host: dockerHub(t), wantListed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			auth := remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})
			img, _ := random.Image(64, 1)
			ref, _ := name.ParseReference(tc.host + "/org/app:v1")
			if err := remote.Write(ref, img, auth); err != nil {
				t.Fatal(err)
			}
			d, _ := img.Digest()
			subject := ref.Context().Digest(d.String())
			desc, err := remote.Head(subject, auth)
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := random.Image(16, 1)
			sig = mutate.Subject(sig, *desc).(v1.Image)
			sd, _ := sig.Digest()
			if err := remote.Write(ref.Context().Digest(sd.String()), sig, auth); err != nil {
				t.Fatalf("push referrer: %v", err)
			}
			tags, err := remote.List(ref.Context(), auth)
			if err != nil {
				t.Fatal(err)
			}
			fallback := strings.Replace(d.String(), ":", "-", 1)
			if got := slices.Contains(tags, fallback); got != tc.wantTag {
				t.Errorf("fallback tag written = %v, want %v (tags %v)", got, tc.wantTag, tags)
			}
			idx, err := remote.Referrers(subject, auth)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := idx.IndexManifest()
			listed := len(m.Manifests) == 1 && m.Manifests[0].Digest == sd
			if listed != tc.wantListed {
				t.Errorf("referrer listed = %v, want %v (%+v)", listed, tc.wantListed, m.Manifests)
			}

			// The endpoint's own answer, with a token.
			req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/v2/org/app/referrers/"+d.String(), nil)
			tr, err := transport.NewWithContext(t.Context(), ref.Context().Registry, &authn.Basic{Username: "u", Password: "p"}, http.DefaultTransport, []string{ref.Context().Scope(transport.PullScope)})
			if err != nil {
				t.Fatal(err)
			}
			noFollow := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.wantRedirect {
				want := "http://" + pages + "/-/v2/packages/container/package/org%2Fapp%2Freferrers%2Fsha256"
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
					t.Errorf("referrers endpoint: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
				}
			} else if want := map[bool]int{true: 404, false: 200}[tc.wantTag]; resp.StatusCode != want {
				t.Errorf("referrers endpoint: %d, want %d", resp.StatusCode, want)
			}
		})
	}
}

func TestPagesHandler(t *testing.T) {
	t.Parallel()
	resp, err := http.Get("http://" + serve(t, authregistry.PagesHandler()) + "/-/v2/packages/container/package/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("pages: %d %s, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestRedirectNeedsPages(t *testing.T) {
	t.Parallel()
	if _, err := (authregistry.GHCR{Referrers: authregistry.ReferrersRedirect}).Handler(); err == nil {
		t.Error("a redirecting GHCR without PagesURL was accepted")
	}
}
