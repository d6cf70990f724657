package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
)

// ledger counts what the bed holds of a digest's signatures: Rekor v1
// entries found through Rekor's search index (a legacy signature is
// indexed by the hash of its payload, which names the repository and the
// digest; a bundle's in-toto statement by the digest it names), and the
// signatures in the registry (layers of the .sig tag, bundle referrers).
type ledger struct {
	e *tbenv.Env
	// via maps a registry's host to the host the signing runs reached it
	// by (a proxy's, see package fronted): the legacy payload names the
	// repository as the run named it. Empty: the registry's own host.
	via map[string]string
}

// rekorEntries is how many Rekor v1 entries the index holds for key.
func (l ledger) rekorEntries(t *testing.T, key string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"hash": key})
	resp, err := http.Post(l.e.RekorURL+"/api/v1/index/retrieve", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var uuids []string
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&uuids) != nil {
		t.Fatalf("Rekor's index search for %s: %s", key, resp.Status)
	}
	return len(uuids)
}

// counts is what is recorded of one manifest in one repository.
type counts struct {
	legacyEntries, bundleEntries, sigLayers, referrers int
}

func (l ledger) count(t *testing.T, d name.Digest) counts {
	t.Helper()
	signed := d
	if host := l.via[d.RegistryStr()]; host != "" {
		signed = rehost(t, d, host)
	}
	pl, err := (&payload.Cosign{Image: signed}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pl)
	c := counts{
		legacyEntries: l.rekorEntries(t, "sha256:"+hex.EncodeToString(sum[:])),
		bundleEntries: l.rekorEntries(t, d.DigestStr()),
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(l.e.Keychain()), remote.WithContext(t.Context())}
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	if img, err := remote.Image(tag, opts...); err == nil {
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		c.sigLayers = len(layers)
	} else if !isNotFound(err) {
		t.Fatalf("reading %s: %v", tag, err)
	}
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		t.Fatalf("referrers of %s: %v", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	c.referrers = len(im.Manifests)
	return c
}

// rehost is d in the registry at host.
func rehost(t *testing.T, d name.Digest, host string) name.Digest {
	t.Helper()
	r, err := name.NewDigest(host + "/" + d.RepositoryStr() + "@" + d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// TestSignRerun: a re-run of a release signs nothing that is signed: no
// new Rekor entry, no new signature in any .sig tag or referrers list, and
// outputs that say alreadySigned with the existing log entries; with
// skip-signed: false it adds exactly one of each.
func TestSignRerun(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	base := tbenv.UniqueRepo(t)
	var refs []string
	var manifests []name.Digest
	for i := range 10 {
		repo := fmt.Sprintf("%s-%d", base, i)
		for _, reg := range e.Registries() {
			var d name.Digest
			if i == 0 {
				idx := tbenv.RandomIndex(t)
				d = reg.PushIndex(t, repo, "v1", idx)
				im, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range im.Manifests {
					manifests = append(manifests, d.Context().Digest(m.Digest.String()))
				}
			} else {
				d = reg.PushImage(t, repo, "v1", tbenv.RandomImage(t))
			}
			manifests = append(manifests, d)
			refs = append(refs, reg.Tag(t, repo, "v1").String())
		}
	}
	runID := tbenv.UniqueRunID(t)
	run := func(attempt, skip string) *step {
		t.Helper()
		s := &step{
			inputs: map[string]string{
				"images":               strings.Join(refs, "\n"),
				"signing-config":       e.SigningConfig,
				"trusted-root":         e.TrustedRoot,
				"registry-credentials": credentials(e),
				"skip-signed":          skip,
			},
			env: append(e.ToolEnv(t), e.ActionsEnv(tbenv.Claims{"run_id": {runID}, "run_attempt": {attempt}})...),
		}
		runAction(t, s)
		if s.code != 0 {
			t.Fatalf("run %s (skip-signed %s) exited %d:\n%s", attempt, skip, s.code, s.stdout)
		}
		return s
	}
	l := ledger{e: e}
	snapshot := func() map[string]counts {
		m := map[string]counts{}
		for _, d := range manifests {
			m[d.String()] = l.count(t, d)
		}
		return m
	}

	run("1", "true")
	first := snapshot()
	for d, c := range first {
		// One bundle per digest, whatever its repositories: two of them
		// here (ghcr and docker.io), so the digest's statement has one entry.
		if c.legacyEntries != 1 || c.bundleEntries != 1 || c.sigLayers != 1 || c.referrers != 1 {
			t.Errorf("after the first run, %s has %+v, want one of each", d, c)
		}
	}

	second := run("2", "true")
	if diff := diffCounts(first, snapshot()); diff != "" {
		t.Errorf("the re-run changed what is recorded:\n%s", diff)
	}
	var res sign.Result
	if err := json.Unmarshal([]byte(second.outputs["signatures"]), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != len(manifests) {
		t.Errorf("the re-run reports %d manifests, want %d", len(res.Images), len(manifests))
	}
	for _, img := range res.Images {
		for _, sg := range img.Signatures {
			if !sg.AlreadySigned || sg.Log.Index == 0 && sg.Log.LogID == "" || sg.Location == "" {
				t.Errorf("%s@%s: %s signature %+v, want alreadySigned with its log entry", img.Repository, img.Digest, sg.Format, sg)
			}
		}
	}
	if !strings.Contains(second.summary, "already signed") || !strings.Contains(second.stdout, "already signed") {
		t.Errorf("the re-run's summary and log do not say already signed:\n%s", second.summary)
	}

	run("3", "false")
	third := snapshot()
	for d, c := range third {
		f := first[d]
		want := counts{f.legacyEntries + 1, f.bundleEntries + 1, f.sigLayers + 1, f.referrers + 1}
		if c != want {
			t.Errorf("skip-signed false: %s has %+v, want %+v (exactly one more of each)", d, c, want)
		}
	}
}

func diffCounts(a, b map[string]counts) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("  %s: %+v -> %+v", k, v, b[k]))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestParallelWriters: 8 sigil processes, as 8 workflows, sign one digest
// at the same moment on each kind of registry — with the referrers API, and
// with the fallback tag (ghcr's 404 and its 303 to a web page, the
// distribution registry) — in both formats. Every signature is there
// afterwards: sigil verifies each identity in each format, and cosign v2
// and v3 verify each identity.
func TestParallelWriters(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	const writers = 8
	for _, reg := range e.AllRegistries() {
		t.Run(reg.Name, func(t *testing.T) {
			t.Parallel()
			repo := tbenv.UniqueRepo(t)
			d := reg.PushImage(t, repo, "v1", tbenv.RandomImage(t))
			creds := reg.Host + "=" + reg.User + ":" + reg.Password
			workflow := func(i int) string { return fmt.Sprintf(".github/workflows/release-%d.yml", i) }
			var wg sync.WaitGroup
			steps := make([]*step, writers)
			for i := range writers {
				steps[i] = &step{
					inputs: map[string]string{
						"images": d.String(), "signing-config": e.SigningConfig, "trusted-root": e.TrustedRoot,
						"registry-credentials": creds,
					},
					env: append(e.ToolEnv(t), e.ActionsEnv(tbenv.Claims{"workflow_path": {workflow(i)}, "run_id": {tbenv.UniqueRunID(t)}})...),
				}
				wg.Add(1)
				go func() { defer wg.Done(); runAction(t, steps[i]) }()
			}
			wg.Wait()
			for i, s := range steps {
				if s.code != 0 {
					t.Errorf("writer %d exited %d:\n%s", i, s.code, s.stdout)
				}
			}
			if c := (ledger{e: e}).count(t, d); c.sigLayers != writers || c.referrers != writers {
				t.Errorf("after %d writers: %d signatures in the .sig tag and %d referrers, want %d of each", writers, c.sigLayers, c.referrers, writers)
			}
			for i := range writers {
				identity := tbenv.Identity("sigil-dev/demo", workflow(i), "refs/tags/v1.0.0")
				for _, format := range []artifact.Format{artifact.FormatBundle, artifact.FormatLegacy} {
					v := &step{inputs: map[string]string{
						"mode": "verify", "images": d.String(), "format": string(format),
						"certificate-identity": identity, "certificate-oidc-issuer": e.Issuer,
						"trusted-root": e.TrustedRoot, "registry-credentials": creds,
					}, env: e.ToolEnv(t)}
					runAction(t, v)
					if v.code != 0 {
						t.Errorf("sigil verify of writer %d's %s signature: exit %d:\n%s", i, format, v.code, v.stdout)
					}
				}
				for _, msg := range cosignVerify(t, e, d.String(), identity, e.TrustedRoot) {
					t.Errorf("writer %d: %s", i, msg)
				}
			}
		})
	}
}

// cosignVerify verifies ref's signature by identity with cosign v3 and v2,
// the reference clients, against trustedRoot (env is added to their
// environment, e.g. a DOCKER_CONFIG), and returns what each said of a
// failure.
func cosignVerify(t *testing.T, e *tbenv.Env, ref, identity, trustedRoot string, env ...string) []string {
	t.Helper()
	args := []string{"verify", "--allow-http-registry", "--trusted-root", trustedRoot,
		"--certificate-identity", identity, "--certificate-oidc-issuer", e.Issuer, ref}
	var msgs []string
	if out, err := cosign(t, e, e.Cosign3, env, args...); err != nil {
		msgs = append(msgs, fmt.Sprintf("cosign v3 verify %s: %v\n%s", ref, err, out))
	}
	v2 := append([]string{"SIGSTORE_ROOT_FILE=" + e.FulcioRoot, "SIGSTORE_REKOR_PUBLIC_KEY=" + e.RekorPubKey, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + e.CTLogPubKey}, env...)
	if out, err := cosign(t, e, e.Cosign2, v2, args...); err != nil {
		msgs = append(msgs, fmt.Sprintf("cosign v2 verify %s: %v\n%s", ref, err, out))
	}
	return msgs
}
