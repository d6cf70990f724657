package ratelimit_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/ratelimit"
)

// fakeClock is a time the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func jwt(claims string) string {
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
}
func bearer(r *http.Request, claims string) { r.Header.Set("Authorization", "Bearer "+jwt(claims)) }

// serve runs r through l in front of a registry answering status.
func serve(l ratelimit.Limiter, r *http.Request, status int) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ratelimit.Wrap(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, "registry")
	})).ServeHTTP(w, r)
	return w
}

func TestCredential(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*http.Request)
		want string
	}{
		{"basic", func(r *http.Request) { r.SetBasicAuth("octocat", "pw") }, "user:octocat"},
		{"token of a user", func(r *http.Request) { bearer(r, `{"sub":"octocat","jti":"x"}`) }, "user:octocat"},
		{"anonymous token", func(r *http.Request) { bearer(r, `{"sub":"","jti":"x"}`) }, "address:192.0.2.1"},
		{"nothing", func(*http.Request) {}, "address:192.0.2.1"},
		{"not a JWT", func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, "address:192.0.2.1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/v2/", nil) // RemoteAddr 192.0.2.1:1234
		tc.set(r)
		if got := ratelimit.Credential(r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestGHCR: a burst, then one request an interval, per credential; a
// request over the rate gets GHCR's 429 body naming the wait until the next
// conforms (under one interval) and the rate, with no Retry-After.
func TestGHCR(t *testing.T) {
	t.Parallel()
	c := newClock()
	g := &ratelimit.GHCR{PerMinute: 600, Burst: 3, Now: c.Now} // an interval of 100ms
	req := func(user string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v2/org/app/blobs/uploads/", nil)
		bearer(r, `{"sub":"`+user+`"}`)
		return r
	}
	var codes []int
	for range 4 {
		codes = append(codes, serve(g, req("octocat"), http.StatusAccepted).Code)
	}
	if diff := cmp.Diff([]int{202, 202, 202, 429}, codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	// Another credential has its own.
	if w := serve(g, req("hubot"), http.StatusAccepted); w.Code != http.StatusAccepted {
		t.Errorf("another user got %d", w.Code)
	}
	c.add(40 * time.Millisecond)
	w := serve(g, req("octocat"), http.StatusAccepted)
	want := `{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 60ms, allowed: 600/minute"}]}`
	if w.Code != http.StatusTooManyRequests || w.Body.String() != want || w.Header().Get("Retry-After") != "" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q %v, want 429 %q without Retry-After", w.Code, w.Body, w.Header(), want)
	}
	c.add(60 * time.Millisecond)
	if w := serve(g, req("octocat"), http.StatusAccepted); w.Code != http.StatusAccepted {
		t.Errorf("after the wait: %d", w.Code)
	}
	if w := serve(g, req("octocat"), http.StatusAccepted); w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "retry-after: 100ms,") {
		t.Errorf("the next at once: %d %s", w.Code, w.Body)
	}
	if g.Refused() != 3 {
		t.Errorf("refused %d, want 3", g.Refused())
	}
}

// TestDockerHub: manifest GETs answered 200 are pulls, HEADs and other
// requests are not; manifest answers carry the limit headers; past the
// limit a GET gets Docker Hub's 429, naming the user; anonymous callers
// are kept per address; pulls age out of the 6-hour window.
func TestDockerHub(t *testing.T) {
	t.Parallel()
	c := newClock()
	d := &ratelimit.DockerHub{Pulls: 2, AnonymousPulls: 1, Now: c.Now}
	req := func(method, path, claims string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		if claims != "" {
			bearer(r, claims)
		}
		return r
	}
	const user = `{"sub":"octocat","jti":"tok1"}`
	steps := []struct {
		method, path, claims string
		status               int // the registry's
		wantCode             int
		wantRemaining        string
	}{
		{http.MethodHead, "/v2/org/app/manifests/v1", user, 200, 200, "2;w=21600"},
		{http.MethodGet, "/v2/org/app/manifests/v1", user, 200, 200, "1;w=21600"},
		{http.MethodGet, "/v2/org/app/manifests/sha256-00.sig", user, 404, 404, "0;w=21600"}, // given back
		{http.MethodGet, "/v2/org/app/blobs/sha256:00", user, 200, 200, ""},
		{http.MethodHead, "/v2/org/app/manifests/v1", user, 200, 200, "1;w=21600"},
		{http.MethodGet, "/v2/org/app/manifests/v1", user, 200, 200, "0;w=21600"},
		{http.MethodHead, "/v2/org/app/manifests/v1", user, 200, 200, "0;w=21600"},
		{http.MethodGet, "/v2/org/app/manifests/v1", user, 200, 429, "0;w=21600"},
		{http.MethodGet, "/v2/public/app/manifests/v1", "", 200, 200, "0;w=21600"},
		{http.MethodGet, "/v2/public/app/manifests/v1", "", 200, 429, "0;w=21600"},
	}
	var last *httptest.ResponseRecorder
	for i, s := range steps {
		w := serve(d, req(s.method, s.path, s.claims), s.status)
		if w.Code != s.wantCode || w.Header().Get("Ratelimit-Remaining") != s.wantRemaining {
			t.Errorf("step %d %s %s: %d remaining %q, want %d %q", i, s.method, s.path, w.Code, w.Header().Get("Ratelimit-Remaining"), s.wantCode, s.wantRemaining)
		}
		if s.wantRemaining != "" && (w.Header().Get("Ratelimit-Limit") == "" || w.Header().Get("Docker-Ratelimit-Source") == "") {
			t.Errorf("step %d: limit headers %v", i, w.Header())
		}
		if i == 7 {
			last = w
		}
	}
	want := `{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit as 'octocat': dckr_jti_tok1. You may increase the limit by upgrading. https://www.docker.com/increase-rate-limit"}]}`
	if last.Body.String() != want || last.Header().Get("Ratelimit-Limit") != "2;w=21600" {
		t.Errorf("refusal %q %v, want %q", last.Body, last.Header(), want)
	}
	anon := serve(d, req(http.MethodGet, "/v2/public/app/manifests/v1", ""), 200)
	if !strings.Contains(anon.Body.String(), `"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading`) || anon.Header().Get("Docker-Ratelimit-Source") != "192.0.2.1" {
		t.Errorf("anonymous refusal %q %v", anon.Body, anon.Header())
	}
	c.add(ratelimit.Window)
	if w := serve(d, req(http.MethodGet, "/v2/org/app/manifests/v1", user), 200); w.Code != 200 || w.Header().Get("Ratelimit-Remaining") != "1;w=21600" {
		t.Errorf("after the window: %d %q", w.Code, w.Header().Get("Ratelimit-Remaining"))
	}
	if diff := cmp.Diff(map[string]int{"/v2/org/app/manifests/v1": 3, "/v2/public/app/manifests/v1": 1}, d.PullsByPath()); diff != "" {
		t.Errorf("pulls (-want +got):\n%s", diff)
	}
	if d.Refused() != 3 || d.NotPulls() != 1 {
		t.Errorf("refused %d, not pulls %d, want 3 and 1", d.Refused(), d.NotPulls())
	}
}

// TestPlan: through the latency proxy, a refusal is the proxy's answer and
// an admitted request gets the registry's answer with the limit headers.
func TestPlan(t *testing.T) {
	t.Parallel()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "manifest") }))
	defer reg.Close()
	d := &ratelimit.DockerHub{Pulls: 1, AnonymousPulls: 1}
	g, err := latency.Start([]latency.Upstream{{Name: "hub", URL: reg.URL}},
		latency.WithPolicy(latency.PolicyFunc(func(_ string, r *http.Request) latency.Plan { return ratelimit.Plan(d, r) })))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var got []string
	for range 2 {
		resp, err := http.Get(g.URL("hub") + "/v2/public/app/manifests/v1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, resp.Status+" "+resp.Header.Get("Ratelimit-Remaining")+" "+string(b)[:8])
	}
	if diff := cmp.Diff([]string{"200 OK 0;w=21600 manifest", "429 Too Many Requests 0;w=21600 {\"errors"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
