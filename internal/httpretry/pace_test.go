package httpretry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ghcr429 is GHCR's answer to a request over its rate, word for word
// (chainguard-images/images#173).
const ghcr429 = `{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 10.305464ms, allowed: 2000/minute"}]}`

// clock is a fake time: Sleep moves it on, and records what it was asked.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *clock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// get does a GET through tr and returns the status and the whole body.
func get(t *testing.T, tr http.RoundTripper, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestWaitInBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		header    string // Retry-After
		body      string
		responses int // answers like this before a 200
		wantCalls int32
		wantCode  int
		// wantWaits, when set, are the waits exactly; else wantBackoff says
		// the wait was the backoff (250ms to 312.5ms).
		wantWaits   []time.Duration
		wantBackoff bool
	}{
		{name: "GHCR's wait in the body", status: 429, body: ghcr429, responses: 1, wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{10305464 * time.Nanosecond}},
		{name: "microseconds", status: 429, body: `{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 880.092µs, allowed: 44000/minute"}]}`, responses: 1, wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{880092 * time.Nanosecond}},
		{name: "header wins", status: 429, header: "2", body: ghcr429, responses: 1, wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{2 * time.Second}},
		{name: "body wait capped", status: 429, body: `{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 10m0s"}]}`, responses: 1, wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{30 * time.Second}},
		{name: "no wait said", status: 429, body: `{"errors":[{"code":"TOOMANYREQUESTS","message":"Too Many Requests"}]}`, responses: 1, wantCalls: 2, wantCode: 200, wantBackoff: true},
		{name: "not JSON", status: 429, body: "Too Many Requests (HAP429).", responses: 1, wantCalls: 2, wantCode: 200, wantBackoff: true},
		{name: "lasting 429 keeps its body", status: 429, body: ghcr429, responses: 9, wantCalls: 4, wantCode: 429},
		{name: "secondary rate limit", status: 403, body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`, responses: 1, wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{SecondaryWait}},
		{name: "secondary rate limit with Retry-After", status: 403, header: "5", body: `You have exceeded a secondary rate limit`, responses: 1, wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{SecondaryWait}},
		{name: "other 403 is final", status: 403, body: `{"errors":[{"code":"DENIED","message":"denied"}]}`, responses: 9, wantCalls: 1, wantCode: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if int(calls.Add(1)) > tc.responses {
					io.WriteString(w, "ok")
					return
				}
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			for _, paced := range []bool{false, true} {
				calls.Store(0)
				c := newClock()
				tr := &Transport{Sleep: c.Sleep}
				if paced {
					tr.Pacer = &Pacer{Now: c.Now}
				}
				code, b := get(t, tr, srv.URL)
				if code != tc.wantCode || calls.Load() != tc.wantCalls {
					t.Errorf("paced %v: got %d after %d calls, want %d after %d", paced, code, calls.Load(), tc.wantCode, tc.wantCalls)
				}
				if want := map[bool]string{true: "ok", false: tc.body}[tc.wantCode == 200]; b != want {
					t.Errorf("paced %v: body %q, want %q whole", paced, b, want)
				}
				waits := c.sleeps()
				switch {
				case tc.wantWaits != nil && !equalDurations(waits, tc.wantWaits):
					t.Errorf("paced %v: waits %v, want %v", paced, waits, tc.wantWaits)
				case tc.wantBackoff && (len(waits) != 1 || waits[0] < 250*time.Millisecond || waits[0] > 312500*time.Microsecond):
					t.Errorf("paced %v: waits %v, want one backoff of 250ms to 312.5ms", paced, waits)
				}
			}
		})
	}
}

func TestServiceSecondaryLimit(t *testing.T) {
	t.Parallel()
	body := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	c := newClock()
	s := Service{Name: "registry", Base: &Transport{Sleep: c.Sleep}}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/org/app/manifests/v1", nil)
	_, err := s.RoundTrip(req)
	want := "registry at " + srv.URL + ": answered 403 Forbidden for its secondary rate limit: " + body + " (" + Remedy + ")"
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
	if got := c.sleeps(); !equalDurations(got, []time.Duration{SecondaryWait, SecondaryWait, SecondaryWait}) {
		t.Errorf("waits %v, want a minute before each of 3 retries", got)
	}
}

func TestStatedLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body     string
		wantWait time.Duration
		wantRate Budget
	}{
		{ghcr429, 10305464 * time.Nanosecond, Budget{Requests: 2000, Per: time.Minute}},
		{`{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 1.16676ms, allowed: 44000/minute"}]}`, 1166760 * time.Nanosecond, Budget{Requests: 44000, Per: time.Minute}},
		{`{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 333.939671ms"}]}`, 333939671 * time.Nanosecond, Budget{}},
		{`{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}`, 0, Budget{}},
		{`{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: -5s, allowed: 0/minute"}]}`, 0, Budget{}},
		{`retry-after: 5s`, 0, Budget{}}, // not an error body
		{``, 0, Budget{}},
	}
	for _, tc := range tests {
		wait, rate := statedLimit([]byte(tc.body))
		if wait != tc.wantWait || rate != tc.wantRate {
			t.Errorf("%s: wait %v rate %+v, want %v %+v", tc.body, wait, rate, tc.wantWait, tc.wantRate)
		}
	}
}

// TestPacerBudget: a budgeted host gets its burst at once, then one
// request an interval (at PaceShare of its rate); other hosts are not
// paced; a 429 stating a lower rate holds the host to it, with no burst
// left, from the end of its wait.
func TestPacerBudget(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &Pacer{Budgets: map[string]Budget{"GHCR.io": {Requests: 2000, Per: time.Minute, Burst: 3}}, Now: c.Now}
	interval := Budget{Requests: 2000, Per: time.Minute}.interval() // 33.333333ms
	ctx := context.Background()
	wait := func(host string, n int) {
		for range n {
			if err := p.wait(ctx, host, c.Sleep); err != nil {
				t.Fatal(err)
			}
		}
	}
	wait("ghcr.io", 5)
	if got, want := c.sleeps(), []time.Duration{interval, interval}; !equalDurations(got, want) {
		t.Fatalf("waits %v, want the burst of 3 at once then %v", got, want)
	}
	wait("docker.io", 20)
	if got := c.sleeps(); len(got) != 2 {
		t.Fatalf("an unbudgeted host was paced: waits %v", got)
	}
	// GHCR's 429 with a lower stated rate: a 2s wait, then 600 a minute.
	p.hold("ghcr.io", 2*time.Second, Budget{Requests: 600, Per: time.Minute})
	wait("ghcr.io", 3)
	slow := Budget{Requests: 600, Per: time.Minute}.interval() // 111.111111ms
	if got, want := c.sleeps()[2:], []time.Duration{2 * time.Second, slow, slow}; !equalDurations(got, want) {
		t.Fatalf("after the 429: waits %v, want %v", got, want)
	}
	// A faster stated rate does not loosen the budget.
	p.hold("ghcr.io", 0, Budget{Requests: 44000, Per: time.Minute})
	wait("ghcr.io", 3)
	if got, want := c.sleeps()[5:], []time.Duration{slow, slow}; !equalDurations(got, want) {
		t.Fatalf("after a faster stated rate: waits %v, want %v", got, want)
	}
}

// TestPacerHoldRequeues: a request that took its place in the queue before
// the host refused another waits for the new wait too.
func TestPacerHoldRequeues(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &Pacer{Budgets: map[string]Budget{"ghcr.io": {Requests: 60, Per: time.Minute}}, Now: c.Now}
	interval := Budget{Requests: 60, Per: time.Minute}.interval()
	ctx := context.Background()
	if err := p.wait(ctx, "ghcr.io", c.Sleep); err != nil {
		t.Fatal(err)
	}
	held := false
	sleep := func(ctx context.Context, d time.Duration) error {
		if !held {
			held = true // another goroutine's request got a 429 meanwhile
			p.hold("ghcr.io", 5*time.Second, Budget{})
		}
		return c.Sleep(ctx, d)
	}
	if err := p.wait(ctx, "ghcr.io", sleep); err != nil {
		t.Fatal(err)
	}
	// The first wait was for its place (one interval); the hold came at
	// its start, so it waits out the 5s from then.
	if got, want := c.sleeps(), []time.Duration{interval, 5*time.Second - interval}; !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

// TestPacerHoldsEveryGoroutine: while one request's 429 wait runs, the
// other goroutines' requests to that host wait for it too, and none reaches
// the host; without a Pacer each goes on its own. Sleeps block until the
// test lets them go, so nothing depends on timing.
func TestPacerHoldsEveryGoroutine(t *testing.T) {
	t.Parallel()
	for _, paced := range []bool{true, false} {
		t.Run(map[bool]string{true: "paced", false: "unpaced"}[paced], func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if hits.Add(1) == 1 {
					w.Header().Set("Retry-After", "5")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
			defer other.Close()

			c := newClock()
			release := make(chan struct{})
			var sleeping atomic.Int32
			sleep := func(ctx context.Context, d time.Duration) error {
				sleeping.Add(1)
				<-release
				return c.Sleep(ctx, d)
			}
			tr := &Transport{Sleep: sleep}
			if paced {
				tr.Pacer = &Pacer{Now: c.Now}
			}
			get := func(u string) error {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return &url.Error{Op: "GET", URL: u, Err: io.ErrUnexpectedEOF}
				}
				return nil
			}
			const n = 8
			errs := make(chan error, n+1)
			go func() { errs <- get(srv.URL) }() // gets the 429, then waits
			for sleeping.Load() < 1 {
				time.Sleep(time.Millisecond)
			}
			for range n {
				go func() { errs <- get(srv.URL) }()
			}
			// Another host is not held.
			if err := get(other.URL); err != nil {
				t.Fatal(err)
			}
			want := int32(1)
			if !paced {
				want = 1 + n
			}
			for hits.Load() < want || (paced && sleeping.Load() < 1+n) {
				time.Sleep(time.Millisecond)
			}
			if got := hits.Load(); got != want {
				t.Errorf("%d requests reached the host during the wait, want %d", got, want)
			}
			close(release)
			for range n + 1 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if paced {
				for _, d := range c.sleeps() {
					if d != 5*time.Second {
						t.Errorf("a request waited %v, want the 429's 5s", d)
					}
				}
			}
		})
	}
}
