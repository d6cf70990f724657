package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/ratelimit"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
)

// The limits TestRateLimits puts in front of the bed's registries: GHCR's
// request rate, lowered from its 2,000 a minute so that a release of
// rateImages reaches it in a second, and Docker Hub's pull limit, a
// Personal account's 200 in 6 hours (never reached here: the test counts
// the pulls).
const (
	rateImages     = 6
	ghcrPerMinute  = 1800 // 30 a second
	ghcrBurst      = 10
	dockerHubPulls = 200
)

// limitedBed is the bed's GHCR and Docker Hub stand-ins behind the latency
// proxy, each limited as the real one is.
type limitedBed struct {
	proxy *latency.Group
	ghcr  *ratelimit.GHCR
	hub   *ratelimit.DockerHub
}

func startLimited(t *testing.T, e *tbenv.Env) *limitedBed {
	t.Helper()
	b := &limitedBed{
		ghcr: &ratelimit.GHCR{PerMinute: ghcrPerMinute, Burst: ghcrBurst},
		hub:  &ratelimit.DockerHub{Pulls: dockerHubPulls, AnonymousPulls: 100},
	}
	limiters := map[string]ratelimit.Limiter{e.GHCR.Name: b.ghcr, e.DockerHub.Name: b.hub}
	var err error
	b.proxy, err = latency.Start([]latency.Upstream{
		{Name: e.GHCR.Name, URL: "http://" + e.GHCR.Host},
		{Name: e.DockerHub.Name, URL: "http://" + e.DockerHub.Host},
	}, latency.WithPolicy(latency.PolicyFunc(func(upstream string, r *http.Request) latency.Plan {
		return ratelimit.Plan(limiters[upstream], r)
	})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.proxy.Close() })
	return b
}

// release pushes rateImages images to both registries and returns their
// references through the proxy, and the registry-credentials for it.
func (b *limitedBed) release(t *testing.T, e *tbenv.Env) (refs []string, creds string) {
	t.Helper()
	var lines []string
	for _, r := range e.Registries() {
		lines = append(lines, b.proxy.Host(r.Name)+"="+r.User+":"+r.Password)
	}
	for range rateImages {
		repo := tbenv.UniqueRepo(t)
		img := tbenv.RandomImage(t)
		for _, r := range e.Registries() {
			r.PushImage(t, repo, "v1", img)
			refs = append(refs, b.proxy.Host(r.Name)+"/"+repo+":v1")
		}
	}
	return refs, strings.Join(lines, "\n")
}

// signStep signs refs through the limited bed, the GHCR stand-in's proxy
// being the GHCR host.
func (b *limitedBed) signStep(t *testing.T, e *tbenv.Env, refs []string, creds string) *step {
	return &step{
		inputs: map[string]string{
			"images":               strings.Join(refs, "\n"),
			"signing-config":       e.SigningConfig,
			"trusted-root":         e.TrustedRoot,
			"registry-credentials": creds,
		},
		env: append(e.ToolEnv(t), append(e.ActionsEnv(tbenv.Claims{"run_id": {tbenv.UniqueRunID(t)}}), "SIGIL_GHCR_HOST="+b.proxy.Host(e.GHCR.Name))...),
	}
}

// verifyStep verifies refs through the limited bed with the GitHub preset
// of the bed's tokens.
func (b *limitedBed) verifyStep(t *testing.T, e *tbenv.Env, refs []string, creds string) *step {
	return &step{
		inputs: map[string]string{
			"mode":                    "verify",
			"images":                  strings.Join(refs, "\n"),
			"repository":              "sigil-dev/demo",
			"workflow":                ".github/workflows/release.yml",
			"ref":                     "refs/tags/v*",
			"certificate-oidc-issuer": e.Issuer,
			"trusted-root":            e.TrustedRoot,
			"registry-credentials":    creds,
		},
		env: append(e.ToolEnv(t), "SIGIL_GHCR_HOST="+b.proxy.Host(e.GHCR.Name)),
	}
}

// TestRateLimits signs and verifies a release on registries that limit
// requests as GHCR does (a rate a minute per credential, refusals with the
// wait in the body) and count pulls as Docker Hub does. Paced, sigil runs
// into GHCR's limit and finishes: every image signed, every signature
// verified, no step failed. The same release with a transport that does
// not pace (each request retrying on its own after the wait GHCR names)
// fails, so the limit is one that matters. The pulls each run makes on
// Docker Hub are counted per image.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)

	t.Run("paced", func(t *testing.T) {
		t.Parallel()
		b := startLimited(t, e)
		refs, creds := b.release(t, e)
		s := b.signStep(t, e, refs, creds)
		started := time.Now()
		runAction(t, s)
		signTime := time.Since(started)
		if s.code != 0 {
			t.Fatalf("sign exited %d on rate-limited registries:\n%s", s.code, s.stdout)
		}
		var res sign.Result
		if err := json.Unmarshal([]byte(s.outputs["signatures"]), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Images) != len(refs) {
			t.Fatalf("signed %d images, want %d", len(res.Images), len(refs))
		}
		for _, img := range res.Images {
			for _, sg := range img.Signatures {
				if sg.Error != "" {
					t.Errorf("%s: %s signature failed: %s", img.Reference, sg.Format, sg.Error)
				}
			}
		}
		stats := b.proxy.Stats()
		signGHCR, signPulls := stats[e.GHCR.Name], b.hub.PullsByPath()
		refused := b.ghcr.Refused()
		notPulls := b.hub.NotPulls()
		t.Logf("sign: %d images on each registry in %v; GHCR: %v, %d refused (429); Docker Hub: %v, %s and %d manifest GETs answered 404",
			rateImages, signTime.Round(time.Millisecond), signGHCR, refused, stats[e.DockerHub.Name], pullsPerImage(signPulls, rateImages), notPulls)
		if refused == 0 {
			t.Errorf("GHCR's limit (%d a minute, %d at once) was never reached by %d requests: the test proves nothing", ghcrPerMinute, ghcrBurst, signGHCR.Requests)
		}
		// Paced, the refusals are the few that find the limit; a client
		// retrying each request on its own with backoff (sigil before the
		// pacer) had about 30% of its requests refused here.
		if refused*10 > signGHCR.Requests {
			t.Errorf("GHCR refused %d of %d requests: sigil hammered it", refused, signGHCR.Requests)
		}

		v := b.verifyStep(t, e, refs, creds)
		started = time.Now()
		runAction(t, v)
		if v.code != 0 || v.outputs["verified"] != "true" {
			t.Fatalf("verify on rate-limited registries: exit %d, verified=%q:\n%s", v.code, v.outputs["verified"], v.stdout)
		}
		after := b.proxy.Stats()
		verifyPulls := b.hub.PullsByPath()
		for p, n := range signPulls {
			verifyPulls[p] -= n
		}
		t.Logf("verify: in %v; GHCR: %v, %d refused; Docker Hub: %v, %s and %d manifest GETs answered 404",
			time.Since(started).Round(time.Millisecond), after[e.GHCR.Name].Sub(signGHCR), b.ghcr.Refused()-refused,
			after[e.DockerHub.Name].Sub(stats[e.DockerHub.Name]), pullsPerImage(verifyPulls, rateImages), b.hub.NotPulls()-notPulls)
		if b.hub.Refused() != 0 {
			t.Errorf("Docker Hub refused %d pulls: %d in 6 hours was not enough for %d images", b.hub.Refused(), dockerHubPulls, rateImages)
		}
	})

	// A Docker Hub account out of pulls: verify fails, and says so in
	// Docker Hub's words.
	t.Run("pull limit", func(t *testing.T) {
		t.Parallel()
		b := startLimited(t, e)
		repo := tbenv.UniqueRepo(t)
		e.DockerHub.PushImage(t, repo, "v1", tbenv.RandomImage(t))
		ref := b.proxy.Host(e.DockerHub.Name) + "/" + repo + ":v1"
		creds := b.proxy.Host(e.DockerHub.Name) + "=" + e.DockerHub.User + ":" + e.DockerHub.Password
		s := b.signStep(t, e, []string{ref}, creds)
		runAction(t, s)
		if s.code != 0 {
			t.Fatalf("sign exited %d:\n%s", s.code, s.stdout)
		}
		used := 0
		for _, n := range b.hub.PullsByPath() {
			used += n
		}
		b.hub.SetPulls(used) // none left
		v := b.verifyStep(t, e, []string{ref}, creds)
		runAction(t, v)
		if v.code == 0 || b.hub.Refused() == 0 {
			t.Fatalf("verify passed with the account out of pulls (exit %d, %d refused):\n%s", v.code, b.hub.Refused(), v.stdout)
		}
		for _, want := range []string{"429 Too Many Requests", "You have reached your pull rate limit as '" + e.DockerHub.User + "'", "re-run it later"} {
			if !strings.Contains(v.stdout, want) {
				t.Errorf("the failure does not say %q:\n%s", want, v.stdout)
			}
		}
	})

	t.Run("unpaced", func(t *testing.T) {
		t.Parallel()
		b := startLimited(t, e)
		refs, creds := b.release(t, e)
		s := b.signStep(t, e, refs, creds)
		s.transport = &httpretry.Transport{Base: http.DefaultTransport, Timeout: 30 * time.Second}
		runAction(t, s)
		t.Logf("without pacing: exit %d; GHCR: %v, %d refused", s.code, b.proxy.Stats()[e.GHCR.Name], b.ghcr.Refused())
		if s.code == 0 {
			t.Fatalf("without pacing the release passed GHCR's limit (%d refusals): the limit does not bite, and the paced run proves nothing", b.ghcr.Refused())
		}
		if !strings.Contains(s.stdout, "429 Too Many Requests") {
			t.Errorf("the failure does not name GHCR's refusal:\n%s", s.stdout)
		}
	})
}

// pullsPerImage sums the pulls and says how many that is per image.
func pullsPerImage(pulls map[string]int, images int) string {
	total := 0
	for _, n := range pulls {
		total += n
	}
	return fmt.Sprintf("%d pulls (%.1f per image)", total, float64(total)/float64(images))
}
