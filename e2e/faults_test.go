package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
)

// TestSignRidesOutTransientFaults puts the bed's registries behind the
// fault-injecting proxy: the first manifest uploads get 429 with
// Retry-After, reads get 503, and one connection is reset. The step must
// retry its way through and read every signature back.
func TestSignRidesOutTransientFaults(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	repo := tbenv.UniqueRepo(t)
	img := tbenv.RandomImage(t)
	for _, r := range e.Registries() {
		r.PushImage(t, repo, "v1", img)
	}
	var puts, gets, resets atomic.Int32
	policy := latency.PolicyFunc(func(upstream string, r *http.Request) latency.Plan {
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && puts.Add(1) <= 2:
			return latency.Plan{Fault: latency.Status(http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}})}
		case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") && gets.Add(1) <= 2:
			return latency.Plan{Fault: latency.Status(http.StatusServiceUnavailable, nil)}
		case (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") && resets.Add(1) == 1:
			return latency.Plan{Fault: latency.Abort}
		}
		return latency.Plan{}
	})
	g, err := latency.Start([]latency.Upstream{
		{Name: "ghcr", URL: "http://" + e.GHCR.Host},
		{Name: "dockerhub", URL: "http://" + e.DockerHub.Host},
	}, latency.WithPolicy(policy))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	var refs, creds []string
	for _, r := range e.Registries() {
		host := g.Host(r.Name)
		refs = append(refs, host+"/"+repo+":v1")
		creds = append(creds, host+"="+r.User+":"+r.Password)
	}
	s := &step{
		inputs: map[string]string{
			"images":               strings.Join(refs, "\n"),
			"signing-config":       e.SigningConfig,
			"trusted-root":         e.TrustedRoot,
			"registry-credentials": strings.Join(creds, "\n"),
		},
		env: append(e.ToolEnv(t), e.ActionsEnv(nil)...),
	}
	runAction(t, s)
	if s.code != 0 {
		t.Fatalf("sigil gave up on transient faults (exit %d):\n%s", s.code, s.stdout)
	}
	var faults int64
	for _, st := range g.Stats() {
		faults += st.Faults
	}
	if faults < 5 {
		t.Errorf("only %d faults were injected; the test proves nothing", faults)
	}
	var res sign.Result
	if err := json.Unmarshal([]byte(s.outputs["signatures"]), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 {
		t.Fatalf("signed %d images, want 2", len(res.Images))
	}
	for _, img := range res.Images {
		if len(img.Signatures) != 2 || img.Signatures[0].ReadBack == "" || img.Signatures[1].ReadBack == "" {
			t.Errorf("%s: signatures not all written and read back: %+v", img.Repository, img.Signatures)
		}
	}
}
