package e2e

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/fronted"
	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// reliability, when set, is where TestFaultMatrix writes its table of
// outcomes and times (make faults writes RELIABILITY.md).
var reliability = flag.String("reliability", "", "write the fault matrix's outcomes as Markdown into this file")

// requestTimeout is the runs' request-timeout: a stall outlasts it.
const requestTimeout = 2 * time.Second

// A fault is what the proxy does to a service's requests.
type fault struct {
	name string
	// plan is the proxy's plan for the n-th request (from 1).
	plan func(n int64) latency.Plan
	// recovers: the run must succeed; otherwise it must fail, naming the
	// service (want) and the fault.
	recovers bool
	// says is what the error must say of the fault.
	says []string
}

// malformed answers 200 with a web page: what a captive portal or a
// misrouted proxy sends.
var malformed http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Maintenance</body></html>\n"))
})

var faults = []fault{
	{name: "503 burst, then recovery", recovers: true, plan: func(n int64) latency.Plan {
		if n <= 2 {
			return latency.Plan{Fault: latency.Status(http.StatusServiceUnavailable, nil)}
		}
		return latency.Plan{}
	}},
	{name: "429 with Retry-After", recovers: true, plan: func(n int64) latency.Plan {
		if n <= 2 {
			return latency.Plan{Fault: latency.Status(http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}})}
		}
		return latency.Plan{}
	}},
	{name: "connection reset", recovers: true, plan: func(n int64) latency.Plan {
		if n == 1 {
			return latency.Plan{Fault: latency.Abort}
		}
		return latency.Plan{}
	}},
	{name: "stall beyond the request timeout", says: []string{"no answer within"}, plan: func(int64) latency.Plan {
		return latency.Plan{Before: time.Hour}
	}},
	{name: "malformed 200", says: []string{"not"}, plan: func(int64) latency.Plan { return latency.Plan{Fault: malformed} }},
	{name: "persistent 5xx", says: []string{"503"}, plan: func(int64) latency.Plan {
		return latency.Plan{Fault: latency.Status(http.StatusServiceUnavailable, nil)}
	}},
}

// A service is one upstream, what the step's error must call it, and the
// signing config that makes the run use it.
type service struct {
	upstream string
	name     string
	rekorV2  bool
	// writes: the fault meets only writes (the signatures' pushes), not
	// the reads that resolve the tags before anything is signed.
	writes bool
}

// label names the service in the report.
func (s service) label() string {
	if s.writes {
		return s.upstream + " (pushes only)"
	}
	return s.upstream
}

func services(e *tbenv.Env) []service {
	return []service{
		{upstream: fronted.Token, name: "GitHub OIDC token"},
		{upstream: fronted.Fulcio, name: "Fulcio"},
		{upstream: fronted.Rekor, name: "Rekor v1"},
		{upstream: fronted.RekorV2, name: "Rekor v2", rekorV2: true},
		{upstream: fronted.TSA, name: "timestamp authority", rekorV2: true},
		{upstream: fronted.RegistryPrefix + e.GHCR.Name, name: "registry"},
		{upstream: fronted.RegistryPrefix + e.DockerHub.Name, name: "registry", writes: true},
	}
}

// outcome is one cell of the matrix.
type outcome struct {
	svc     service
	fault   fault
	code    int
	elapsed time.Duration
	stdout  string
	faults  int64
	checks  []string // what went wrong, empty when the cell is as expected
}

// TestFaultMatrix runs a release step (an image on both registries and a
// file) once per service and fault, through the bed's fault-injecting
// proxy. A transient fault must be ridden out with every signature in
// place and verifiable; a lasting one must end the step with exit 1 and
// an ::error:: naming the service, the fault and what to do, within a
// bounded time. With -reliability the outcomes are written as Markdown
// (RELIABILITY.md, by make faults).
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	var cells []*outcome
	for _, svc := range services(e) {
		for _, f := range faults {
			cells = append(cells, &outcome{svc: svc, fault: f})
		}
	}
	// The cells mostly wait (stalls, backoff): run them 8 at a time, not
	// go test's -parallel (the number of CPUs).
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, c := range cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			runCell(t, e, c)
		}()
	}
	wg.Wait()
	for _, c := range cells {
		t.Run(c.svc.label()+"/"+c.fault.name, func(t *testing.T) {
			for _, msg := range c.checks {
				t.Error(msg)
			}
			if t.Failed() {
				t.Logf("exit %d after %v, %d faults injected:\n%s", c.code, c.elapsed, c.faults, c.stdout)
			}
		})
	}
	if *reliability != "" {
		if err := os.WriteFile(*reliability, []byte(reliabilityReport(cells)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runCell runs one step under one fault and records what went wrong.
func runCell(t *testing.T, e *tbenv.Env, c *outcome) {
	var n atomic.Int64
	policy := latency.PolicyFunc(func(upstream string, r *http.Request) latency.Plan {
		if upstream != c.svc.upstream || c.svc.writes && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			return latency.Plan{}
		}
		return c.fault.plan(n.Add(1))
	})
	dir := t.TempDir()
	bed, err := fronted.Start(e, dir, e.Registries(), latency.WithPolicy(policy))
	if err != nil {
		c.checks = append(c.checks, err.Error())
		return
	}
	defer bed.Close()
	repo := tbenv.UniqueRepo(t) + "-" + strings.NewReplacer(" ", "-", ",", "", ":", "-").Replace(strings.ToLower(c.svc.upstream+"-"+c.fault.name))
	img := tbenv.RandomImage(t)
	var refs []string
	for _, r := range bed.Registries {
		r.Bed.PushImage(t, repo, "v1", img)
		refs = append(refs, r.Host+"/"+repo+":v1")
	}
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "dist"), 0o755); err != nil {
		c.checks = append(c.checks, err.Error())
		return
	}
	if err := os.WriteFile(filepath.Join(work, "dist", "app.tar.gz"), []byte("release of "+repo), 0o644); err != nil {
		c.checks = append(c.checks, err.Error())
		return
	}
	cfg, format := bed.SigningConfig, "both"
	if c.svc.rekorV2 {
		cfg, format = bed.SigningConfigV2, "bundle"
	}
	s := &step{
		dir: work,
		inputs: map[string]string{
			"images": strings.Join(refs, "\n"), "files": "dist/app.tar.gz", "format": format,
			"signing-config": cfg, "trusted-root": bed.TrustedRoot, "registry-credentials": bed.Credentials(),
			"request-timeout": requestTimeout.String(),
		},
		env: append(e.ToolEnv(t), bed.ActionsEnv(tbenv.Claims{"run_id": {tbenv.UniqueRunID(t)}})...),
	}
	start := time.Now()
	runAction(t, s)
	c.code, c.elapsed, c.stdout = s.code, time.Since(start), s.stdout
	c.faults = bed.Proxy.Stats()[c.svc.upstream].Faults
	if c.faults == 0 && c.fault.plan(1).Before == 0 {
		c.checks = append(c.checks, "no fault was injected: the cell proves nothing")
	}
	if c.fault.recovers {
		if s.code != 0 {
			c.checks = append(c.checks, fmt.Sprintf("the step did not ride out a transient fault (exit %d)", s.code))
			return
		}
		// Every signature is where a verifier looks, on the bed itself.
		var direct []string
		for _, r := range e.Registries() {
			direct = append(direct, r.Host+"/"+repo+":v1")
		}
		v := &step{dir: work, inputs: map[string]string{
			"mode": "verify", "images": strings.Join(direct, "\n"), "files": "dist/app.tar.gz", "format": map[string]string{"both": "any", "bundle": "bundle"}[format],
			"repository": "sigil-dev/demo", "certificate-oidc-issuer": e.Issuer,
			"trusted-root": e.TrustedRoot, "registry-credentials": credentials(e),
		}, env: e.ToolEnv(t)}
		runAction(t, v)
		if v.code != 0 {
			c.checks = append(c.checks, "the signatures of a step that succeeded do not verify:\n"+v.stdout)
		}
		return
	}
	if s.code != 1 {
		c.checks = append(c.checks, fmt.Sprintf("exit %d, want 1", s.code))
	}
	var errs []string
	for _, l := range strings.Split(s.stdout, "\n") {
		if strings.HasPrefix(l, "::error::") {
			errs = append(errs, l)
		}
	}
	msg := strings.Join(errs, "\n")
	for _, want := range append([]string{c.svc.name, "re-run"}, c.fault.says...) {
		if !strings.Contains(msg, want) {
			c.checks = append(c.checks, fmt.Sprintf("the ::error:: lines do not say %q:\n%s", want, msg))
		}
	}
	if limit := bound(c); c.elapsed > limit {
		c.checks = append(c.checks, fmt.Sprintf("the step took %v, more than the %v a %s may take", c.elapsed.Round(time.Second), limit, c.fault.name))
	}
}

// bound is how long a failing step may take: 4 attempts of the request
// timeout and the backoff between them (0.25+0.5+1 s, jittered), for each
// request in a row that meets the fault, and the token request's own
// timeouts (3 attempts of 10 s).
func bound(c *outcome) time.Duration {
	if c.svc.upstream == fronted.Token {
		return 45 * time.Second
	}
	return 4*(4*requestTimeout+3*time.Second) + 10*time.Second
}

// reliabilityReport renders the matrix as Markdown.
func reliabilityReport(cells []*outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Reliability

Written by `+"`make faults`"+` (e2e TestFaultMatrix, also run by `+"`make test`"+`):
one release step — an image on the bed's ghcr.io and docker.io stand-ins
in both formats, and a file — per service and fault, every request
through the bed's fault-injecting proxy, with request-timeout %v. A
transient fault must be ridden out with every signature verifiable; a
lasting one must end the step with exit 1 and an error naming the
service, the fault and the remedy. Rekor v2 and the timestamp authority
are exercised with the bundle format (Rekor v2 needs a timestamp).

`, requestTimeout)
	b.WriteString("| service | fault | expected | exit | time | what the step said |\n|---|---|---|--:|--:|---|\n")
	slices.SortStableFunc(cells, func(a, b *outcome) int { return strings.Compare(a.svc.upstream, b.svc.upstream) })
	for _, c := range cells {
		expected := "fails, naming it"
		if c.fault.recovers {
			expected = "rides it out"
		}
		said := "signed and verified"
		if c.code != 0 {
			for _, l := range strings.Split(c.stdout, "\n") {
				if strings.HasPrefix(l, "::error::") {
					said = strings.TrimPrefix(l, "::error::")
					break
				}
			}
		}
		mark := "✅"
		if len(c.checks) > 0 {
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %d | %.1f s | %s |\n", c.svc.label(), c.fault.name, mark, expected, c.code, c.elapsed.Seconds(), strings.ReplaceAll(said, "|", `\|`))
	}
	return b.String()
}

// TestVerifyRegistryFaults signs an image on each registry kind, then
// verifies it through the proxy while the registry fails for good, one
// request kind at a time: the tag's resolution, the referrers listing, the
// legacy signature's tag, the signature's blobs. Verification must end
// with exit 1, verified=false and an ::error:: naming the registry, the
// fault and the remedy — never a pass on what could not be read, and never
// "not signed", which would send the user hunting for a signing bug.
func TestVerifyRegistryFaults(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	where := []struct {
		name  string
		match func(r *http.Request) bool
	}{
		{"tag resolution", func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/manifests/v1") }},
		{"referrers listing", func(r *http.Request) bool {
			return strings.Contains(r.URL.Path, "/referrers/") || strings.Contains(r.URL.Path, "/manifests/sha256-")
		}},
		{"signature blobs", func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/blobs/") }},
	}
	persistent := []fault{faults[3], faults[4], faults[5]} // stall, malformed, 5xx
	for _, reg := range []tbenv.Registry{e.GHCR, e.DockerHub} {
		repo := tbenv.UniqueRepo(t) + "-" + reg.Name
		img := tbenv.RandomImage(t)
		reg.PushImage(t, repo, "v1", img)
		s := &step{inputs: map[string]string{
			"images": reg.Host + "/" + repo + ":v1", "format": "both",
			"signing-config": e.SigningConfig, "trusted-root": e.TrustedRoot, "registry-credentials": credentials(e),
		}, env: append(e.ToolEnv(t), e.ActionsEnv(nil)...)}
		runAction(t, s)
		if s.code != 0 {
			t.Fatalf("signing %s: exit %d:\n%s", reg.Name, s.code, s.stdout)
		}
		for _, w := range where {
			for _, f := range persistent {
				t.Run(reg.Name+"/"+w.name+"/"+f.name, func(t *testing.T) {
					t.Parallel()
					var n atomic.Int64
					policy := latency.PolicyFunc(func(_ string, r *http.Request) latency.Plan {
						if !w.match(r) {
							return latency.Plan{}
						}
						return f.plan(n.Add(1))
					})
					bed, err := fronted.Start(e, t.TempDir(), []tbenv.Registry{reg}, latency.WithPolicy(policy))
					if err != nil {
						t.Fatal(err)
					}
					defer bed.Close()
					v := &step{inputs: map[string]string{
						"mode": "verify", "images": bed.Registries[0].Host + "/" + repo + ":v1", "format": "any",
						"repository": "sigil-dev/demo", "certificate-oidc-issuer": e.Issuer,
						"trusted-root": e.TrustedRoot, "registry-credentials": bed.Credentials(),
						"request-timeout": requestTimeout.String(),
					}, env: e.ToolEnv(t)}
					runAction(t, v)
					if n.Load() == 0 {
						t.Fatalf("no request met the fault: the case proves nothing\n%s", v.stdout)
					}
					if v.code != 1 || v.outputs["verified"] != "false" {
						t.Fatalf("exit %d, verified=%q; want 1 and false:\n%s", v.code, v.outputs["verified"], v.stdout)
					}
					var errs []string
					for _, l := range strings.Split(v.stdout, "\n") {
						if strings.HasPrefix(l, "::error::") {
							errs = append(errs, l)
						}
					}
					msg := strings.Join(errs, "\n")
					for _, want := range append([]string{"registry at http://" + bed.Registries[0].Host, "re-run"}, f.says...) {
						if !strings.Contains(msg, want) {
							t.Errorf("the ::error:: lines do not say %q:\n%s", want, msg)
						}
					}
					if strings.Contains(msg, "not signed") || strings.Contains(msg, "no signature") {
						t.Errorf("a registry fault is reported as a missing signature:\n%s", msg)
					}
				})
			}
		}
	}
}
