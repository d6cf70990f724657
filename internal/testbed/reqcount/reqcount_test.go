package reqcount

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCounter(t *testing.T) {
	t.Parallel()
	c, h := Wrap(http.NotFoundHandler(), func(path string) string {
		if strings.HasPrefix(path, "/v2/org/") {
			return "repo"
		}
		return path
	})
	do := func(method, path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
	}
	do("GET", "/v2/")
	do("HEAD", "/v2/org/a")
	do("HEAD", "/v2/org/b")
	if got, want := c.Counts(), map[string]int{"GET /v2/": 1, "HEAD repo": 2}; !maps.Equal(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
	c.Reset()
	do("PUT", "/v2/org/a")
	if got, want := c.Counts(), map[string]int{"PUT repo": 1}; !maps.Equal(got, want) {
		t.Errorf("after Reset: Counts = %v, want %v", got, want)
	}
}

func TestRegistryKind(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/v2/":                                  "/v2/",
		"/token":                                "/token",
		"/v2/org/app/blobs/uploads/":            "uploads",
		"/v2/org/app/blobs/uploads/abc":         "uploads",
		"/v2/org/app/blobs/sha256:0123":         "blob",
		"/v2/org/app/manifests/sha256-0123.sig": ".sig",
		"/v2/org/app/manifests/v1":              "manifest",
		"/v2/org/app/manifests/sha256:0123":     "manifest",
		"/v2/org/app/referrers/sha256:0123":     "referrers",
	} {
		if got := RegistryKind(path); got != want {
			t.Errorf("RegistryKind(%q) = %q, want %q", path, got, want)
		}
	}
}
