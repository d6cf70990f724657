package tbenv

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
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

// TUFEnv returns the environment that makes a Sigstore client run in
// ToolEnv take its trust from the bed's TUF repository at mirror (TUFURL,
// or TUFExpiredURL and TUFBadSigURL for negative tests) and from nowhere
// else: TUF_MIRROR and TUF_ROOT_JSON, which cosign v3 and other clients of
// sigstore-go's TUF client read, and the TUF_ROOT cache of toolEnv primed
// with `tbctl tufcache` for the clients of sigstore's older TUF
// client, such as Kyverno's CLI (its SigstoreBundle attestor reads the
// trusted root only from there). Priming fails t unless the mirror
// verifies; the broken mirrors need no priming (pass a nil toolEnv).
func (e *Env) TUFEnv(t testing.TB, toolEnv []string, mirror string) []string {
	t.Helper()
	env := []string{"TUF_MIRROR=" + mirror, "TUF_ROOT_JSON=" + e.TUFRoot}
	for _, kv := range toolEnv {
		cache, ok := strings.CutPrefix(kv, "TUF_ROOT=")
		if !ok {
			continue
		}
		cmd := exec.CommandContext(t.Context(), filepath.Join(e.Dir, "bin", "tbctl"), "tufcache",
			"--cache", cache, "--mirror", mirror, "--root", e.TUFRoot)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tbenv: priming the TUF cache %s from %s: %v\n%s", cache, mirror, err, out)
		}
	}
	return env
}
