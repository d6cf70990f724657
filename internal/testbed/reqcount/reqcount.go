// Package reqcount counts the requests a test's HTTP handler serves, by
// method and by a kind of path the test names ("POST uploads"), for tests
// that pin how many requests an operation makes.
package reqcount

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Counter counts requests; Wrap makes one.
type Counter struct {
	kind func(path string) string
	mu   sync.Mutex
	n    map[string]int
}

// Wrap returns h, counting each request under its method and kind(path)
// ("GET /v2/" when kind returns the path as it is).
func Wrap(h http.Handler, kind func(path string) string) (*Counter, http.Handler) {
	c := &Counter{kind: kind, n: map[string]int{}}
	return c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.Method+" "+c.kind(r.URL.Path)]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Counts returns the counts since the start or the last Reset.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.n)
}

// RegistryKind names an OCI registry path by what it addresses: "uploads"
// (blob uploads), "blob", ".sig" (a manifest under a sha256-<hex> tag:
// cosign's signature and attestation tags, the referrers fallback),
// "manifest", "referrers" (the referrers API); any other path as it is
// ("/v2/", "/token").
func RegistryKind(path string) string {
	switch {
	case strings.Contains(path, "/blobs/uploads/"):
		return "uploads"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	case strings.Contains(path, "/manifests/sha256-"):
		return ".sig"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	}
	return path
}
