package ghaction

import (
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Runtime is the GitHub Actions runtime of one action run: it reads inputs
// and the GitHub context, writes workflow commands, outputs and the step
// summary, and requests the OIDC token. Build one with [New]; the zero
// value is not usable. A Runtime is safe for concurrent use: each command,
// output and summary is written whole.
type Runtime struct {
	getenv       func(string) string
	stdout       io.Writer
	client       *http.Client
	random       io.Reader
	tokenTimeout time.Duration
	tokenRetries int
	backoff      func(retry int) time.Duration

	// mu serialises writes to stdout, to the output and summary files and
	// reads from random, so concurrent callers never interleave.
	mu sync.Mutex
}

// options is what the Option functions set; New turns it into a Runtime.
type options struct {
	getenv       func(string) string
	stdout       io.Writer
	transport    http.RoundTripper
	random       io.Reader
	tokenTimeout time.Duration
	tokenRetries int
	backoff      func(retry int) time.Duration
}

// Option configures a Runtime built by New.
type Option func(*options) error

// Defaults of the options, in one place.
const (
	// DefaultTokenTimeout is the time one OIDC token request may take.
	DefaultTokenTimeout = 10 * time.Second
	// DefaultTokenRetries is how many times a failed token request is retried.
	DefaultTokenRetries = 2
)

func defaultOptions() options {
	return options{
		getenv:       os.Getenv,
		stdout:       os.Stdout,
		transport:    http.DefaultTransport,
		random:       rand.Reader,
		tokenTimeout: DefaultTokenTimeout,
		tokenRetries: DefaultTokenRetries,
		backoff:      DefaultBackoff,
	}
}

// DefaultBackoff is the wait before retry number retry (1, 2, ...) of the
// token request: 1s, 2s, 4s, ... capped at 30s.
func DefaultBackoff(retry int) time.Duration {
	if retry < 1 {
		retry = 1
	}
	if retry > 5 {
		return 30 * time.Second
	}
	return time.Second << (retry - 1)
}

// New returns a Runtime configured by opts. It returns an error if an option
// is given an invalid value (nil functions, writers or readers, negative
// durations or counts).
func New(opts ...Option) (*Runtime, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Runtime{
		getenv:       o.getenv,
		stdout:       o.stdout,
		client:       &http.Client{Transport: o.transport},
		random:       o.random,
		tokenTimeout: o.tokenTimeout,
		tokenRetries: o.tokenRetries,
		backoff:      o.backoff,
	}, nil
}

// WithGetenv sets the function that reads environment variables: inputs,
// the GitHub context, the paths of GITHUB_OUTPUT and GITHUB_STEP_SUMMARY and
// the token request variables. The default is os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("ghaction.WithGetenv: nil function")
		}
		o.getenv = getenv
		return nil
	}
}

// WithStdout sets where workflow commands (masks, groups, annotations, debug
// messages, logs) are written. The default is os.Stdout, which is where the
// runner reads them.
func WithStdout(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("ghaction.WithStdout: nil writer")
		}
		o.stdout = w
		return nil
	}
}

// WithTransport sets the HTTP transport of the OIDC token request. The
// default is http.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("ghaction.WithTransport: nil transport")
		}
		o.transport = rt
		return nil
	}
}

// WithRandom sets the source of randomness for heredoc delimiters and
// stop-commands tokens. The default is crypto/rand.Reader; tests pass a fixed
// reader to get the same bytes every run.
func WithRandom(r io.Reader) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("ghaction.WithRandom: nil reader")
		}
		o.random = r
		return nil
	}
}

// WithTokenTimeout sets how long one attempt of the OIDC token request may
// take. The default is DefaultTokenTimeout (10s).
func WithTokenTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("ghaction.WithTokenTimeout: timeout must be positive")
		}
		o.tokenTimeout = d
		return nil
	}
}

// WithTokenRetries sets how many times the OIDC token request is retried
// after a network error or a 5xx or 429 response; 0 disables retries. The
// default is DefaultTokenRetries (2), so three attempts in all.
func WithTokenRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("ghaction.WithTokenRetries: retries must not be negative")
		}
		o.tokenRetries = n
		return nil
	}
}

// WithBackoff sets the wait before each retry of the OIDC token request;
// backoff is called with the retry number, from 1. The default is
// DefaultBackoff (1s, 2s, 4s, ...). Tests pass a function returning 0.
func WithBackoff(backoff func(retry int) time.Duration) Option {
	return func(o *options) error {
		if backoff == nil {
			return errors.New("ghaction.WithBackoff: nil function")
		}
		o.backoff = backoff
		return nil
	}
}
