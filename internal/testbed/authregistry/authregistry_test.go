package authregistry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
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
)

func TestChallenge(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(authregistry.New("u", "p"))
	t.Cleanup(hs.Close)
	for _, tc := range []struct {
		name       string
		user, pass string
		basic      bool
		want       int
	}{
		{name: "anonymous", want: http.StatusUnauthorized},
		{name: "wrong password", user: "u", pass: "x", basic: true, want: http.StatusUnauthorized},
		{name: "wrong user", user: "x", pass: "p", basic: true, want: http.StatusUnauthorized},
		{name: "right", user: "u", pass: "p", basic: true, want: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.basic {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET /v2/ = %d, want %d", resp.StatusCode, tc.want)
			}
			if ch := resp.Header.Get("WWW-Authenticate"); tc.want == 401 && ch != `Basic realm="sigil-testbed"` {
				t.Errorf("WWW-Authenticate = %q, want a basic challenge", ch)
			}
		})
	}
}

// TestClient pushes through go-containerregistry as the signing code will,
// and checks that the referrers API answers.
func TestClient(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(authregistry.New("u", "p"))
	t.Cleanup(hs.Close)
	host := strings.TrimPrefix(hs.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/sigil-dev/demo:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(authn.Anonymous)); !isUnauthorized(err) {
		t.Fatalf("anonymous push: %v, want 401", err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatalf("push: %v", err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, auth)
	if err != nil || desc.Digest != d {
		t.Fatalf("head = %v, %v; want %s", desc, err, d)
	}

	sig, err := random.Image(16, 1)
	if err != nil {
		t.Fatal(err)
	}
	sig = mutate.Subject(sig, *desc).(v1.Image)
	sd, err := sig.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref.Context().Digest(sd.String()), sig, auth); err != nil {
		t.Fatalf("push referrer: %v", err)
	}
	idx, err := remote.Referrers(ref.Context().Digest(d.String()), auth)
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != sd {
		t.Errorf("referrers = %+v, want the one pushed, %s", m.Manifests, sd)
	}
	// The referrers API, not the tag fallback, must have answered.
	tags, err := remote.List(ref.Context(), auth)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 1 || tags[0] != "v1" {
		t.Errorf("tags = %v, want only v1 (no referrers fallback tag)", tags)
	}
}

func isUnauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized
}
