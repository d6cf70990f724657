package httpretry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		responses []int
		header    string
		body      bool
		wantCalls int32
		wantCode  int
		wantWaits []time.Duration
	}{
		{name: "ok", responses: []int{200}, wantCalls: 1, wantCode: 200},
		{name: "5xx then ok", responses: []int{502, 500, 200}, wantCalls: 3, wantCode: 200},
		{name: "429 honours Retry-After", responses: []int{429, 200}, header: "7", wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{7 * time.Second}},
		{name: "Retry-After capped", responses: []int{429, 200}, header: "3600", wantCalls: 2, wantCode: 200, wantWaits: []time.Duration{30 * time.Second}},
		{name: "gives up", responses: []int{503, 503, 503, 503, 503}, wantCalls: 4, wantCode: 503},
		{name: "4xx is final", responses: []int{404, 200}, wantCalls: 1, wantCode: 404},
		{name: "replayable body retried", responses: []int{500, 201}, body: true, wantCalls: 2, wantCode: 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if tc.body {
					b, _ := io.ReadAll(r.Body)
					if string(b) != "payload" {
						t.Errorf("attempt %d got body %q", n, b)
					}
				}
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.responses[n-1])
			}))
			defer srv.Close()
			var waits []time.Duration
			tr := &Transport{Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			var body io.Reader
			if tc.body {
				body = strings.NewReader("payload")
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || calls.Load() != tc.wantCalls {
				t.Errorf("got %d after %d calls, want %d after %d", resp.StatusCode, calls.Load(), tc.wantCode, tc.wantCalls)
			}
			if tc.wantWaits != nil && (len(waits) != len(tc.wantWaits) || waits[0] != tc.wantWaits[0]) {
				t.Errorf("waits %v, want %v", waits, tc.wantWaits)
			}
		})
	}
}

func TestTimeoutRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // hang until the client's attempt times out
			return
		}
		io.WriteString(w, "late but fine")
	}))
	defer srv.Close()
	tr := &Transport{Timeout: 200 * time.Millisecond, Sleep: func(context.Context, time.Duration) error { return nil }}
	if _, b := get(t, tr, srv.URL); b != "late but fine" || calls.Load() != 2 {
		t.Errorf("got %q after %d calls", b, calls.Load())
	}
}

func TestCallerCancelNotRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := New(nil).RoundTrip(req); err == nil {
		t.Fatal("want an error")
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1", calls.Load())
	}
}
