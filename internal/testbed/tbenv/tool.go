package tbenv

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
)

// ToolEnv returns a clean environment for running a Sigstore client or
// verifier (cosign, a policy engine, the built sigil binary) against the
// bed: PATH=/usr/bin:/bin, its own HOME and TUF_ROOT in a temporary
// directory, a DOCKER_CONFIG with both registries' credentials, and
// HTTP_PROXY/HTTPS_PROXY pointing at a proxy that refuses every request. Go
// programs never proxy loopback, so only a request that would leave the
// machine (a TUF mirror, the public Rekor) reaches the proxy; t fails at its
// end if any did, naming the hosts.
func (e *Env) ToolEnv(t testing.TB) []string {
	t.Helper()
	var (
		mu     sync.Mutex
		escape []string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		escape = append(escape, r.Host)
		mu.Unlock()
		http.Error(w, "the test bed allows no request outside loopback", http.StatusForbidden)
	}))
	home := t.TempDir()
	t.Cleanup(func() {
		proxy.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(escape) > 0 {
			t.Errorf("tbenv: a tool tried to leave the test bed, to %v", escape)
		}
	})
	return []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + home,
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"DOCKER_CONFIG=" + e.DockerConfig(t),
		"HTTPS_PROXY=" + proxy.URL,
		"HTTP_PROXY=" + proxy.URL,
	}
}
