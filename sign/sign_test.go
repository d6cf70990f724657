package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
	"github.com/sigil-dev/sigil/internal/testbed/reqcount"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/verify"
)

// noCT is the virtual Sigstore without its CT log: its certificates carry
// no SCT, so a verifier would otherwise require one they lack.
type noCT struct{ *ca.VirtualSigstore }

func (noCT) CTLogs() map[string]*root.TransparencyLog { return nil }

func init() { trustedFor = func(w *world) root.TrustedMaterial { return noCT{w.vs} } }

// trustedFor is the trust material tests sign and verify against.
var trustedFor func(*world) root.TrustedMaterial

// verifyImages verifies refs as a consumer would, in format f.
func verifyImages(t *testing.T, w *world, f artifact.Format, refs ...string) verify.Report {
	t.Helper()
	pol, err := verify.NewPolicy(verify.WithCertificateIdentity(testSubject), verify.WithIssuer(testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(trustedFor(w), pol, verify.WithFormat(f))
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.VerifyImages(t.Context(), refs)
	if err != nil {
		t.Fatalf("verifying %v as %s: %v\n%s", refs, f, err, r.Text())
	}
	return r
}

func newSigner(t *testing.T, w *world, extra ...sign.Option) *sign.Signer {
	t.Helper()
	w.trusted = trustedFor(w)
	return w.signer(t, extra...)
}

func TestSignImagesBothFormats(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"referrers API", "tag fallback"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			host := w.referrers
			if kind == "tag fallback" {
				host = w.fallback
			}
			ref := host + "/org/app:v1"
			digest := push(t, 0, ref)
			var mu sync.Mutex
			var progress []string
			s := newSigner(t, w, sign.WithProgress(func(l string) { mu.Lock(); progress = append(progress, l); mu.Unlock() }))
			images, err := s.SignImages(t.Context(), []string{ref})
			if err != nil {
				t.Fatal(err)
			}
			if len(images) != 1 || images[0].Digest != digest || images[0].Repository != host+"/org/app" || images[0].Reference != ref {
				t.Fatalf("signed %+v, want %s in %s/org/app", images, digest, host)
			}
			sigs := images[0].Signatures
			if len(sigs) != 2 || sigs[0].Format != artifact.FormatBundle || sigs[1].Format != artifact.FormatLegacy {
				t.Fatalf("signatures %+v, want a bundle then a legacy one", sigs)
			}
			if sigs[0].ReadBack != sign.ReadBackReferrers || !strings.HasPrefix(sigs[0].Location, host+"/org/app@sha256:") {
				t.Errorf("bundle written to %s, read back via %s", sigs[0].Location, sigs[0].ReadBack)
			}
			sigTag := host + "/org/app:sha256-" + strings.TrimPrefix(digest, "sha256:") + ".sig"
			if sigs[1].ReadBack != sign.ReadBackLegacyTag || sigs[1].Location != sigTag {
				t.Errorf("legacy signature written to %s, want %s", sigs[1].Location, sigTag)
			}
			for _, sg := range sigs {
				if sg.Log.URL != "https://rekor.virtual" || sg.Log.Version != 1 || sg.Log.IntegratedTime == nil || sg.Log.LogID == "" || !strings.Contains(sg.Log.EntryURL, "logIndex=0") {
					t.Errorf("%s log entry %+v", sg.Format, sg.Log)
				}
			}
			fallbackTag := host + "/org/app:sha256-" + strings.TrimPrefix(digest, "sha256:")
			if got, want := tagExists(fallbackTag), kind == "tag fallback"; got != want {
				t.Errorf("referrers fallback tag exists: %v, want %v", got, want)
			}
			if w.log.entries() != 2 {
				t.Errorf("%d log entries, want 2", w.log.entries())
			}
			if len(progress) != 1 || !strings.Contains(progress[0], host+"/org/app@"+digest+": bundle signed, legacy signed") {
				t.Errorf("progress %q", progress)
			}
			verifyImages(t, w, artifact.FormatBundle, ref)
			verifyImages(t, w, artifact.FormatLegacy, ref)
		})
	}
}

func TestSignIndex(t *testing.T) {
	t.Parallel()
	for _, recursive := range []bool{true, false} {
		w := newWorld(t)
		ref := w.referrers + "/org/multi:v1"
		push(t, 2, ref)
		images, err := newSigner(t, w, sign.WithRecursive(recursive), sign.WithFormat(artifact.FormatLegacy)).SignImages(t.Context(), []string{ref})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if recursive {
			want = 3
		}
		if len(images) != want {
			t.Fatalf("recursive %v: signed %d manifests, want %d", recursive, len(images), want)
		}
		for _, img := range images[1:] {
			if img.Index != images[0].Digest || img.Reference != ref {
				t.Errorf("platform manifest %+v", img.Target)
			}
			verifyImages(t, w, artifact.FormatLegacy, img.Repository+"@"+img.Digest)
		}
	}
}

func TestSignOneDigestInTwoRepositories(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.referrers+"/org/app:v1", w.fallback+"/mirror/app:v1"
	digest := push(t, 0, a, b)
	images, err := newSigner(t, w).SignImages(t.Context(), []string{a, b, a, w.referrers + "/org/app@" + digest})
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 {
		t.Fatalf("signed %d manifests, want one per repository: %+v", len(images), images)
	}
	// One statement names the digest for every repository; the legacy
	// payload names the repository, so each has its own.
	if w.log.entries() != 3 {
		t.Errorf("%d log entries, want 1 bundle and 2 legacy signatures", w.log.entries())
	}
	if images[0].Signatures[0].Log != images[1].Signatures[0].Log {
		t.Errorf("the repositories' bundles have different log entries")
	}
	verifyImages(t, w, artifact.FormatBundle, a, b)
	verifyImages(t, w, artifact.FormatLegacy, a, b)
}

// TestSignDigestsOnceAcrossRounds: digests in three repositories each,
// more of them than the concurrency, listed one repository after another:
// each digest's bundle and attestation are logged once and attached in
// every repository (a digest's results are let go after its last
// repository has them; one let go too soon would be logged again).
func TestSignDigestsOnceAcrossRounds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other := serveRegistry(t, newRegistry(true))
	const digests = 5
	var refs []string
	for _, host := range []string{w.referrers, w.fallback, other} {
		for i := range digests {
			refs = append(refs, fmt.Sprintf("%s/org/app%d:v1", host, i))
		}
	}
	for i := range digests {
		push(t, 0, refs[i], refs[digests+i], refs[2*digests+i])
	}
	const predicateType = testPredicateType
	s := newSigner(t, w, sign.WithConcurrency(2), sign.WithPredicates(sign.Predicate{Type: predicateType, Kind: "custom", Source: "result.json", JSON: []byte(`{"passed": true}`), Images: refs}))
	images, err := s.SignImages(t.Context(), refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != len(refs) {
		t.Fatalf("%d images, want %d", len(images), len(refs))
	}
	// Per digest: 1 bundle, 1 legacy signature per repository, 1
	// attestation.
	if n, want := w.log.entries(), digests*(1+3+1); n != want {
		t.Errorf("%d log entries, want %d", n, want)
	}
	for i, img := range images {
		if img.Repository != strings.Split(refs[i], ":v1")[0] {
			t.Errorf("result %d is %s, want the order of the references (%s)", i, img.Repository, refs[i])
		}
	}
	verifyImages(t, w, artifact.FormatBundle, refs...)
	verifyImages(t, w, artifact.FormatLegacy, refs...)
}

func TestSignKeepsExistingSignatures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ref := w.fallback + "/org/app:v1"
	push(t, 0, ref)
	for range 2 {
		if _, err := newSigner(t, w).SignImages(t.Context(), []string{ref}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []artifact.Format{artifact.FormatBundle, artifact.FormatLegacy} {
		r := verifyImages(t, w, f, ref)
		n := 0
		for _, sg := range r.Artifacts[0].Signatures {
			if sg.Format == f && sg.Passed {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%s: %d signatures after two runs, want 2", f, n)
		}
	}
}

func TestSignLegacyAnnotations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ref := w.referrers + "/org/app:v1"
	digest := push(t, 0, ref)
	s := newSigner(t, w, sign.WithFormat(artifact.FormatLegacy), sign.WithAnnotations(map[string]string{"release": "v1"}))
	if _, err := s.SignImages(t.Context(), []string{ref}); err != nil {
		t.Fatal(err)
	}
	sigs, err := remote.Image(must(name.NewTag(w.referrers + "/org/app:sha256-" + strings.TrimPrefix(digest, "sha256:") + ".sig")))
	if err != nil {
		t.Fatal(err)
	}
	layers := must(sigs.Layers())
	rc := must(layers[0].Compressed())
	defer rc.Close()
	var payload struct {
		Optional map[string]string `json:"optional"`
	}
	if err := json.NewDecoder(rc).Decode(&payload); err != nil || payload.Optional["release"] != "v1" {
		t.Errorf("payload annotations %v (%v), want release=v1", payload.Optional, err)
	}
}

// countingRegistry counts the write requests a registry receives.
type countingRegistry struct {
	http.Handler
	mu     sync.Mutex
	writes int
}

func (c *countingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.mu.Lock()
		c.writes++
		c.mu.Unlock()
	}
	c.Handler.ServeHTTP(w, r)
}

func TestSignWritesNothingOnFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		breakIt func(w *world)
		refs    func(host string) []string
		want    string
	}{
		{name: "no certificate", breakIt: func(w *world) { w.certs.err = errors.New("Fulcio refused the token") }, want: "Fulcio refused the token"},
		{name: "log down", breakIt: func(w *world) { w.log.fail = errors.New("connection refused") }, want: "connection refused"},
		{name: "missing tag", refs: func(host string) []string { return []string{host + "/org/app:v1", host + "/org/app:nope"} }, want: "does not exist"},
		{name: "bad reference", refs: func(host string) []string { return []string{host + "/org/app:v1", "Not A Reference"} }, want: "not a valid reference"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			reg := &countingRegistry{Handler: newRegistry(false)}
			host := serveRegistry(t, reg)
			push(t, 0, host+"/org/app:v1")
			reg.writes = 0
			if tc.breakIt != nil {
				tc.breakIt(w)
			}
			refs := []string{host + "/org/app:v1"}
			if tc.refs != nil {
				refs = tc.refs(host)
			}
			_, err := newSigner(t, w).SignImages(t.Context(), refs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if reg.writes != 0 {
				t.Errorf("a failed run wrote %d times to the registry", reg.writes)
			}
			if tc.name != "log down" && w.log.entries() != 0 {
				t.Errorf("a failed run made %d log entries", w.log.entries())
			}
		})
	}
}

// refusingWrites answers 401 to every write, as a registry does to a token
// without push rights.
func refusingWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// testPredicateType is the tests' custom predicate type.
const testPredicateType = "https://example.com/test-result/v1"

// refusingAttestations answers 403 to a manifest put of an attestation
// (the .att tag, or a referrer naming testPredicateType) and lets every
// other request through, as a registry does to a repository's policy
// refusing one artifact type.
func refusingAttestations(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if strings.HasSuffix(r.URL.Path, ".att") || bytes.Contains(body, []byte(testPredicateType)) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"artifact type not allowed"}]}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	})
}

// hidingReferrers lists no referrer, whatever was pushed: a registry that
// accepts a bundle but does not serve it back.
func hidingReferrers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/referrers/") {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			_, _ = io.WriteString(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func TestSignRegistryFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wrap    func(http.Handler) http.Handler
		want    []string
		formats artifact.Format
		attest  bool
	}{
		{name: "push refused", wrap: refusingWrites, formats: artifact.FormatLegacy, want: []string{"pushing the signature", "refused anonymous access"}},
		{name: "bundle push refused", wrap: refusingWrites, formats: artifact.FormatBundle, want: []string{"pushing the signature", "refused anonymous access"}},
		{name: "legacy attestation refused", wrap: refusingAttestations, formats: artifact.FormatLegacy, attest: true, want: []string{"pushing the attestation", "refused anonymous access"}},
		{name: "bundle attestation refused", wrap: refusingAttestations, formats: artifact.FormatBundle, attest: true, want: []string{"pushing the attestation", "refused anonymous access"}},
		{name: "bundle not listed", wrap: hidingReferrers, formats: artifact.FormatBundle, want: []string{"bundle signature logged", "did not hold it when read back, 6 times"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			base := newRegistry(true)
			host := serveRegistry(t, base)
			wrapped := serveRegistry(t, tc.wrap(base))
			push(t, 0, host+"/org/app:v1")
			ref := wrapped + "/org/app:v1"
			opts := []sign.Option{sign.WithFormat(tc.formats)}
			if tc.attest {
				opts = append(opts, sign.WithPredicates(sign.Predicate{Type: testPredicateType, Kind: "custom", Source: "result.json", JSON: []byte(`{"passed": true}`), Images: []string{ref}}))
			}
			_, err := newSigner(t, w, opts...).SignImages(t.Context(), []string{ref})
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to mention %q", err, want)
				}
			}
		})
	}
}

func TestSignFiles(t *testing.T) {
	t.Parallel()
	for _, streamed := range []bool{true, false} {
		t.Run(fmt.Sprintf("streamed=%v", streamed), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var opts []sign.Option
			if streamed {
				// The run's own key pair signs a file's streamed digest.
				opts = append(opts, sign.WithKeypair(digestKeypair{w.keypair}))
			}
			testSignFiles(t, w, opts...)
		})
	}
}

func testSignFiles(t *testing.T, w *world, opts ...sign.Option) {
	dir := t.TempDir()
	var paths []string
	for _, f := range []string{"app.tar.gz", "checksums.txt"} {
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte("contents of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	s := newSigner(t, w, opts...)
	files, err := s.SignFiles(t.Context(), paths)
	if err != nil {
		t.Fatal(err)
	}
	var specs []verify.FileSpec
	for i, f := range files {
		if f.Path != paths[i] || f.Bundle != paths[i]+artifact.BundleSuffix || len(f.SHA256) != 64 || f.Log.Version != 1 {
			t.Errorf("file %+v", f)
		}
		specs = append(specs, verify.FileSpec{Path: f.Path})
	}
	pol := must(verify.NewPolicy(verify.WithCertificateIdentity(testSubject), verify.WithIssuer(testIssuer)))
	v := must(verify.New(trustedFor(w), pol))
	if r, err := v.VerifyFiles(t.Context(), specs); err != nil {
		t.Fatalf("%v\n%s", err, r.Text())
	}

	// A missing file fails the run before anything is signed.
	before := w.log.entries()
	if _, err := s.SignFiles(t.Context(), append(paths, filepath.Join(dir, "missing"))); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err = %v", err)
	}
	if w.log.entries() != before {
		t.Errorf("a run with a missing file made log entries")
	}
	if got, err := s.SignFiles(t.Context(), nil); got != nil || err != nil {
		t.Errorf("no files: %v, %v", got, err)
	}
}

func TestIdentityAndCertificates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newSigner(t, w)
	id, err := s.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != testSubject || id.Issuer != testIssuer {
		t.Errorf("identity %+v", id)
	}
	if n := s.CertificateRequests(); n != 0 {
		t.Errorf("%d Fulcio requests with a certificate source of the caller's", n)
	}
	if _, err := s.SignImages(t.Context(), nil); err != nil {
		t.Error(err)
	}
	w.certs.err = errors.New("no certificate")
	if _, err := s.Identity(context.Background()); err == nil {
		t.Error("Identity succeeded without a certificate")
	}
}

func TestSignConcurrently(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var refs []string
	for i := range 12 {
		ref := w.referrers + "/org/app" + string(rune('a'+i)) + ":v1"
		push(t, 0, ref)
		refs = append(refs, ref)
	}
	images, err := newSigner(t, w, sign.WithConcurrency(4)).SignImages(t.Context(), refs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, img := range images {
		got = append(got, img.Reference)
	}
	if !slices.Equal(got, refs) {
		t.Errorf("results out of order: %v", got)
	}
	verifyImages(t, w, artifact.FormatAny, refs...)
}

// TestSignRequiresSCT: when the trusted root lists CT logs, a certificate
// without a valid SCT is refused before anything is logged or pushed, as
// every verifier would refuse its signatures.
func TestSignRequiresSCT(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ref := w.referrers + "/org/app:v1"
	push(t, 0, ref)
	w.trusted = w.vs // lists a CT log; the virtual certificates carry no SCT
	s := w.signer(t)
	_, err := s.SignImages(t.Context(), []string{ref})
	if err == nil || !strings.Contains(err.Error(), "no certificate transparency timestamp") {
		t.Fatalf("err = %v, want the missing SCT named", err)
	}
	if w.log.entries() != 0 {
		t.Errorf("a refused certificate made %d log entries", w.log.entries())
	}
}

// finder is what app gives WithSkipSigned: verify's signatures of a
// target that name the run's identity, read before the certificate is
// asked for.
func finder(w *world) sign.Finder {
	return func(ctx context.Context, t registry.Target, leaf func(context.Context) (*x509.Certificate, error)) (sign.Existing, error) {
		found, err := verify.Lookup(ctx, t, false)
		cert, lerr := leaf(ctx)
		if lerr != nil {
			return sign.Existing{}, lerr
		}
		v := must(verify.New(trustedFor(w), must(verify.NewPolicy(verify.WithSameIdentityAs(cert))), verify.WithBundleBytes()))
		sigs, _ := v.Check(found)
		var ex sign.Existing
		for _, s := range sigs {
			if !s.Passed {
				continue
			}
			found := &sign.Signature{Format: s.Format, Location: s.Location, Log: *s.Log}
			if s.Format == artifact.FormatBundle {
				ex.Bundle, ex.BundleJSON = found, s.BundleJSON
			} else {
				ex.Legacy = found
			}
		}
		return ex, err
	}
}

// TestSkipSigned: a second run of the same identity signs nothing anew; a
// run that finds the bundle in one repository of a digest attaches that
// bundle to the other with no new log entry; another identity signs.
func TestSkipSigned(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.referrers+"/org/app:v1", w.fallback+"/org/app:v1"
	push(t, 0, a, b)
	if _, err := newSigner(t, w).SignImages(t.Context(), []string{a}); err != nil {
		t.Fatal(err)
	}
	if n := w.log.entries(); n != 2 {
		t.Fatalf("first run: %d log entries, want 2", n)
	}
	images, err := newSigner(t, w, sign.WithSkipSigned(finder(w))).SignImages(t.Context(), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	// a: both already signed; b: the bundle attached from a, the legacy
	// signature new (its payload names b's repository).
	if n := w.log.entries(); n != 3 {
		t.Errorf("second run made %d new log entries, want 1 (b's legacy signature)", n-2)
	}
	for _, sg := range images[0].Signatures {
		if !sg.AlreadySigned || sg.Location == "" || sg.Log.LogID == "" {
			t.Errorf("a's %s signature %+v, want it found already signed", sg.Format, sg)
		}
	}
	if sg := images[1].Signatures[0]; sg.AlreadySigned || sg.Log != images[0].Signatures[0].Log || sg.ReadBack != sign.ReadBackReferrers {
		t.Errorf("b's bundle %+v, want a's bundle and log entry attached to b", sg)
	}
	if sg := images[1].Signatures[1]; sg.AlreadySigned || sg.ReadBack != sign.ReadBackLegacyTag {
		t.Errorf("b's legacy signature %+v, want a new one", sg)
	}
	verifyImages(t, w, artifact.FormatBundle, a, b)
	verifyImages(t, w, artifact.FormatLegacy, a, b)

	// A third run finds everything; a run as another identity does not.
	before := w.log.entries()
	if _, err := newSigner(t, w, sign.WithSkipSigned(finder(w))).SignImages(t.Context(), []string{a, b}); err != nil || w.log.entries() != before {
		t.Errorf("third run: %v, %d new log entries, want none", err, w.log.entries()-before)
	}
	leaf, priv, err := w.vs.GenerateLeafCert("someone-else@sigil.example", testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	fca := w.vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	other := newSigner(t, w, sign.WithSkipSigned(finder(w)), sign.WithKeypair(keypair{priv.(*ecdsa.PrivateKey)}),
		sign.WithCertificates(&certs{chain: append([]*x509.Certificate{leaf}, append(fca.Intermediates, fca.Root)...)}))
	if _, err := other.SignImages(t.Context(), []string{a}); err != nil || w.log.entries() != before+2 {
		t.Errorf("another identity: %v, %d new log entries, want 2", err, w.log.entries()-before)
	}
}

// TestSkipSignedCertificateFails: the certificate is requested while the
// finders read; when it fails, the run fails with its error (not the
// finders'), and nothing is logged or pushed.
func TestSkipSignedCertificateFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.referrers + "/org/app:v1"
	push(t, 0, a)
	want := errors.New("Fulcio at https://fulcio.example answered 503")
	c := &certs{err: want}
	_, err := newSigner(t, w, sign.WithSkipSigned(finder(w)), sign.WithCertificates(c)).SignImages(t.Context(), []string{a})
	if !errors.Is(err, want) {
		t.Fatalf("SignImages: %v, want the certificate's error %v", err, want)
	}
	if n := w.log.entries(); n != 0 || c.calls.Load() != 1 {
		t.Errorf("%d log entries, %d certificate requests; want none and one", n, c.calls.Load())
	}
}

// TestAttestImages attests a custom predicate about one digest in two
// repositories (one with the referrers API, one with the tag fallback), in
// both formats: one statement, logged once (the legacy .att reuses the
// entry, which carries the signed entry timestamp on Rekor v1), its
// subjects the digest in both repositories, found by verify in either
// format.
func TestAttestImages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	refs := []string{w.referrers + "/org/app:v1", w.fallback + "/org/app:v1"}
	digest := push(t, 0, refs...)
	const predicateType = testPredicateType
	s := newSigner(t, w, sign.WithPredicates(sign.Predicate{Type: predicateType, Kind: "custom", Source: "result.json", JSON: []byte(`{"passed": true}`), Images: refs}))
	images, err := s.SignImages(t.Context(), refs)
	if err != nil {
		t.Fatal(err)
	}
	var attLogs []int64
	for _, img := range images {
		if len(img.Attestations) != 2 || img.Attestations[0].Format != artifact.FormatBundle || img.Attestations[1].Format != artifact.FormatLegacy {
			t.Fatalf("%s: attestations %+v, want a bundle then a legacy one", img.Repository, img.Attestations)
		}
		for _, a := range img.Attestations {
			if a.PredicateType != predicateType || a.Location == "" || a.Error != "" {
				t.Errorf("%s: attestation %+v", img.Repository, a)
			}
			attLogs = append(attLogs, a.Log.Index)
		}
		att := img.Repository + ":sha256-" + strings.TrimPrefix(digest, "sha256:") + ".att"
		if img.Attestations[1].Location != att || img.Attestations[1].ReadBack != sign.ReadBackAttestationTag {
			t.Errorf("legacy attestation at %s via %s, want %s", img.Attestations[1].Location, img.Attestations[1].ReadBack, att)
		}
	}
	if slices.Sort(attLogs); slices.Compact(attLogs)[0] != attLogs[len(attLogs)-1] {
		t.Errorf("attestation log entries %v, want one shared by every format and repository", attLogs)
	}
	// 1 bundle signature for the digest, 1 legacy signature per repository,
	// 1 attestation.
	if n := w.log.entries(); n != 4 {
		t.Errorf("%d log entries, want 4", n)
	}
	for _, f := range []artifact.Format{artifact.FormatBundle, artifact.FormatLegacy} {
		pol, err := verify.NewPolicy(verify.WithCertificateIdentity(testSubject), verify.WithIssuer(testIssuer))
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify.New(trustedFor(w), pol, verify.WithFormat(f), verify.WithAttestations(predicateType))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := v.VerifyImages(t.Context(), refs); err != nil {
			t.Errorf("verify --format %s --attestations %s: %v\n%s", f, predicateType, err, r.Text())
		}
	}
}

// hookLog runs before once, ahead of the first entry it logs.
type hookLog struct {
	*virtualLog
	once   sync.Once
	before func()
}

func (l *hookLog) GetTransparencyLogEntry(ctx context.Context, certPEM []byte, b *protobundle.Bundle) error {
	l.once.Do(l.before)
	return l.virtualLog.GetTransparencyLogEntry(ctx, certPEM, b)
}

// TestSignLegacyTagMovedWhileLogging: the .sig tag is read, and the new
// signature's blobs uploaded, while its log entry is made; when another
// writer signs the image meanwhile, the tag is read again before it is
// written, and both signatures are kept.
func TestSignLegacyTagMovedWhileLogging(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("signed before: %v", existing), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			// The registry tells when the run's .sig tag is read (armed
			// for the run under test only).
			var armed atomic.Bool
			read := make(chan struct{})
			var readOnce sync.Once
			reg := newRegistry(false)
			host := serveRegistry(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				reg.ServeHTTP(rw, r)
				if armed.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256-") {
					readOnce.Do(func() { close(read) })
				}
			}))
			ref := host + "/org/app:v1"
			push(t, 0, ref)
			legacy := sign.WithFormat(artifact.FormatLegacy)
			want := 2
			if existing {
				if _, err := newSigner(t, w, legacy).SignImages(t.Context(), []string{ref}); err != nil {
					t.Fatal(err)
				}
				want = 3
			}
			other := newSigner(t, w, legacy)
			hook := &hookLog{virtualLog: w.log, before: func() {
				// Another run signs the image while this one's entry is
				// being made, after this one read the tag: what it read
				// is stale.
				select {
				case <-read:
				case <-time.After(time.Minute):
					t.Error("the .sig tag was not read while the entry was made")
				}
				armed.Store(false)
				if _, err := other.SignImages(t.Context(), []string{ref}); err != nil {
					t.Error(err)
				}
			}}
			l := sign.Log{Transparency: hook, URL: "https://rekor.virtual", Version: 1}
			armed.Store(true)
			if _, err := newSigner(t, w, legacy, sign.WithLegacyLog(l), sign.WithTransparencyLog(l)).SignImages(t.Context(), []string{ref}); err != nil {
				t.Fatal(err)
			}
			r := verifyImages(t, w, artifact.FormatLegacy, ref)
			n := 0
			for _, sg := range r.Artifacts[0].Signatures {
				if sg.Passed {
					n++
				}
			}
			if n != want {
				t.Errorf("%d legacy signatures, want %d:\n%s", n, want, r.Text())
			}
		})
	}
}

// countedGHCR is a GHCR stand-in (token auth, no referrers API) whose
// requests are counted, holding an image at each of refs.
type countedGHCR struct {
	counter *reqcount.Counter
	auth    registry.Auth
	kc      authn.Keychain
	// rt is the run's transport, pinging the registry once (as the app's).
	rt   http.RoundTripper
	opts []remote.Option
	refs []string
}

// newCountedGHCR serves a counted GHCR stand-in with a random image pushed
// to each of repoTags (repository:tag); the pushes are not counted.
func newCountedGHCR(t *testing.T, repoTags ...string) *countedGHCR {
	t.Helper()
	h, err := authregistry.GHCR{Policy: regtoken.Policy{User: "u", Password: "p"}}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	counter, counted := reqcount.Wrap(h, reqcount.RegistryKind)
	host := serveRegistry(t, counted)
	g := &countedGHCR{counter: counter, auth: registry.Auth{Credentials: []registry.Credential{{Host: host, Username: "u", Password: "p"}}}}
	if g.kc, err = g.auth.Keychain(); err != nil {
		t.Fatal(err)
	}
	for _, r := range repoTags {
		ref := host + "/" + r
		img, _ := random.Image(64, 1)
		if err := remote.Write(must(name.NewTag(ref)), img, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})); err != nil {
			t.Fatal(err)
		}
		g.refs = append(g.refs, ref)
	}
	g.rt = registry.OnePing(nil)
	if g.opts, err = registry.Reusing(registry.RemoteOptions(g.kc, g.rt, "test")); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	return g
}

// options are the signer options that read and write through g.
func (g *countedGHCR) options() []sign.Option {
	return []sign.Option{sign.WithRegistry(g.auth, g.opts...), sign.WithPushes(registry.NewPushes(g.kc, g.rt, "test"))}
}

// TestSignLegacyRequests signs images in three repositories of the GHCR
// stand-in (token auth, no referrers API) and counts the registry's
// requests: one ping for the run (OnePing); per repository one token
// for reading and one for pushing, however many images it holds; per image the resolve,
// the .sig tag read, two requests per blob (POST, then PUT with the
// bytes), the HEAD that finds the tag unmoved and the manifest PUT, then
// the read-back HEAD.
func TestSignLegacyRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := newCountedGHCR(t, "org/a:v1", "org/a:v2", "org/b:v1", "org/c:v1")
	s := newSigner(t, w, append(g.options(), sign.WithFormat(artifact.FormatLegacy))...)
	if _, err := s.SignImages(t.Context(), g.refs); err != nil {
		t.Fatal(err)
	}
	counts := g.counter.Counts()
	const repos, images = 3, 4
	want := map[string]int{
		"GET /v2/": 1, "GET /token": 2 * repos,
		"HEAD manifest": images,
		"GET .sig":      images,
		"POST uploads":  2 * images, "PUT uploads": 2 * images,
		"HEAD .sig": 2 * images, "PUT .sig": images,
	}
	if !maps.Equal(counts, want) {
		t.Errorf("requests %v, want %v", counts, want)
	}
}

// TestSignLegacyAttestationRequests attests one image in the legacy
// format on the GHCR stand-in and counts the registry's requests: the
// .att tag is read once, the attestation's layer and the new config are
// uploaded in two requests each (POST, then PUT with the bytes), with no
// HEAD asking for blobs first and no PATCH, and the manifest is put once.
func TestSignLegacyAttestationRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := newCountedGHCR(t, "org/app:v1")
	ref := g.refs[0]
	const predicateType = testPredicateType
	s := newSigner(t, w, append(g.options(), sign.WithFormat(artifact.FormatLegacy),
		sign.WithPredicates(sign.Predicate{Type: predicateType, Kind: "custom", Source: "result.json", JSON: []byte(`{"passed": true}`), Images: []string{ref}}))...)
	images, err := s.SignImages(t.Context(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	if a := images[0].Attestations; len(a) != 1 || a[0].Location == "" || a[0].Error != "" {
		t.Fatalf("attestations %+v, want one, written", a)
	}
	// The .sig and .att tags count together (".sig": a sha256- tag). The
	// signature: its tag read, two blobs, the HEAD that finds the tag
	// unmoved, the PUT, the read-back HEAD. The attestation: its tag read,
	// two blobs, the PUT, the read-back HEAD.
	want := map[string]int{
		"GET /v2/": 1, "GET /token": 2,
		"HEAD manifest": 1,
		"GET .sig":      2,
		"POST uploads":  4, "PUT uploads": 4,
		"HEAD .sig": 3, "PUT .sig": 2,
	}
	if counts := g.counter.Counts(); !maps.Equal(counts, want) {
		t.Errorf("requests %v, want %v", counts, want)
	}
	verifyAttestations(t, w, artifact.FormatLegacy, predicateType, []string{ref}, verify.WithRegistry(g.auth, g.opts...))
}

// verifyAttestations verifies refs' signatures and attestations of
// predicateType in format f.
func verifyAttestations(t *testing.T, w *world, f artifact.Format, predicateType string, refs []string, opts ...verify.Option) {
	t.Helper()
	pol, err := verify.NewPolicy(verify.WithCertificateIdentity(testSubject), verify.WithIssuer(testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(trustedFor(w), pol, append([]verify.Option{verify.WithFormat(f), verify.WithAttestations(predicateType)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := v.VerifyImages(t.Context(), refs); err != nil {
		t.Errorf("verify --format %s --attestations %s: %v\n%s", f, predicateType, err, r.Text())
	}
}

// refuseBlobUnknown answers as a registry refusing a manifest that names
// a blob it does not hold.
func refuseBlobUnknown(rw http.ResponseWriter) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusBadRequest)
	fmt.Fprint(rw, `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)
}

// TestSignLegacyTagBlobUnknown: when the registry refuses a .sig or .att
// manifest for a blob it does not hold (the tag named a layer it lost),
// the write falls back to go-containerregistry's writer, which uploads
// every missing blob, and the signature and attestation are there. The
// .sig is the one prepared while its log entry was made; the .att is
// written after its entry.
func TestSignLegacyTagBlobUnknown(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{".sig", ".att"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			reg := newRegistry(false)
			var puts atomic.Int32
			host := serveRegistry(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, suffix) && puts.Add(1) == 1 {
					refuseBlobUnknown(rw)
					return
				}
				reg.ServeHTTP(rw, r)
			}))
			ref := host + "/org/app:v1"
			push(t, 0, ref)
			const predicateType = testPredicateType
			s := newSigner(t, w, sign.WithFormat(artifact.FormatLegacy),
				sign.WithPredicates(sign.Predicate{Type: predicateType, Kind: "custom", Source: "result.json", JSON: []byte(`{"passed": true}`), Images: []string{ref}}))
			images, err := s.SignImages(t.Context(), []string{ref})
			if err != nil {
				t.Fatal(err)
			}
			if sg, a := images[0].Signatures, images[0].Attestations; len(sg) != 1 || sg[0].Location == "" || sg[0].Error != "" || len(a) != 1 || a[0].Location == "" || a[0].Error != "" {
				t.Fatalf("signatures %+v, attestations %+v, want one of each, written", sg, a)
			}
			if n := puts.Load(); n != 2 {
				t.Errorf("%d %s manifest PUTs, want 2 (refused, then go-containerregistry's)", n, suffix)
			}
			verifyAttestations(t, w, artifact.FormatLegacy, predicateType, []string{ref})
		})
	}
}

// countingLog counts the entries it makes.
type countingLog struct {
	*virtualLog
	n atomic.Int32
}

func (l *countingLog) GetTransparencyLogEntry(ctx context.Context, certPEM []byte, b *protobundle.Bundle) error {
	err := l.virtualLog.GetTransparencyLogEntry(ctx, certPEM, b)
	l.n.Add(1)
	return err
}

// TestSignLogsWhilePushing: at concurrency 1, the next image's log entry
// is made while the first image's signature is still being pushed (its
// manifest PUT held until then).
func TestSignLogsWhilePushing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	log := &countingLog{virtualLog: w.log}
	reg := newRegistry(false)
	var held atomic.Bool
	host := serveRegistry(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && held.CompareAndSwap(false, true) {
			deadline := time.Now().Add(time.Minute)
			for log.n.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if log.n.Load() < 2 {
				t.Error("the second image was not logged while the first one's signature was pushed")
			}
		}
		reg.ServeHTTP(rw, r)
	}))
	var refs []string
	for _, r := range []string{"org/a:v1", "org/b:v1", "org/c:v1"} {
		push(t, 0, host+"/"+r)
		refs = append(refs, host+"/"+r)
	}
	l := sign.Log{Transparency: log, URL: "https://rekor.virtual", Version: 1}
	s := newSigner(t, w, sign.WithFormat(artifact.FormatLegacy), sign.WithConcurrency(1), sign.WithLegacyLog(l), sign.WithTransparencyLog(l))
	if _, err := s.SignImages(t.Context(), refs); err != nil {
		t.Fatal(err)
	}
	verifyImages(t, w, artifact.FormatLegacy, refs...)
}

// TestSkipSignedBundleOfTwoRepositories: a digest whose bundle two
// repositories hold (only one keeps its bytes for the run) gets it
// attached in a third, with no new log entry.
func TestSkipSignedBundleOfTwoRepositories(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b, c := w.referrers+"/org/a:v1", w.fallback+"/org/b:v1", w.referrers+"/org/c:v1"
	push(t, 0, a, b, c)
	bundleOnly := sign.WithFormat(artifact.FormatBundle)
	if _, err := newSigner(t, w, bundleOnly).SignImages(t.Context(), []string{a, b}); err != nil {
		t.Fatal(err)
	}
	before := w.log.entries()
	images, err := newSigner(t, w, bundleOnly, sign.WithSkipSigned(finder(w))).SignImages(t.Context(), []string{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if n := w.log.entries() - before; n != 0 {
		t.Errorf("%d new log entries, want none", n)
	}
	// The same entry: a's and b's Log are read apart (IntegratedTime is
	// a pointer of each), and c's may come from either.
	if sg, a := images[2].Signatures[0], images[0].Signatures[0].Log; sg.AlreadySigned || sg.Log.String() != a.String() || sg.Log.LogID != a.LogID || sg.Location == "" {
		t.Errorf("c's bundle %+v, want a's (and b's) attached", sg)
	}
	verifyImages(t, w, artifact.FormatBundle, a, b, c)
}

// TestSignBundleRequests signs and attests images in the bundle format on
// the GHCR stand-in (no referrers API: the fallback tag) and counts the
// registry's requests. One ping for the run (OnePing). Per repository: one
// token for reading and one for pushing, and the empty config uploaded
// once. The
// referrers endpoint is asked once by the reads and once by the pushes,
// then remembered for the host (at concurrency 1, so that no two ask at
// once). Per image: the resolve, and for each of its two referrers the
// layer's POST and PUT, the manifest's PUT, the fallback tag's GET and
// PUT, and the read-back's GET of the tag; no HEAD, and no referrer's
// manifest or layer read back (its digest listed is enough).
func TestSignBundleRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := newCountedGHCR(t, "org/a:v1", "org/a:v2", "org/b:v1")
	const predicateType = testPredicateType
	s := newSigner(t, w, append(g.options(), sign.WithFormat(artifact.FormatBundle), sign.WithConcurrency(1),
		sign.WithPredicates(sign.Predicate{Type: predicateType, Kind: "custom", Source: "result.json", JSON: []byte(`{"passed": true}`), Images: g.refs}))...)
	images, err := s.SignImages(t.Context(), g.refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if sg, a := img.Signatures, img.Attestations; len(sg) != 1 || sg[0].ReadBack != sign.ReadBackReferrers || len(a) != 1 || a[0].ReadBack != sign.ReadBackReferrers {
			t.Fatalf("%s: signatures %+v, attestations %+v, want one of each, read back", img.Reference, sg, a)
		}
	}
	const repos, images3, referrers = 2, 3, 2 * 3
	want := map[string]int{
		"GET /v2/": 1, "GET /token": 2 * repos,
		"GET referrers": 2,
		"HEAD manifest": images3,
		"POST uploads":  referrers + repos, "PUT uploads": referrers + repos,
		"PUT manifest": referrers,
		"GET .sig":     2 * referrers, "PUT .sig": referrers,
	}
	if counts := g.counter.Counts(); !maps.Equal(counts, want) {
		t.Errorf("requests %v, want %v", counts, want)
	}
	verifyAttestations(t, w, artifact.FormatBundle, predicateType, g.refs, verify.WithRegistry(g.auth, g.opts...))
}

// TestSignReferrerBlobUnknown: when the registry refuses a referrer's
// manifest for a blob it does not hold (the empty config is uploaded once
// per repository, and a registry can lose it), the layer and config are
// uploaded again and the same manifest is put again; the bundle is there.
func TestSignReferrerBlobUnknown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := newRegistry(true)
	var puts, uploads atomic.Int32
	host := serveRegistry(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			uploads.Add(1)
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256:") && puts.Add(1) == 1 {
			refuseBlobUnknown(rw)
			return
		}
		reg.ServeHTTP(rw, r)
	}))
	ref := host + "/org/app:v1"
	push(t, 0, ref)
	uploads.Store(0)
	s := newSigner(t, w, sign.WithFormat(artifact.FormatBundle))
	images, err := s.SignImages(t.Context(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	if sg := images[0].Signatures; len(sg) != 1 || sg[0].Location == "" || sg[0].Error != "" {
		t.Fatalf("signatures %+v, want one, written", sg)
	}
	if p, u := puts.Load(), uploads.Load(); p != 2 || u != 4 {
		t.Errorf("%d manifest PUTs and %d uploads, want 2 and 4 (refused, then both blobs again)", p, u)
	}
	verifyImages(t, w, artifact.FormatBundle, ref)
}
