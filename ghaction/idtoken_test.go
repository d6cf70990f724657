package ghaction

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testBearer = "request-token-S3CR3T"
	testToken  = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciJ9.c2lnbmF0dXJl"
)

// tokenServer is a stand-in for the runner's token endpoint. handle answers
// request number n (from 1); requests are recorded.
type tokenServer struct {
	*httptest.Server
	calls    atomic.Int32
	lastURL  atomic.Value // string
	lastAuth atomic.Value // string
}

func newTokenServer(t *testing.T, handle func(n int, w http.ResponseWriter)) *tokenServer {
	t.Helper()
	s := &tokenServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(s.calls.Add(1))
		s.lastURL.Store(req.URL.String())
		s.lastAuth.Store(req.Header.Get("Authorization"))
		handle(n, w)
	}))
	t.Cleanup(s.Close)
	return s
}

func jsonToken(_ int, w http.ResponseWriter) {
	fmt.Fprintf(w, `{"count": 1, "value": %q}`, testToken)
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// handle answers the token requests.
		handle func(n int, w http.ResponseWriter)
		// path is appended to the server URL to form the request URL.
		path     string
		audience string
		// unset lists variables to leave out of the environment.
		unset     []string
		wantToken string
		wantErr   string
		wantURL   string
		wantCalls int
	}{
		{
			name: "success with a query string", handle: jsonToken,
			path: "/token?api-version=2.0", audience: "sigstore",
			wantToken: testToken, wantURL: "/token?api-version=2.0&audience=sigstore", wantCalls: 1,
		},
		{
			name: "success without a query string", handle: jsonToken,
			path: "/token", audience: "https://example.com/a b&c",
			wantToken: testToken, wantURL: "/token?audience=https%3A%2F%2Fexample.com%2Fa+b%26c", wantCalls: 1,
		},
		{
			name: "no audience", handle: jsonToken, path: "/token?api-version=2.0",
			wantToken: testToken, wantURL: "/token?api-version=2.0", wantCalls: 1,
		},
		{
			name: "missing request URL", handle: jsonToken, unset: []string{"ACTIONS_ID_TOKEN_REQUEST_URL"},
			wantErr: "no GitHub OIDC token available: the job needs `permissions: id-token: write` (workflows triggered by pull_request from a fork never get a token) (ACTIONS_ID_TOKEN_REQUEST_URL is not set)",
		},
		{
			name: "missing request token", handle: jsonToken, unset: []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN"},
			wantErr: "no GitHub OIDC token available: the job needs `permissions: id-token: write` (workflows triggered by pull_request from a fork never get a token) (ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set)",
		},
		{
			name: "401 is not retried and the request token is redacted",
			handle: func(_ int, w http.ResponseWriter) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, `{"message": "bad credentials: Bearer %s"}`, testBearer)
			},
			wantErr:   `requesting GitHub OIDC token: 401 Unauthorized: "{\"message\": \"bad credentials: Bearer ***\"}"`,
			wantCalls: 1,
		},
		{
			name: "500 then success is retried",
			handle: func(n int, w http.ResponseWriter) {
				if n == 1 {
					http.Error(w, "oops", http.StatusInternalServerError)
					return
				}
				jsonToken(n, w)
			},
			wantToken: testToken, wantCalls: 2,
		},
		{
			name: "503 every time gives up after the retries",
			handle: func(_ int, w http.ResponseWriter) {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
			},
			wantErr:   `requesting GitHub OIDC token: 503 Service Unavailable: "unavailable\n" (the runner's token service failed, not the job: re-run it; if it persists, see https://www.githubstatus.com)`,
			wantCalls: 3,
		},
		{
			name: "garbled JSON names no byte of it",
			handle: func(_ int, w http.ResponseWriter) {
				fmt.Fprintf(w, `{"value": "%s`, testToken)
			},
			wantErr:   `requesting GitHub OIDC token: response is not the expected JSON {"value": "<token>"}: invalid JSON at byte 69 (the runner's token service failed, not the job: re-run it; if it persists, see https://www.githubstatus.com)`,
			wantCalls: 1,
		},
		{
			name:      "wrong JSON type",
			handle:    func(_ int, w http.ResponseWriter) { fmt.Fprint(w, `{"value": 42}`) },
			wantErr:   `requesting GitHub OIDC token: response is not the expected JSON {"value": "<token>"}: number where a string was expected (the runner's token service failed, not the job: re-run it; if it persists, see https://www.githubstatus.com)`,
			wantCalls: 1,
		},
		{
			name:      "empty value",
			handle:    func(_ int, w http.ResponseWriter) { fmt.Fprint(w, `{"value": ""}`) },
			wantErr:   `requesting GitHub OIDC token: response has no token (empty or missing "value")`,
			wantCalls: 1,
		},
		{
			name: "huge body is bounded",
			handle: func(_ int, w http.ResponseWriter) {
				fmt.Fprintf(w, `{"value": %q, "padding": "%s"}`, testToken, strings.Repeat("x", 10<<20))
			},
			wantErr:   "requesting GitHub OIDC token: response larger than 64 KiB",
			wantCalls: 1,
		},
		{
			name: "huge error body is cut to a snippet",
			handle: func(_ int, w http.ResponseWriter) {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, strings.Repeat("y", 10<<20))
			},
			wantErr:   fmt.Sprintf("requesting GitHub OIDC token: 403 Forbidden: %q", strings.Repeat("y", 256)),
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTokenServer(t, tt.handle)
			path := tt.path
			if path == "" {
				path = "/token?api-version=2.0"
			}
			env := testEnv{
				"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + path,
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN": testBearer,
			}
			for _, k := range tt.unset {
				delete(env, k)
			}
			r, stdout := newTestRuntime(t, env)
			token, err := r.IDToken(t.Context(), tt.audience)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("IDToken error mismatch (-want +got):\n%s", diff)
			}
			if token != tt.wantToken {
				t.Errorf("IDToken = %q, want %q", token, tt.wantToken)
			}
			if got := int(srv.calls.Load()); got != tt.wantCalls {
				t.Errorf("server got %d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantCalls > 0 {
				if got := srv.lastAuth.Load(); got != "Bearer "+testBearer {
					t.Errorf("Authorization = %q", got)
				}
			}
			if tt.wantURL != "" {
				if got := srv.lastURL.Load(); got != tt.wantURL {
					t.Errorf("request URL = %q, want %q", got, tt.wantURL)
				}
			}
			wantStdout := ""
			if tt.wantToken != "" {
				wantStdout = "::add-mask::" + tt.wantToken + "\n"
			}
			if diff := cmp.Diff(wantStdout, stdout.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if err != nil {
				for _, secret := range []string{testToken, testBearer, "eyJ"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains %q", err, secret)
					}
				}
			}
			if tt.unset != nil && !errors.Is(err, ErrNoIDTokenPermission) {
				t.Errorf("error %v is not ErrNoIDTokenPermission", err)
			}
		})
	}
}

func TestIDTokenResponseError(t *testing.T) {
	t.Parallel()
	srv := newTokenServer(t, func(_ int, w http.ResponseWriter) {
		http.Error(w, "nope", http.StatusTooManyRequests)
	})
	r, _ := newTestRuntime(t, testEnv{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": testBearer,
	}, WithTokenRetries(1))
	_, err := r.IDToken(t.Context(), "sigstore")
	var re *TokenResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *TokenResponseError", err)
	}
	if diff := cmp.Diff(&TokenResponseError{StatusCode: 429, Snippet: "nope\n"}, re); diff != "" {
		t.Errorf("TokenResponseError mismatch (-want +got):\n%s", diff)
	}
	if got := srv.calls.Load(); got != 2 {
		t.Errorf("server got %d requests, want 2 (429 is retried once)", got)
	}
}

func TestIDTokenContext(t *testing.T) {
	t.Parallel()
	env := func(u string) testEnv {
		return testEnv{"ACTIONS_ID_TOKEN_REQUEST_URL": u, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": testBearer}
	}

	t.Run("cancelled before the request", func(t *testing.T) {
		t.Parallel()
		srv := newTokenServer(t, jsonToken)
		r, _ := newTestRuntime(t, env(srv.URL))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := r.IDToken(ctx, "sigstore")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		if got := srv.calls.Load(); got != 0 {
			t.Errorf("server got %d requests, want 0", got)
		}
	})

	t.Run("cancelled during the backoff", func(t *testing.T) {
		t.Parallel()
		srv := newTokenServer(t, func(_ int, w http.ResponseWriter) {
			http.Error(w, "down", http.StatusBadGateway)
		})
		ctx, cancel := context.WithCancel(t.Context())
		r, _ := newTestRuntime(t, env(srv.URL), WithBackoff(func(int) time.Duration {
			cancel()
			return time.Hour
		}))
		_, err := r.IDToken(ctx, "sigstore")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		want := `requesting GitHub OIDC token: context canceled (after: requesting GitHub OIDC token: 502 Bad Gateway: "down\n")`
		if diff := cmp.Diff(want, errString(err)); diff != "" {
			t.Errorf("error mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("attempt timeout is retried", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := newTokenServer(t, func(n int, w http.ResponseWriter) {
			if n == 1 {
				<-release // hang until the test ends: the client times out
				return
			}
			jsonToken(n, w)
		})
		// Registered after the server's Close, so it runs before it.
		t.Cleanup(func() { close(release) })
		r, _ := newTestRuntime(t, env(srv.URL), WithTokenTimeout(50*time.Millisecond))
		token, err := r.IDToken(t.Context(), "sigstore")
		if err != nil || token != testToken {
			t.Errorf("IDToken = %q, %v; want the token after a retry", token, err)
		}
	})

	t.Run("no answer in any attempt says so", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := newTokenServer(t, func(int, http.ResponseWriter) { <-release })
		t.Cleanup(func() { close(release) })
		r, _ := newTestRuntime(t, env(srv.URL), WithTokenTimeout(20*time.Millisecond))
		_, err := r.IDToken(t.Context(), "sigstore")
		want := "requesting GitHub OIDC token: no answer within 20ms (the runner's token service failed, not the job: re-run it; if it persists, see https://www.githubstatus.com)"
		if diff := cmp.Diff(want, errString(err)); diff != "" {
			t.Errorf("error mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("network error is retried", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("connection reset")
			}
			return http.DefaultTransport.RoundTrip(req)
		})
		srv := newTokenServer(t, jsonToken)
		r, _ := newTestRuntime(t, env(srv.URL), WithTransport(rt))
		token, err := r.IDToken(t.Context(), "sigstore")
		if err != nil || token != testToken || calls.Load() != 2 {
			t.Errorf("IDToken = %q, %v after %d calls; want the token after a retry", token, err, calls.Load())
		}
	})
}

func TestIDTokenInvalidURL(t *testing.T) {
	t.Parallel()
	r, _ := newTestRuntime(t, testEnv{"ACTIONS_ID_TOKEN_REQUEST_URL": "not a url", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": testBearer})
	_, err := r.IDToken(t.Context(), "sigstore")
	if diff := cmp.Diff("requesting GitHub OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL is not an absolute URL", errString(err)); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}

func TestIDTokenNotReturnedUnmasked(t *testing.T) {
	t.Parallel()
	srv := newTokenServer(t, jsonToken)
	r, _ := newTestRuntime(t, testEnv{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": testBearer}, WithStdout(failWriter{}))
	token, err := r.IDToken(t.Context(), "sigstore")
	if token != "" || !errors.Is(err, errWrite) {
		t.Errorf("IDToken = %q, %v; want no token and the write error", token, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
