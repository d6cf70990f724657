// Package httpretry is the HTTP transport every sigil client shares: each
// request gets a timeout, and transient failures (429 with Retry-After, 5xx,
// connection resets, timeouts) are retried with capped exponential backoff.
// A 429's wait is read from its Retry-After header or, where a registry puts
// it in the error body as GHCR does, from the body; GitHub's 403 "secondary
// rate limit" is retried after a minute. With a Pacer, a host that refuses
// one request for its rate holds back every request to it, and hosts with a
// budget are paced below their limit (see Pacer).
//
// go-containerregistry retries too, but does not honour Retry-After and
// gives no per-request deadline; sigstore-go's clients retry only 5xx. This
// transport sits under every client sigil makes — the registries, Fulcio,
// both Rekor APIs and the timestamp authorities (sign builds those clients
// on it and turns their own retries off) — so that a slow or rate-limiting
// service behaves the same everywhere. The GitHub token request has its
// own retries (package ghaction), as it runs before any of these.
package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Transport retries transient failures of an underlying RoundTripper.
type Transport struct {
	// Base does the requests. The default is http.DefaultTransport.
	Base http.RoundTripper
	// Attempts is the number of tries per request. The default is 4.
	Attempts int
	// Timeout bounds each attempt, headers and body. The default is 2 minutes.
	Timeout time.Duration
	// Backoff is the wait before the first retry; it doubles after each,
	// with jitter, up to MaxBackoff. The default is 250ms.
	Backoff time.Duration
	// MaxBackoff caps a wait, including one a Retry-After header asks for.
	// The default is 30s.
	MaxBackoff time.Duration
	// Sleep waits; tests replace it. The default honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Pacer, when set, paces requests host by host across every goroutine
	// using the transport (see Pacer). The default is none: each request
	// waits on its own.
	Pacer *Pacer
}

// New returns a Transport over base with the defaults.
func New(base http.RoundTripper) *Transport { return &Transport{Base: base} }

func (t *Transport) defaults() (http.RoundTripper, int, time.Duration, time.Duration, time.Duration) {
	base, attempts, timeout, backoff, maxBackoff := t.Base, t.Attempts, t.Timeout, t.Backoff, t.MaxBackoff
	if base == nil {
		base = http.DefaultTransport
	}
	if attempts <= 0 {
		attempts = 4
	}
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	if backoff <= 0 {
		backoff = 250 * time.Millisecond
	}
	if maxBackoff <= 0 {
		maxBackoff = 30 * time.Second
	}
	return base, attempts, timeout, backoff, maxBackoff
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base, attempts, timeout, backoff, maxBackoff := t.defaults()
	sleep := t.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	// A body that cannot be replayed gets exactly one try.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		attempts = 1
	}
	for try := 1; ; try++ {
		if t.Pacer != nil {
			if err := t.Pacer.wait(req.Context(), req.URL.Host, sleep); err != nil {
				return nil, err
			}
		}
		r := req
		if try > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		ctx, cancel := context.WithTimeout(req.Context(), timeout)
		resp, err := base.RoundTrip(r.WithContext(ctx))
		v := classify(resp, err, req.Context())
		wait := v.wait
		if wait <= 0 {
			wait = backoff << (try - 1)
			wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		}
		if wait > maxBackoff {
			wait = maxBackoff
		}
		if wait < v.minWait {
			wait = v.minWait
		}
		if v.limited && t.Pacer != nil {
			// Every request to the host waits, this one's retry included.
			t.Pacer.hold(req.URL.Host, wait, v.allowed)
		}
		if !v.retry || try >= attempts {
			if err != nil {
				cancel()
				if req.Context().Err() != nil {
					return nil, err
				}
				return nil, &Error{Method: req.Method, URL: redact(req.URL), Attempts: try, Timeout: timeoutOf(err, timeout), Err: err}
			}
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, 4096)
			resp.Body.Close()
		}
		cancel()
		if v.limited && t.Pacer != nil {
			continue // the pacer waits
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// Error is a request that got no answer in any attempt: each timed out, or
// the connection failed. (A service that answers, even with an error
// status, is given back as its response.)
type Error struct {
	// Method and URL are the request's; the URL has no credentials.
	Method, URL string
	// Attempts is how many tries were made.
	Attempts int
	// Timeout, when set, is the per-attempt limit the last attempt hit.
	Timeout time.Duration
	// Err is the last attempt's error.
	Err error
}

var _ error = (*Error)(nil)

// Error describes the fault: no answer within the time limit, or the
// connection failing, and how many attempts were made.
func (e *Error) Error() string {
	what := "the connection failed (" + e.Err.Error() + ")"
	switch {
	case e.Timeout > 0:
		what = fmt.Sprintf("no answer within %v", e.Timeout)
	case isReset(e.Err) && strings.Contains(e.Err.Error(), "reset"):
		what = "the connection was reset"
	case strings.Contains(e.Err.Error(), "connection refused"):
		what = "the connection was refused (nothing listens there)"
	case errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF):
		what = "the connection closed before an answer"
	}
	return fmt.Sprintf("%s %s: %s, %d attempt(s)", e.Method, e.URL, what, e.Attempts)
}

// Unwrap returns the last attempt's error.
func (e *Error) Unwrap() error { return e.Err }

// timeoutOf is limit when err is a timeout, else 0.
func timeoutOf(err error, limit time.Duration) time.Duration {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return limit
	}
	return 0
}

// redact drops credentials and the query from a URL for messages.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

// verdict is what an attempt's result says about trying again.
type verdict struct {
	// retry is whether the failure is transient.
	retry bool
	// wait is how long the service asked to wait (0: not said).
	wait time.Duration
	// minWait is the least wait, whatever the backoff (a secondary rate
	// limit's minute).
	minWait time.Duration
	// limited is a refusal for the client's rate: every request to the
	// host should wait, not only this one.
	limited bool
	// allowed is the rate the host stated in its refusal, if any.
	allowed Budget
}

// classify says whether a result is transient, how long the server asked
// to wait, and whether it refused for the rate of requests.
func classify(resp *http.Response, err error, parent context.Context) verdict {
	if err != nil {
		if parent.Err() != nil {
			return verdict{} // the caller gave up, not the network
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return verdict{retry: true}
		}
		return verdict{retry: errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isReset(err)}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		v := verdict{retry: true, limited: true, wait: retryAfter(resp.Header.Get("Retry-After"))}
		if v.wait == 0 {
			v.wait, v.allowed = statedLimit(peek(resp))
		}
		return v
	case http.StatusForbidden:
		if isSecondaryLimit(peek(resp)) {
			return verdict{retry: true, limited: true, wait: retryAfter(resp.Header.Get("Retry-After")), minWait: SecondaryWait}
		}
	case http.StatusServiceUnavailable:
		return verdict{retry: true, wait: retryAfter(resp.Header.Get("Retry-After"))}
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return verdict{retry: true}
	}
	return verdict{}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// cancelBody releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
