package httpretry

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Service is the transport of one named service — Fulcio, a Rekor log, a
// timestamp authority, a registry — over Base (sigil's retrying
// Transport). What the retries could not mend comes back as a
// *ServiceError naming the service, the fault and the remedy:
//
//   - no answer (an *Error from the retries, or any transport error);
//   - a server error (5xx) or 429 still there after the retries, and
//     GitHub's 403 "secondary rate limit" (a refusal for the rate of
//     requests, not of the credentials);
//   - a success whose body is an HTML page: what a maintenance page, a
//     captive portal or a misrouted proxy sends, and what no Sigstore or
//     registry API answers with.
//
// The client libraries above would report these as their own puzzles —
// go-openapi's "(*models.Error) is not supported by the TextConsumer",
// an ASN.1 structure error, sigstore-go's TSA client reading a body it has
// closed after a 5xx — none naming the service or saying that re-running
// is the fix. Other answers (4xx, well-formed successes) pass through for
// the client to interpret.
type Service struct {
	// Name is the service as the user knows it: "Fulcio", "Rekor v1",
	// "timestamp authority", "registry".
	Name string
	// Base does the requests.
	Base http.RoundTripper
	// Accept, when set, are the media types of the service's successful
	// answers (a timestamp authority's is application/timestamp-reply, RFC
	// 3161 §3.4): a success of another type is a fault too.
	Accept []string
}

// maxQuote is the most of an answer's body a ServiceError quotes.
const maxQuote = 200

// RoundTrip implements http.RoundTripper.
func (s Service) RoundTrip(req *http.Request) (*http.Response, error) {
	base := s.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	at := req.URL.Scheme + "://" + req.URL.Host
	if err != nil {
		var rh tls.RecordHeaderError
		if req.Context().Err() != nil || errors.As(err, &rh) {
			// The caller gave up, or an https request met a plain-HTTP
			// server (go-containerregistry tries https first on a
			// loopback registry): neither is the service's fault.
			return nil, err
		}
		return nil, &ServiceError{Service: s.Name, At: at, Err: err}
	}
	fault := ""
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		fault = "answered " + resp.Status
	case resp.StatusCode == http.StatusForbidden && isSecondaryLimit(peek(resp)):
		fault = "answered " + resp.Status + " for its secondary rate limit"
	case resp.StatusCode < 300 && isHTML(resp.Header.Get("Content-Type")):
		fault = "answered " + resp.Status + " with a web page, not an answer of its API"
	case resp.StatusCode < 300 && len(s.Accept) > 0 && !accepts(s.Accept, resp.Header.Get("Content-Type")):
		fault = fmt.Sprintf("answered %s with %q, not %s", resp.Status, resp.Header.Get("Content-Type"), strings.Join(s.Accept, " or "))
	}
	if fault == "" {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if q := quote(body); q != "" {
		fault += ": " + q
	}
	return nil, &ServiceError{Service: s.Name, At: at, Err: errors.New(fault)}
}

func accepts(types []string, contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	for _, t := range types {
		if err == nil && mt == t {
			return true
		}
	}
	return false
}

func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// quote is the start of a body, on one line, for a message.
func quote(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > maxQuote {
		s = s[:maxQuote] + "…"
	}
	return s
}

// Remedy is what a ServiceError tells the user to do.
const Remedy = "the service failed, not the job: re-run it later; if it persists, check the service's status page"

// ServiceError is a service that failed a request in a way re-trying did not
// mend: it names the service and where it was reached, the fault, and that
// re-running the job later is the remedy (nothing in the run's inputs is
// wrong).
type ServiceError struct {
	// Service is the service's name, At its scheme and host.
	Service, At string
	// Err is the fault: an *Error for no answer, else the answer's status.
	Err error
}

var _ error = (*ServiceError)(nil)

func (e *ServiceError) Error() string {
	return fmt.Sprintf("%s at %s: %v (%s)", e.Service, e.At, e.Err, Remedy)
}

// Unwrap returns the fault.
func (e *ServiceError) Unwrap() error { return e.Err }

// Cause is the *ServiceError in err's chain — which tells the whole story,
// without the request that net/http's *url.Error repeats around it — or err
// when there is none.
func Cause(err error) error {
	var se *ServiceError
	if errors.As(err, &se) {
		return se
	}
	return err
}
