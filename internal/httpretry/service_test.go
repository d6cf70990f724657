package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestService(t *testing.T) {
	t.Parallel()
	const remedy = "(" + Remedy + ")"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		accept      []string
		want        string // the error after "Rekor v1 at URL: ", "" for an answer
	}{
		{name: "success", status: 201, contentType: "application/json", body: `{}`, accept: []string{"application/json"}},
		{name: "success with charset", status: 200, contentType: "application/json; charset=utf-8", body: `{}`, accept: []string{"application/json"}},
		{name: "4xx is the client's to read", status: 400, contentType: "text/html", body: "<p>bad</p>", accept: []string{"application/json"}},
		{name: "lasting 5xx", status: 503, contentType: "text/plain", body: "down for\nmaintenance", want: "answered 503 Service Unavailable: down for maintenance"},
		{name: "lasting 429", status: 429, want: "answered 429 Too Many Requests"},
		{name: "web page", status: 200, contentType: "text/html; charset=utf-8", body: "<html>Maintenance</html>", want: "answered 200 OK with a web page, not an answer of its API: <html>Maintenance</html>"},
		{name: "web page without Accept", status: 200, contentType: "application/xhtml+xml", body: "<html/>", want: "answered 200 OK with a web page, not an answer of its API: <html/>"},
		{name: "wrong media type", status: 200, contentType: "text/plain", body: "hello", accept: []string{"application/timestamp-reply"}, want: `answered 200 OK with "text/plain", not application/timestamp-reply: hello`},
		{name: "long body cut", status: 500, body: strings.Repeat("x", 300), want: "answered 500 Internal Server Error: " + strings.Repeat("x", maxQuote) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			s := Service{Name: "Rekor v1", Base: http.DefaultTransport, Accept: tc.accept}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/log/entries", nil)
			resp, err := s.RoundTrip(req)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want the answer", err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || string(b) != tc.body {
					t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tc.status, tc.body)
				}
				return
			}
			var se *ServiceError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want a *ServiceError", err, err)
			}
			if want := fmt.Sprintf("Rekor v1 at %s: %s %s", srv.URL, tc.want, remedy); err.Error() != want {
				t.Errorf("err =\n%s\nwant\n%s", err, want)
			}
		})
	}
}

func TestServiceNoAnswer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	s := Service{Name: "Fulcio", Base: &Transport{Sleep: func(context.Context, time.Duration) error { return nil }}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v2/signingCert", nil)
	_, err = s.RoundTrip(req)
	want := "Fulcio at http://" + addr + ": POST http://" + addr + "/api/v2/signingCert: the connection was refused (nothing listens there), 4 attempt(s) (" + Remedy + ")"
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
	// Through a client, Cause drops net/http's repeat of the request.
	_, err = (&http.Client{Transport: s}).Post("http://"+addr+"/api/v2/signingCert", "application/json", nil)
	if got := Cause(err); got == err || got.Error() != want {
		t.Errorf("Cause(%v) = %v", err, got)
	}
}

func TestServiceCallerGaveUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
	_, err := Service{Name: "registry"}.RoundTrip(req)
	var se *ServiceError
	if err == nil || errors.As(err, &se) {
		t.Errorf("err = %v, want the caller's cancellation, not the service's fault", err)
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"timeout", &Error{Method: "GET", URL: "https://ghcr.io/v2/", Attempts: 4, Timeout: 2 * time.Second, Err: context.DeadlineExceeded},
			"GET https://ghcr.io/v2/: no answer within 2s, 4 attempt(s)"},
		{"reset", &Error{Method: "PUT", URL: "https://ghcr.io/v2/x", Attempts: 4, Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}},
			"PUT https://ghcr.io/v2/x: the connection was reset, 4 attempt(s)"},
		{"closed", &Error{Method: "GET", URL: "http://h/", Attempts: 1, Err: io.ErrUnexpectedEOF},
			"GET http://h/: the connection closed before an answer, 1 attempt(s)"},
		{"other", &Error{Method: "GET", URL: "https://h/", Attempts: 1, Err: errors.New("tls: bad certificate")},
			"GET https://h/: the connection failed (tls: bad certificate), 1 attempt(s)"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
