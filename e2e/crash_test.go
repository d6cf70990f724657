package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sigil-dev/sigil/internal/testbed/fronted"
	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// A crashPoint is where a signing run dies: the request during which it
// gets SIGKILL.
type crashPoint struct {
	name string
	// at is asked about every request of the killed run, one at a time and
	// in the order they reach the proxies, before the request is
	// forwarded, and says whether the run dies there. It keeps its own
	// counts (under the killSwitch's lock); once it said yes it is not
	// asked again.
	at func(upstream string, r *http.Request) bool
	// answered: the request reaches its service, which does its work (a
	// log entry, a stored manifest), and the run dies before the answer
	// comes back. Otherwise the run dies while the request is held: the
	// service never sees it.
	answered bool
	// landed, when set, checks that what the kill left is what the name
	// says, so that each point tests a different state.
	landed func(s state) error
	// afterPuts, when set, holds at back until that many manifest PUTs
	// were answered 2xx (the services stored them).
	afterPuts int
	// stored, when set, names for the request at accepted the path of a
	// manifest PUT that a registry must have answered 2xx before the run
	// dies (the repositories are the test's own; both registries have
	// them, so at should name the registry): the request is held until then, while the
	// run's other requests go on.
	stored func(upstream string, r *http.Request) string
}

var (
	sigTag      = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}\.sig$`)
	fallbackTag = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}$`)
)

func isRekorEntry(upstream string, r *http.Request) bool {
	return upstream == fronted.Rekor && r.Method == http.MethodPost && r.URL.Path == "/api/v1/log/entries"
}

func isSigPut(_ string, r *http.Request) bool {
	return r.Method == http.MethodPut && sigTag.MatchString(r.URL.Path)
}

// nth is the crashPoint.at of the n-th request that match accepts.
func nth(n int, match func(upstream string, r *http.Request) bool) func(string, *http.Request) bool {
	seen := 0
	return func(upstream string, r *http.Request) bool {
		if !match(upstream, r) {
			return false
		}
		seen++
		return seen == n
	}
}

// unfinished is the crashPoint.landed of a run killed once it had made at
// least least log entries (and fewer than most, when most > 0), with a
// signature still missing.
func unfinished(least, most int) func(state) error {
	return func(s state) error {
		if s.logged < least || most > 0 && s.logged >= most || s.complete() {
			return fmt.Errorf("%d log entries (want %d or more, fewer than %d), every signature in place: %v", s.logged, least, most, s.complete())
		}
		return nil
	}
}

// crashPoints are the points of a run of targets manifests (each repository
// counted) on the GHCR stand-in (no referrers API: bundles go under the
// fallback tag) and the Docker Hub one (referrers API), where sigil signs
// each target's bundle then its legacy signature, logs both, pushes the
// bundle and the legacy signature side by side, and reads each back.
func crashPoints(targets int, ghcr, dockerhub string) []crashPoint {
	return []crashPoint{{
		name: "before Fulcio",
		at:   nth(1, func(up string, _ *http.Request) bool { return up == fronted.Fulcio }),
		landed: func(s state) error {
			if s.logged != 0 || s.signatures() != 0 {
				return fmt.Errorf("%d log entries and %d signatures, want none", s.logged, s.signatures())
			}
			return nil
		},
	}, {
		name:     "mid-Rekor, entry logged and its answer lost",
		at:       nth(12, isRekorEntry),
		answered: true,
		landed:   unfinished(12, 0),
	}, {
		name:   "mid-Rekor, entry never reaching the log",
		at:     nth(40, isRekorEntry),
		landed: unfinished(1, 40),
	}, {
		name: "mid-push, a manifest on the referrers API",
		at: nth(10, func(up string, r *http.Request) bool {
			return up == dockerhub && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
		}),
		landed: unfinished(1, 0),
	}, {
		name: "mid-push, a bundle stored before its fallback tag",
		at: nth(1, func(up string, r *http.Request) bool {
			return up == ghcr && r.Method == http.MethodPut && fallbackTag.MatchString(r.URL.Path)
		}),
		landed: func(s state) error {
			for d, c := range s.manifests {
				if strings.Contains(d, s.ghcrHost+"/") && c.referrers != 0 {
					return fmt.Errorf("%s lists %d bundles, want none: no fallback tag was written", d, c.referrers)
				}
			}
			return unfinished(1, 0)(s)
		},
	}, {
		// A target's bundle and legacy signature are pushed side by side:
		// the kill holds the first .sig write on the GHCR stand-in until
		// the same target's fallback tag (its bundle) is stored, so that
		// the target has its bundle and not its legacy signature whatever
		// order the two writes were in.
		name: "between formats",
		at: func(up string, r *http.Request) bool {
			return up == ghcr && isSigPut(up, r)
		},
		stored: func(_ string, r *http.Request) string {
			return strings.TrimSuffix(r.URL.Path, ".sig")
		},
		landed: func(s state) error {
			for d, c := range s.manifests {
				if strings.Contains(d, s.ghcrHost+"/") && c.referrers == 1 && c.sigLayers == 0 {
					return nil
				}
			}
			return errors.New("no manifest has its bundle without its legacy signature")
		},
	}, {
		// A whole run makes about 1,200 requests (reading back starts
		// there): the kill lands in the first 900, wherever that is.
		name: "at a random request",
		at:   nth(rand.IntN(900)+1, func(string, *http.Request) bool { return true }),
	}, {
		// Each write is read back once it has settled, while others are
		// still pushed: the run dies at a read-back once every manifest is
		// stored — a .sig per target, a referrer manifest per target and
		// a fallback tag per target on the GHCR stand-in.
		name:      "reading back",
		afterPuts: targets + targets + targets/2,
		at: func(_ string, r *http.Request) bool {
			return (r.Method == http.MethodGet || r.Method == http.MethodHead) && (sigTag.MatchString(r.URL.Path) || strings.Contains(r.URL.Path, "/referrers/") || fallbackTag.MatchString(r.URL.Path))
		},
		landed: func(s state) error {
			if !s.complete() {
				return errors.New("a signature is missing: the run was to die once every signature was pushed")
			}
			return nil
		},
	}}
}

// state is what the bed holds of a run's manifests at one moment.
type state struct {
	manifests map[string]counts // by manifest, in the registry's own host
	logged    int               // Rekor v1 entries the runs made, as the proxy saw them answered
	ghcrHost  string
}

func (s state) signatures() int {
	n := 0
	for _, c := range s.manifests {
		n += c.sigLayers + c.referrers
	}
	return n
}

// signed is how many manifests have both formats.
func (s state) signed() int {
	n := 0
	for _, c := range s.manifests {
		if c.sigLayers > 0 && c.referrers > 0 {
			n++
		}
	}
	return n
}

// complete: every manifest has its bundle and its legacy signature.
func (s state) complete() bool {
	for _, c := range s.manifests {
		if c.sigLayers == 0 || c.referrers == 0 {
			return false
		}
	}
	return true
}

// entries is how many Rekor v1 entries Rekor's index holds for the
// manifests: legacy ones per repository, bundle ones per digest.
func (s state) entries() int {
	n := 0
	digests := map[string]int{}
	for d, c := range s.manifests {
		n += c.legacyEntries
		digests[digestOf(d)] = c.bundleEntries
	}
	for _, b := range digests {
		n += b
	}
	return n
}

// digestOf is the digest of a manifest's REPOSITORY@DIGEST.
func digestOf(manifest string) string { return manifest[strings.Index(manifest, "@")+1:] }

// hold answers nothing until the client goes away.
var hold http.Handler = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

// killAfter marks, between the policy and the transport, the request after
// whose answer the run dies.
const killAfter = "X-Sigil-Test-Kill-After"

var errKilled = errors.New("the signing run was killed")

// A killSwitch is the proxies' policy and their transport to the services:
// it kills the signing run with SIGKILL at its crashPoint, and from then on
// forwards nothing (new requests are held) until drained, so that the kill
// lands exactly there. What reached a service before the kill is finished
// there, as a service finishes a request whose client died; drain waits for
// it. It counts the Rekor v1 entries made through it.
type killSwitch struct {
	point     crashPoint
	base      http.RoundTripper
	rekorHost string
	proc      chan *os.Process

	mu       sync.Mutex
	idle     *sync.Cond // inflight fell to 0
	stored   *sync.Cond // a manifest PUT was answered 2xx, or a wait timed out
	armed    bool
	fired    string // the request the run died in, once it did
	seen     int    // requests of the killed run, up to the kill
	frozen   bool
	inflight int
	logged   int
	puts     int             // manifest PUTs answered 2xx
	paths    map[string]bool // their paths
}

func newKillSwitch(p crashPoint, rekorURL string) (*killSwitch, error) {
	u, err := url.Parse(rekorURL)
	if err != nil {
		return nil, err
	}
	k := &killSwitch{point: p, rekorHost: u.Host, proc: make(chan *os.Process, 1), armed: true,
		base: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 64}}
	k.idle = sync.NewCond(&k.mu)
	k.stored = sync.NewCond(&k.mu)
	k.paths = map[string]bool{}
	return k, nil
}

// started takes the killed run's process (step.started).
func (k *killSwitch) started(p *os.Process) { k.proc <- p }

// Plan implements latency.Policy.
func (k *killSwitch) Plan(upstream string, r *http.Request) latency.Plan {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.frozen {
		return latency.Plan{Fault: hold}
	}
	if !k.armed {
		return latency.Plan{}
	}
	if k.seen++; k.puts < k.point.afterPuts || !k.point.at(upstream, r) {
		return latency.Plan{}
	}
	k.armed = false
	k.fired = fmt.Sprintf("request %d (%s %s %s)", k.seen, upstream, r.Method, r.URL.Path)
	if k.point.stored != nil {
		k.waitStored(k.point.stored(upstream, r))
	}
	if k.point.answered {
		r.Header.Set(killAfter, "1")
		return latency.Plan{}
	}
	k.kill()
	return latency.Plan{Fault: hold}
}

// waitStored holds the calling request until a manifest PUT to path was
// answered 2xx, at most a minute (the point's landed check then tells);
// k.mu is held, and released while waiting.
func (k *killSwitch) waitStored(path string) {
	timedOut := false
	t := time.AfterFunc(time.Minute, func() {
		k.mu.Lock()
		timedOut = true
		k.stored.Broadcast()
		k.mu.Unlock()
	})
	defer t.Stop()
	for !k.paths[path] && !timedOut {
		k.stored.Wait()
	}
	if !k.paths[path] {
		k.fired += ", " + path + " never stored"
	}
}

// kill freezes the proxies and kills the run; k.mu is held.
func (k *killSwitch) kill() {
	k.frozen = true
	p := <-k.proc
	_ = p.Kill() // SIGKILL
}

// RoundTrip implements http.RoundTripper: the proxies' way to the services.
func (k *killSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	k.mu.Lock()
	if k.frozen {
		k.mu.Unlock()
		return nil, errKilled
	}
	k.inflight++
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		if k.inflight--; k.inflight == 0 {
			k.idle.Broadcast()
		}
		k.mu.Unlock()
	}()
	last := r.Header.Get(killAfter) != ""
	r = r.Clone(context.WithoutCancel(r.Context()))
	r.Header.Del(killAfter)
	resp, err := k.base.RoundTrip(r)
	if err == nil && r.URL.Host == k.rekorHost && r.Method == http.MethodPost && r.URL.Path == "/api/v1/log/entries" && resp.StatusCode == http.StatusCreated {
		k.mu.Lock()
		k.logged++
		k.mu.Unlock()
	}
	if err == nil && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && resp.StatusCode/100 == 2 {
		k.mu.Lock()
		k.puts++
		k.paths[r.URL.Path] = true
		k.stored.Broadcast()
		k.mu.Unlock()
	}
	if last {
		if resp != nil {
			resp.Body.Close()
		}
		k.mu.Lock()
		k.kill()
		k.mu.Unlock()
		return nil, errKilled
	}
	return resp, err
}

// drain waits until no request is under way at a service, then forwards
// requests again; the crash point is not armed again.
func (k *killSwitch) drain() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for k.inflight > 0 {
		k.idle.Wait()
	}
	k.frozen = false
}

func (k *killSwitch) counts() (fired string, logged int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fired, k.logged
}

// TestSignSurvivesKill kills a 20-image release (one of them
// multi-platform, on the GHCR and Docker Hub stand-ins, both formats) with
// SIGKILL at points across the run — before Fulcio, mid-Rekor, mid-push,
// between the formats, while reading back — then runs it again with the
// same inputs and token claims. Every re-run must end with exit 0 and
// every manifest verifiable in both formats, and for every (format,
// digest, repository) the re-run may add at most one signature and one log
// entry, and none where the killed run had pushed that signature.
func TestSignSurvivesKill(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	const images = 20 // one of them a two-platform index
	targets := 2 * (images + 2)
	for _, p := range crashPoints(targets, fronted.RegistryPrefix+e.GHCR.Name, fronted.RegistryPrefix+e.DockerHub.Name) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			crashAndRerun(t, e, p, images, targets)
		})
	}
}

func crashAndRerun(t *testing.T, e *tbenv.Env, p crashPoint, images, targets int) {
	sw, err := newKillSwitch(p, e.RekorURL)
	if err != nil {
		t.Fatal(err)
	}
	bed, err := fronted.Start(e, t.TempDir(), e.Registries(), latency.WithPolicy(sw), latency.WithTransport(sw))
	if err != nil {
		t.Fatal(err)
	}
	defer bed.Close()

	// The release, pushed to the registries themselves; the runs reach
	// them through the proxies.
	base := tbenv.UniqueRepo(t)
	var refs []string
	var manifests []name.Digest
	l := ledger{e: e, via: map[string]string{}}
	for _, r := range bed.Registries {
		l.via[r.Bed.Host] = r.Host
	}
	for i := range images {
		// The same manifests on both registries: one digest, two repositories.
		repo := fmt.Sprintf("%s-%d", base, i)
		var idx v1.ImageIndex
		var img v1.Image
		if i == 0 {
			idx = tbenv.RandomIndex(t)
		} else {
			img = tbenv.RandomImage(t)
		}
		for _, r := range bed.Registries {
			if i == 0 {
				d := r.Bed.PushIndex(t, repo, "v1", idx)
				im, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range im.Manifests {
					manifests = append(manifests, d.Context().Digest(m.Digest.String()))
				}
				manifests = append(manifests, d)
			} else {
				manifests = append(manifests, r.Bed.PushImage(t, repo, "v1", img))
			}
			refs = append(refs, r.Host+"/"+repo+":v1")
		}
	}
	if len(manifests) != targets {
		t.Fatalf("%d manifests pushed, the crash points expect %d", len(manifests), targets)
	}
	snapshot := func() state {
		_, logged := sw.counts()
		s := state{manifests: map[string]counts{}, logged: logged, ghcrHost: e.GHCR.Host}
		for _, d := range manifests {
			s.manifests[d.String()] = l.count(t, d)
		}
		return s
	}

	env := append(e.ToolEnv(t), bed.ActionsEnv(tbenv.Claims{"run_id": {tbenv.UniqueRunID(t)}})...)
	sign := func() *step {
		return &step{inputs: map[string]string{
			"images": strings.Join(refs, "\n"), "signing-config": bed.SigningConfig, "trusted-root": bed.TrustedRoot,
			"registry-credentials": bed.Credentials(),
		}, env: env}
	}

	killed := sign()
	killed.started = sw.started
	runAction(t, killed)
	fired, _ := sw.counts()
	if fired == "" || killed.code != -1 {
		t.Fatalf("the run was not killed %s (exit %d): the case proves nothing\n%s", p.name, killed.code, killed.stdout)
	}
	sw.drain()
	after := settled(t, "after the kill", snapshot)
	if p.landed != nil {
		if err := p.landed(after); err != nil {
			t.Fatalf("the kill did not land %s: %v", p.name, err)
		}
	}
	checkLogged(t, "after the kill", after)
	t.Logf("killed %s, in %s: %d of %d manifests fully signed, %d signatures, %d log entries", p.name, fired, after.signed(), targets, after.signatures(), after.logged)

	rerun := sign()
	runAction(t, rerun)
	if rerun.code != 0 {
		t.Fatalf("the re-run after a kill %s exited %d:\n%s", p.name, rerun.code, rerun.stdout)
	}
	final := settled(t, "after the re-run", snapshot)
	checkLogged(t, "after the re-run", final)
	t.Logf("re-run: %d signatures and %d log entries more, %d bundles attached from another repository of their digest", final.signatures()-after.signatures(), final.logged-after.logged, reattached(after, final))
	checkNoDuplicates(t, after, final)

	identity := tbenv.Identity("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.0.0")
	for _, format := range []string{"bundle", "legacy"} {
		v := &step{inputs: map[string]string{
			"mode": "verify", "images": strings.Join(refs, "\n"), "format": format, "recursive": "true",
			"certificate-identity": identity, "certificate-oidc-issuer": e.Issuer,
			"trusted-root": bed.TrustedRoot, "registry-credentials": bed.Credentials(),
		}, env: e.ToolEnv(t)}
		runAction(t, v)
		if v.code != 0 || v.outputs["verified"] != "true" {
			t.Errorf("sigil verify --format %s after the re-run: exit %d:\n%s", format, v.code, v.stdout)
		}
	}
	// The multi-platform index on the fallback tag, as the reference
	// clients read it.
	for _, msg := range cosignVerify(t, e, refs[0], identity, bed.TrustedRoot, "DOCKER_CONFIG="+bed.DockerConfig) {
		t.Error(msg)
	}
}

// settled takes a snapshot once Rekor's index holds every entry the proxy
// saw made: Rekor indexes an entry just after answering.
func settled(t *testing.T, when string, snapshot func() state) state {
	t.Helper()
	s := snapshot()
	for i := 0; s.entries() != s.logged && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		s = snapshot()
	}
	if s.entries() != s.logged {
		t.Fatalf("%s, Rekor's index holds %d entries for the release, but %d were made", when, s.entries(), s.logged)
	}
	return s
}

// reattached is how many bundles the re-run attached with no new log
// entry, taken from another repository of their digest.
func reattached(killed, final state) int {
	n := 0
	for d, f := range final.manifests {
		if k := killed.manifests[d]; f.referrers > k.referrers && f.bundleEntries == k.bundleEntries {
			n++
		}
	}
	return n
}

// checkLogged: no signature is in a registry without its log entry.
func checkLogged(t *testing.T, when string, s state) {
	t.Helper()
	for _, d := range slices.Sorted(maps.Keys(s.manifests)) {
		c := s.manifests[d]
		if c.sigLayers > c.legacyEntries || c.referrers > 0 && c.bundleEntries == 0 {
			t.Errorf("%s, %s has a signature without its log entry: %+v", when, d, c)
		}
	}
}

// checkNoDuplicates: for every (format, digest, repository) the re-run
// added at most one signature and one log entry, none where the killed
// run had pushed that signature (for a bundle, which names only the
// digest: pushed to any repository of the digest), and left exactly one
// signature of each format.
func checkNoDuplicates(t *testing.T, killed, final state) {
	t.Helper()
	bundled := map[string]bool{}
	for d, c := range killed.manifests {
		if c.referrers > 0 {
			bundled[digestOf(d)] = true
		}
	}
	for _, d := range slices.Sorted(maps.Keys(final.manifests)) {
		k, f := killed.manifests[d], final.manifests[d]
		pushed := bundled[digestOf(d)]
		for _, c := range []struct {
			what        string
			before, now int
			none        bool // the killed run had pushed it: nothing new
		}{
			{"legacy signatures", k.sigLayers, f.sigLayers, k.sigLayers > 0},
			{"legacy log entries", k.legacyEntries, f.legacyEntries, k.sigLayers > 0},
			{"bundles", k.referrers, f.referrers, k.referrers > 0},
			{"bundle log entries (of the digest)", k.bundleEntries, f.bundleEntries, pushed},
		} {
			switch added := c.now - c.before; {
			case c.none && added != 0:
				t.Errorf("%s: the re-run added %d %s, though the killed run had pushed one", d, added, c.what)
			case added > 1:
				t.Errorf("%s: the re-run added %d %s, want at most 1", d, added, c.what)
			}
		}
		if f.sigLayers != 1 || f.referrers != 1 {
			t.Errorf("%s ends with %d legacy signatures and %d bundles, want one of each", d, f.sigLayers, f.referrers)
		}
	}
}
