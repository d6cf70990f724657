package latency_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
)

// start fronts each handler (by name) with the proxy and returns the group
// and the upstream servers.
func start(t *testing.T, handlers map[string]http.Handler, opts ...latency.Option) (*latency.Group, map[string]*httptest.Server) {
	t.Helper()
	servers := map[string]*httptest.Server{}
	var ups []latency.Upstream
	for n, h := range handlers {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		servers[n] = s
		ups = append(ups, latency.Upstream{Name: n, URL: s.URL})
	}
	g, err := latency.Start(ups, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, servers
}

func TestDelayEachWay(t *testing.T) {
	t.Parallel()
	const d = 60 * time.Millisecond
	var arrived atomic.Int64 // nanoseconds since sent
	var sent time.Time
	g, _ := start(t, map[string]http.Handler{"svc": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Store(int64(time.Since(sent)))
		io.WriteString(w, "ok")
	})}, latency.WithDelay(d))

	sent = time.Now()
	resp, err := http.Get(g.URL("svc") + "/x")
	if err != nil {
		t.Fatal(err)
	}
	headers := time.Since(sent)
	resp.Body.Close()
	if got := time.Duration(arrived.Load()); got < d {
		t.Errorf("the request reached the upstream after %v, want at least %v", got, d)
	}
	if headers < 2*d {
		t.Errorf("the round trip took %v, want at least %v", headers, 2*d)
	}
}

func TestZeroDelayIsFast(t *testing.T) {
	t.Parallel()
	g, _ := start(t, map[string]http.Handler{"svc": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}, latency.WithDelay(0))
	begin := time.Now()
	for range 20 {
		resp, err := http.Get(g.URL("svc"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Loose: only proves the default delay is not applied regardless.
	if el := time.Since(begin); el > 20*2*latency.DefaultDelay {
		t.Errorf("20 requests without delay took %v", el)
	}
}

// TestBodiesIntact sends a large body up and gets it back, and checks that
// a response is streamed: its first part reaches the client before the
// upstream has written the rest.
func TestBodiesIntact(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	g, _ := start(t, map[string]http.Handler{"svc": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			h := sha256.New()
			b, _ := io.ReadAll(io.TeeReader(r.Body, h))
			w.Header().Set("X-Sum", fmt.Sprintf("%x", h.Sum(nil)))
			w.Write(b)
		case "/stream":
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "second\n")
		}
	})}, latency.WithDelay(time.Millisecond))

	body := make([]byte, 3<<20+17)
	rand.Read(body)
	resp, err := http.Post(g.URL("svc")+"/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x", sha256.Sum256(body))
	if resp.Header.Get("X-Sum") != want || !bytes.Equal(got, body) {
		t.Errorf("body changed on the way: upstream saw sha256 %s, want %s; %d bytes back of %d", resp.Header.Get("X-Sum"), want, len(got), len(body))
	}

	resp, err = http.Get(g.URL("svc") + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("first\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first\n" {
		t.Fatalf("first part: %q, %v", first, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second\n" {
		t.Errorf("second part: %q", rest)
	}
}

// TestRewritesURLs checks that absolute URLs naming any upstream in the
// headers a client follows point at the proxies, and that the upstream sees
// its own host.
func TestRewritesURLs(t *testing.T) {
	t.Parallel()
	var regURL, authURL string
	var gotHost atomic.Value
	g, servers := start(t, map[string]http.Handler{
		"registry": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotHost.Store(r.Host)
			w.Header().Set("Location", regURL+"/v2/repo/blobs/uploads/abc?_state=x")
			w.Header().Add("WWW-Authenticate", `Bearer realm="`+authURL+`/token",service="registry"`)
			w.Header().Set("Link", `<`+regURL+`/v2/repo/tags/list?last=b>; rel="next"`)
			w.WriteHeader(http.StatusAccepted)
		}),
		"auth": http.NotFoundHandler(),
	})
	regURL, authURL = servers["registry"].URL, servers["auth"].URL

	resp, err := http.Post(g.URL("registry")+"/v2/repo/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := http.Header{
		"Location":         {g.URL("registry") + "/v2/repo/blobs/uploads/abc?_state=x"},
		"Www-Authenticate": {`Bearer realm="` + g.URL("auth") + `/token",service="registry"`},
		"Link":             {`<` + g.URL("registry") + `/v2/repo/tags/list?last=b>; rel="next"`},
	}
	got := http.Header{}
	for k := range want {
		got[k] = resp.Header.Values(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if h, want := gotHost.Load(), strings.TrimPrefix(regURL, "http://"); h != want {
		t.Errorf("the upstream saw Host %v, want its own %s", h, want)
	}
}

// TestRegistryThroughProxy pushes and pulls an image with
// go-containerregistry through the proxy: uploads, Location, digests.
func TestRegistryThroughProxy(t *testing.T) {
	t.Parallel()
	g, _ := start(t, map[string]http.Handler{"registry": registry.New()}, latency.WithDelay(time.Millisecond))
	img, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(g.Host("registry") + "/sigil/latency:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push through the proxy: %v", err)
	}
	back, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	wantD, _ := img.Digest()
	gotD, err := back.Digest()
	if err != nil || gotD != wantD {
		t.Fatalf("pulled digest %v (%v), want %v", gotD, err, wantD)
	}
	layers, err := back.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the layer's digest as it is read
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("layer: %v", err)
		}
		rc.Close()
	}
	st := g.Stats()["registry"]
	if st.Methods["PUT"] == 0 || st.Methods["GET"] == 0 {
		t.Errorf("stats %v: want PUTs and GETs counted", st)
	}
}

func TestFaultHook(t *testing.T) {
	t.Parallel()
	var seen atomic.Int64
	var n atomic.Int64
	policy := latency.PolicyFunc(func(upstream string, r *http.Request) latency.Plan {
		switch n.Add(1) {
		case 1:
			return latency.Plan{Fault: latency.Status(http.StatusServiceUnavailable, http.Header{"Retry-After": {"1"}})}
		case 2:
			return latency.Plan{Fault: latency.Abort}
		}
		return latency.Plan{}
	})
	g, _ := start(t, map[string]http.Handler{"svc": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
	})}, latency.WithPolicy(policy))

	resp, err := http.Get(g.URL("svc"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("first request: %s, Retry-After %q; want the injected 503 with Retry-After 1", resp.Status, resp.Header.Get("Retry-After"))
	}
	// A plain client: the default one would retry a GET on a dropped
	// reused connection.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := c.Get(g.URL("svc")); err == nil {
		resp.Body.Close()
		t.Errorf("second request: %s, want the connection dropped", resp.Status)
	}
	resp, err = http.Get(g.URL("svc"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("third request: %s, want 200", resp.Status)
	}
	if seen.Load() != 1 {
		t.Errorf("the upstream saw %d requests, want only the third", seen.Load())
	}
	if st := g.Stats()["svc"]; st.Requests != 3 || st.Faults != 2 {
		t.Errorf("stats %v, want 3 requests, 2 faults", st)
	}
}

// TestKeepAliveAndConnectDelay checks that a client reusing its connection
// opens one and pays the connect delay once.
func TestKeepAliveAndConnectDelay(t *testing.T) {
	t.Parallel()
	const cd = 80 * time.Millisecond
	g, _ := start(t, map[string]http.Handler{"svc": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})}, latency.WithDelay(0), latency.WithConnectDelay(cd))
	c := &http.Client{Transport: &http.Transport{}}
	var took []time.Duration
	for range 5 {
		begin := time.Now()
		resp, err := c.Get(g.URL("svc"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(begin))
	}
	if took[0] < cd {
		t.Errorf("the first request took %v, want at least the connect delay %v", took[0], cd)
	}
	if st := g.Stats()["svc"]; st.Connections != 1 || st.Requests != 5 {
		t.Errorf("stats %v, want 5 requests on 1 connection", st)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	for _, ups := range [][]latency.Upstream{
		{{Name: "a", URL: "ftp://127.0.0.1:1"}},
		{{Name: "a", URL: "http://127.0.0.1:1"}, {Name: "a", URL: "http://127.0.0.1:2"}},
		{{Name: "", URL: "http://127.0.0.1:1"}},
	} {
		if g, err := latency.Start(ups); err == nil {
			g.Close()
			t.Errorf("Start(%v) succeeded, want an error", ups)
		}
	}
}

func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	g, err := latency.Start([]latency.Upstream{{Name: "gone", URL: s.URL}}, latency.WithDelay(0))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	resp, err := http.Get(g.URL("gone"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("got %s, want 502", resp.Status)
	}
}

func TestStatsSub(t *testing.T) {
	a := latency.Stats{Requests: 10, Connections: 3, Methods: map[string]int64{"GET": 7, "PUT": 3}}
	b := latency.Stats{Requests: 4, Connections: 1, Methods: map[string]int64{"GET": 4}}
	want := latency.Stats{Requests: 6, Connections: 2, Methods: map[string]int64{"GET": 3, "PUT": 3}}
	if diff := cmp.Diff(want, a.Sub(b)); diff != "" {
		t.Errorf("Sub (-want +got):\n%s", diff)
	}
	if got := a.Sub(b).String(); got != "6 requests (GET 3, PUT 3) on 2 connections" {
		t.Errorf("String() = %q", got)
	}
}

// Example fronts a service with the default 20 ms each way.
func Example() {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer svc.Close()
	g, err := latency.Start([]latency.Upstream{{Name: "fulcio", URL: svc.URL}})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	begin := time.Now()
	resp, err := http.Get(g.URL("fulcio"))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(b), time.Since(begin) >= 2*latency.DefaultDelay)
	fmt.Println(g.Stats()["fulcio"])
	// Output:
	// hello true
	// 1 requests (GET 1) on 1 connections
}
