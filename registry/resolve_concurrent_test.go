package registry

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
)

// TestResolveConcurrently resolves from many goroutines with one shared
// options slice that has room to grow, as sign and verify do: under -race,
// a Resolve that appended into the caller's slice would be reported.
func TestResolveConcurrently(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(authregistry.New("u", "p"))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	tag, _ := name.NewTag(host + "/org/app:v1")
	img, _ := random.Image(64, 1)
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})); err != nil {
		t.Fatal(err)
	}
	auth := Auth{Credentials: []Credential{{Host: host, Username: "u", Password: "p"}}}
	kc, _ := auth.Keychain()
	opts := make([]remote.Option, 0, 16)
	opts = append(opts, RemoteOptions(kc, nil, "test")...)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := Resolve(t.Context(), tag, auth, false, opts...); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
