package registry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestOnePing writes to and reads from three repositories of the GHCR
// stand-in (token auth) through a run's push sessions and its shared
// Puller: with OnePing under both, the registry is pinged once for the
// run; without, once per repository and scope. The tokens stay one per
// repository and scope either way.
func TestOnePing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		onePing   bool
		wantPings int
	}{
		{name: "one ping", onePing: true, wantPings: 1},
		{name: "a ping per repository and scope", onePing: false, wantPings: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, host, kc := serveCountedGHCR(t)
			var rt http.RoundTripper
			if tc.onePing {
				rt = OnePing(nil)
			}
			p := NewPushes(kc, rt, "test")
			reads, err := Reusing(RemoteOptions(kc, rt, "test"))
			if err != nil {
				t.Fatal(err)
			}
			img, _ := random.Image(16, 1)
			for _, r := range []string{"org/a", "org/b", "org/c"} {
				repo, _ := name.NewRepository(host + "/" + r)
				opts, err := p.Options(t.Context(), repo)
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.Write(repo.Tag("v1"), img, opts...); err != nil {
					t.Fatal(err)
				}
				if _, err := remote.Head(repo.Tag("v1"), append(reads, remote.WithContext(t.Context()))...); err != nil {
					t.Fatal(err)
				}
			}
			got := log.Counts()
			if got["GET /v2/"] != tc.wantPings || got["GET /token"] != 6 {
				t.Errorf("pings %d, tokens %d; want %d and 6 (%v)", got["GET /v2/"], got["GET /token"], tc.wantPings, got)
			}
		})
	}
}

// pingServer answers GET /v2/ with the statuses in order (the last one
// from then on), a token challenge with each 401, counting them.
type pingServer struct {
	statuses []int
	delay    time.Duration
	n        atomic.Int64
}

func (s *pingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	time.Sleep(s.delay)
	status := s.statuses[min(i, len(s.statuses)-1)]
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="test"`)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{}`)
}

func pingOf(t *testing.T, rt http.RoundTripper, url string, header http.Header) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := rt.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

// TestOnePingConcurrent: pings asked at once wait for the first, and each
// gets the registry's challenge; requests that are not pings (another
// path, credentials) go to the registry.
func TestOnePingConcurrent(t *testing.T) {
	t.Parallel()
	s := &pingServer{statuses: []int{http.StatusUnauthorized}, delay: 20 * time.Millisecond}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	rt := OnePing(nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := pingOf(t, rt, srv.URL+"/v2/", nil)
			if err != nil {
				t.Error(err)
				return
			}
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || resp.Request == nil || resp.Request.URL.Path != "/v2/" {
				t.Errorf("answer %d %v (request %v), want the 401 and its challenge", resp.StatusCode, resp.Header, resp.Request)
			}
		})
	}
	wg.Wait()
	if n := s.n.Load(); n != 1 {
		t.Errorf("the registry was pinged %d times, want 1", n)
	}
	if _, err := pingOf(t, rt, srv.URL+"/v2/", http.Header{"Authorization": {"Bearer x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pingOf(t, rt, srv.URL+"/v2/org/app/tags/list", nil); err != nil {
		t.Fatal(err)
	}
	if n := s.n.Load(); n != 3 {
		t.Errorf("%d requests reached the registry, want 3 (one ping, one with credentials, one of another path)", n)
	}
}

// TestOnePingNotKept: an answer go-containerregistry cannot go on from is
// the asker's alone; the next ping asks again, and the first 200 or 401 is
// kept.
func TestOnePingNotKept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		statuses []int
		want     []int // each ping's answer
		asked    int64 // pings that reached the registry
	}{
		{name: "5xx then a challenge", statuses: []int{503, 401}, want: []int{503, 401, 401, 401}, asked: 2},
		{name: "rate limited twice", statuses: []int{429, 429, 200}, want: []int{429, 429, 200, 200}, asked: 3},
		{name: "no authentication", statuses: []int{200}, want: []int{200, 200, 200}, asked: 1},
		{name: "not a registry", statuses: []int{404}, want: []int{404, 404}, asked: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &pingServer{statuses: tc.statuses}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			rt := OnePing(nil)
			for i, want := range tc.want {
				resp, err := pingOf(t, rt, srv.URL+"/v2/", nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != want {
					t.Errorf("ping %d answered %d, want %d", i+1, resp.StatusCode, want)
				}
			}
			if n := s.n.Load(); n != tc.asked {
				t.Errorf("the registry was pinged %d times, want %d", n, tc.asked)
			}
		})
	}
	t.Run("transport error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(&pingServer{statuses: []int{401}})
		url := srv.URL
		srv.Close()
		rt := OnePing(nil)
		for range 2 {
			if _, err := pingOf(t, rt, url+"/v2/", nil); err == nil {
				t.Fatal("a ping to a closed server succeeded")
			}
		}
	})
}
