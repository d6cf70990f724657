// Package httpretry is the HTTP transport every sigil client shares: each
// request gets a timeout, and transient failures (429 with Retry-After, 5xx,
// connection resets, timeouts) are retried with capped exponential backoff.
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
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
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
		wait, retry := classify(resp, err, req.Context())
		if !retry || try >= attempts {
			if err != nil {
				cancel()
				return nil, err
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
		if wait <= 0 {
			wait = backoff << (try - 1)
			wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		}
		if wait > maxBackoff {
			wait = maxBackoff
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// classify says whether a result is transient, and how long the server asked
// to wait (0: not said).
func classify(resp *http.Response, err error, parent context.Context) (time.Duration, bool) {
	if err != nil {
		if parent.Err() != nil {
			return 0, false // the caller gave up, not the network
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return 0, true
		}
		return 0, errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isReset(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return retryAfter(resp.Header.Get("Retry-After")), true
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return 0, true
	}
	return 0, false
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
