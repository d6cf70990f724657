package ghaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNoIDTokenPermission is returned (wrapped) by IDToken when the runner
// did not provide the OIDC token request variables.
var ErrNoIDTokenPermission = errors.New("no GitHub OIDC token available: the job needs `permissions: id-token: write` " +
	"(workflows triggered by pull_request from a fork never get a token)")

// errMalformedToken is a 200 answer that is not the token endpoint's JSON:
// the service's fault.
var errMalformedToken = errors.New(`response is not the expected JSON {"value": "<token>"}`)

// maxTokenBody is the most of a token response body that is read.
const maxTokenBody = 64 << 10

// maxSnippet is the most of an error response body quoted in an error.
const maxSnippet = 256

// TokenResponseError is returned by IDToken when the token endpoint answers
// with a status other than 200 OK.
type TokenResponseError struct {
	// StatusCode is the HTTP status code of the response.
	StatusCode int
	// Snippet is the start of the response body, at most 256 bytes, with
	// the request token replaced by "***".
	Snippet string
}

var _ error = (*TokenResponseError)(nil)

// Error returns a message with the status and the quoted snippet.
func (e *TokenResponseError) Error() string {
	msg := fmt.Sprintf("requesting GitHub OIDC token: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Snippet != "" {
		msg += fmt.Sprintf(": %q", e.Snippet)
	}
	return msg
}

// temporary reports whether the request may succeed if retried.
func (e *TokenResponseError) temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// IDTokenAvailable returns ErrNoIDTokenPermission (wrapped, naming the
// variable) unless the runner set both variables IDToken needs: a step
// can tell, before it contacts anything, that no token will come.
func (r *Runtime) IDTokenAvailable() error {
	for _, v := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		if r.getenv(v) == "" {
			return fmt.Errorf("%w (%s is not set)", ErrNoIDTokenPermission, v)
		}
	}
	return nil
}

// IDToken requests a GitHub OIDC token for audience (e.g. "sigstore") from
// the runner: a GET of ACTIONS_ID_TOKEN_REQUEST_URL with "audience"
// appended to its query (left out when audience is ""), authorised by
// "Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN". The token is masked (AddMask)
// before it is returned; if masking fails, no token is returned.
//
// Each attempt may take the token timeout (WithTokenTimeout); network
// errors and 5xx or 429 responses are retried (WithTokenRetries), waiting
// WithBackoff in between, unless ctx ends. At most 64 KiB of a response is
// read.
//
// Errors: ErrNoIDTokenPermission (wrapped) when either variable is unset;
// *TokenResponseError for a status other than 200; an error for a body that
// is too large, not JSON or has an empty "value". No error ever contains a
// token or the request token.
func (r *Runtime) IDToken(ctx context.Context, audience string) (string, error) {
	if err := r.IDTokenAvailable(); err != nil {
		return "", err
	}
	rawURL := r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL")
	bearer := r.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("requesting GitHub OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL is not an absolute URL")
	}
	if audience != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += "audience=" + url.QueryEscape(audience)
	}

	var token string
	for attempt := 0; ; attempt++ {
		token, err = r.requestToken(ctx, u.String(), bearer)
		if err == nil || attempt >= r.tokenRetries || !retryable(ctx, err) {
			break
		}
		t := time.NewTimer(r.backoff(attempt + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("requesting GitHub OIDC token: %w (after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
	if err != nil {
		if retryable(ctx, err) || errors.Is(err, errMalformedToken) {
			return "", fmt.Errorf("%w (the runner's token service failed, not the job: re-run it; if it persists, see https://www.githubstatus.com)", err)
		}
		return "", err
	}
	if err := r.AddMask(token); err != nil {
		return "", fmt.Errorf("masking GitHub OIDC token: %w", err)
	}
	return token, nil
}

// retryable reports whether err, from requestToken, may pass on retry.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var re *TokenResponseError
	if errors.As(err, &re) {
		return re.temporary()
	}
	var ne *networkError
	return errors.As(err, &ne)
}

// networkError marks a failure to get a response at all.
type networkError struct{ err error }

func (e *networkError) Error() string { return e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// requestToken makes one attempt at the token request.
func (r *Runtime) requestToken(parent context.Context, tokenURL, bearer string) (string, error) {
	ctx, cancel := context.WithTimeout(parent, r.tokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tokenURL, nil)
	if err != nil {
		return "", fmt.Errorf("requesting GitHub OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded && parent.Err() == nil {
			return "", &networkError{fmt.Errorf("requesting GitHub OIDC token: no answer within %v", r.tokenTimeout)}
		}
		// *url.Error names the URL, which carries no secret: the request
		// token travels in the header.
		return "", &networkError{fmt.Errorf("requesting GitHub OIDC token: %w", err)}
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody+1))
	if err != nil {
		return "", &networkError{fmt.Errorf("requesting GitHub OIDC token: reading response: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		snippet := body[:min(len(body), maxSnippet)]
		return "", &TokenResponseError{
			StatusCode: resp.StatusCode,
			Snippet:    strings.ReplaceAll(string(snippet), bearer, "***"),
		}
	}
	// From here on the body may hold a token: errors quote none of it.
	if len(body) > maxTokenBody {
		return "", fmt.Errorf("requesting GitHub OIDC token: response larger than %d KiB", maxTokenBody>>10)
	}
	var parsed struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &parsed); err != nil {
		return "", fmt.Errorf("requesting GitHub OIDC token: %w: %s", errMalformedToken, jsonErrorKind(err))
	}
	if parsed.Value == "" {
		return "", errors.New(`requesting GitHub OIDC token: response has no token (empty or missing "value")`)
	}
	return parsed.Value, nil
}

// jsonErrorKind describes err from json.Unmarshal without quoting the data.
func jsonErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s where a %s was expected", typ.Value, typ.Type)
	default:
		return "invalid JSON"
	}
}
