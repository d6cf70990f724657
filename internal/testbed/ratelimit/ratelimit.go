package ratelimit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
)

// Decision is what a Limiter does with one request.
type Decision struct {
	// Refuse, when set, answers the request in place of the registry.
	Refuse http.Handler
	// Header is added to the registry's answer.
	Header http.Header
	// Done, when set, is called with the status of the registry's answer.
	Done func(status int)
}

// Limiter admits or refuses requests to a registry.
type Limiter interface {
	Admit(r *http.Request) Decision
}

// Wrap puts l in front of h.
func Wrap(l Limiter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := l.Admit(r)
		if d.Refuse != nil {
			d.Refuse.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, d: d, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		sw.done()
	})
}

type statusWriter struct {
	http.ResponseWriter
	d     Decision
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.wrote, s.code = true, code
		for k, vs := range s.d.Header {
			s.Header()[k] = vs
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) done() {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	if s.d.Done != nil {
		s.d.Done(s.code)
	}
}

// Plan is the latency proxy's plan for a request l decides: a refusal as
// the proxy's fault, or the registry's answer with l's headers.
func Plan(l Limiter, r *http.Request) latency.Plan {
	d := l.Admit(r)
	if d.Refuse != nil {
		return latency.Plan{Fault: d.Refuse}
	}
	if d.Header == nil && d.Done == nil {
		return latency.Plan{}
	}
	return latency.Plan{Response: func(resp *http.Response) {
		for k, vs := range d.Header {
			resp.Header[k] = vs
		}
		if d.Done != nil {
			d.Done(resp.StatusCode)
		}
	}}
}

// Credential is whom a registry keeps a limit for: "user:NAME" for a
// bearer token issued to NAME or basic credentials of NAME, else
// "address:IP" (an anonymous token, or none). The token's signature is not
// checked here: the registry's guard does that.
func Credential(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return "user:" + user
	}
	if sub, _ := bearerClaims(r); sub != "" {
		return "user:" + sub
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "address:" + host
}

// bearerClaims are the "sub" and "jti" claims of r's bearer token,
// unverified ("" when it has none).
func bearerClaims(r *http.Request) (sub, jti string) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if !strings.EqualFold(scheme, "bearer") || len(parts) != 3 {
		return "", ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", ""
	}
	var c struct {
		Sub string `json:"sub"`
		ID  string `json:"jti"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", ""
	}
	return c.Sub, c.ID
}

// GHCR is GHCR's request rate limit (see the package documentation): at
// most PerMinute requests a minute per credential, Burst of them at once;
// a request over it gets 429 with GHCR's body, which names the wait until
// a request conforms again and the rate.
type GHCR struct {
	// PerMinute is the rate; GHCR states 2000.
	PerMinute int
	// Burst is how many requests may arrive at once; at least 1.
	Burst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	tat     map[string]time.Time // theoretical arrival time per credential
	refused atomic.Int64
}

// Admit implements Limiter.
func (g *GHCR) Admit(r *http.Request) Decision {
	wait, ok := g.take(Credential(r))
	if ok {
		return Decision{}
	}
	g.refused.Add(1)
	return Decision{Refuse: g.refusal(wait)}
}

// take admits a request of key now, or says how long until one conforms
// (the generic cell rate algorithm: each request moves the key's
// theoretical arrival time on by one interval; a request may arrive up to
// Burst-1 intervals ahead of it).
func (g *GHCR) take(key string) (time.Duration, bool) {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	interval := time.Minute / time.Duration(g.PerMinute)
	tolerance := time.Duration(max(g.Burst, 1)-1) * interval
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tat == nil {
		g.tat = map[string]time.Time{}
	}
	tat := g.tat[key]
	if tat.Before(now) {
		tat = now
	}
	if allowAt := tat.Add(-tolerance); allowAt.After(now) {
		return allowAt.Sub(now), false
	}
	g.tat[key] = tat.Add(interval)
	return 0, true
}

// refusal is GHCR's 429: the wait and the rate in the error's message, and
// no Retry-After header.
func (g *GHCR) refusal(wait time.Duration) http.Handler {
	body := fmt.Sprintf(`{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: %v, allowed: %d/minute"}]}`, wait, g.PerMinute)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(body))
	})
}

// Refused is how many requests g has refused.
func (g *GHCR) Refused() int64 { return g.refused.Load() }

// Window is Docker Hub's pull limit window: 6 hours ("w=21600").
const Window = 6 * time.Hour

// DockerHub is Docker Hub's pull limit (see the package documentation):
// a manifest GET the registry answers 200 is a pull (one it answers 404 is
// not: Docker Hub does not say); an account may make
// Pulls of them in Window, an anonymous caller AnonymousPulls per address.
// Every manifest answer carries the limit headers; a manifest GET past
// the limit gets 429 with Docker Hub's body.
type DockerHub struct {
	// Pulls is an account's limit; Docker Hub gives a Personal account
	// 200.
	Pulls int
	// AnonymousPulls is the limit per address without an account; Docker
	// Hub's is 100.
	AnonymousPulls int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	pulls   map[string][]time.Time // the pulls in the window, per credential
	total   map[string]int         // every pull, by repository path
	refused atomic.Int64
	missed  atomic.Int64
}

// Admit implements Limiter.
func (d *DockerHub) Admit(r *http.Request) Decision {
	if !isManifest(r.URL.Path) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return Decision{}
	}
	key := Credential(r)
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	limit := d.AnonymousPulls
	if strings.HasPrefix(key, "user:") {
		limit = d.Pulls
	}
	if d.pulls == nil {
		d.pulls, d.total = map[string][]time.Time{}, map[string]int{}
	}
	recent := d.pulls[key][:0]
	for _, at := range d.pulls[key] {
		if now.Sub(at) < Window {
			recent = append(recent, at)
		}
	}
	d.pulls[key] = recent
	remaining := limit - len(recent)
	header := func(remaining int) http.Header {
		return http.Header{
			"Ratelimit-Limit":         {fmt.Sprintf("%d;w=%d", limit, int(Window/time.Second))},
			"Ratelimit-Remaining":     {fmt.Sprintf("%d;w=%d", max(remaining, 0), int(Window/time.Second))},
			"Docker-Ratelimit-Source": {source(key)},
		}
	}
	if r.Method == http.MethodHead {
		return Decision{Header: header(remaining)}
	}
	if remaining <= 0 {
		d.refused.Add(1)
		return Decision{Refuse: refusal(header(0), key, r)}
	}
	// Count the pull now, so that requests at once cannot pass the limit
	// together; a GET the registry does not answer 200 is given back.
	at := now
	d.pulls[key] = append(d.pulls[key], at)
	repo := r.URL.Path
	return Decision{Header: header(remaining - 1), Done: func(status int) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if status == http.StatusOK {
			d.total[repo]++
			return
		}
		d.missed.Add(1)
		ps := d.pulls[key]
		for i := range ps {
			if ps[i].Equal(at) {
				d.pulls[key] = append(ps[:i:i], ps[i+1:]...)
				break
			}
		}
	}}
}

func (d *DockerHub) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// PullsByPath returns every pull counted, by manifest path
// (/v2/<name>/manifests/<reference>).
func (d *DockerHub) PullsByPath() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.total))
	for k, v := range d.total {
		out[k] = v
	}
	return out
}

// SetPulls changes an account's limit (Pulls) between requests.
func (d *DockerHub) SetPulls(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Pulls = n
}

// NotPulls is how many manifest GETs the registry answered other than
// 200 (a tag not there yet): not counted as pulls, as Docker Hub does not
// say it counts them.
func (d *DockerHub) NotPulls() int64 { return d.missed.Load() }

// Refused is how many pulls d has refused.
func (d *DockerHub) Refused() int64 { return d.refused.Load() }

// isManifest reports whether path is /v2/<name>/manifests/<reference>.
func isManifest(path string) bool {
	i := strings.LastIndex(path, "/manifests/")
	return strings.HasPrefix(path, "/v2/") && i > len("/v2") && !strings.Contains(path[i+len("/manifests/"):], "/")
}

// source is what docker-ratelimit-source names: the address, or the
// account (Docker's documentation shows only an address).
func source(key string) string {
	_, v, _ := strings.Cut(key, ":")
	return v
}

// refusal is Docker Hub's 429 past the pull limit.
func refusal(h http.Header, key string, r *http.Request) http.Handler {
	msg := "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
	if user, ok := strings.CutPrefix(key, "user:"); ok {
		_, jti := bearerClaims(r)
		msg = fmt.Sprintf("You have reached your pull rate limit as '%s': dckr_jti_%s. You may increase the limit by upgrading. https://www.docker.com/increase-rate-limit", user, jti)
	}
	body, _ := json.Marshal(map[string][]map[string]string{"errors": {{"code": "TOOMANYREQUESTS", "message": msg}}})
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, vs := range h {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(body)
	})
}
