package trust

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/internal/testbed/tufrepo"
	"github.com/sigil-dev/sigil/setting"
)

// The services the two public signing configs name (sigstore/root-signing,
// targets/signing_config.v0.2.json and signing_config_rekor_v2.v0.2.json):
// the Rekor v2 one lists the v1 log too.
var (
	tufStart  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tufFulcio = root.Service{URL: "https://fulcio.example", MajorAPIVersion: 1, ValidityPeriodStart: tufStart}
	tufRekor1 = root.Service{URL: "https://rekor.example", MajorAPIVersion: 1, ValidityPeriodStart: tufStart}
	tufRekor2 = root.Service{URL: "https://log2025-1.rekor.example", MajorAPIVersion: 2, ValidityPeriodStart: tufStart}
	tufTSA    = root.Service{URL: "https://timestamp.example/api/v1/timestamp", MajorAPIVersion: 1, ValidityPeriodStart: tufStart}
)

func signingConfigJSON(t *testing.T, rekors ...root.Service) []byte {
	t.Helper()
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, []root.Service{tufFulcio}, nil, rekors, anyOne, []root.Service{tufTSA}, anyOne)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func trustedRootJSON(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256([]byte("log"))
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, map[string]*root.TransparencyLog{
		"log": {BaseURL: tufRekor1.URL, ID: id[:], ValidityPeriodStart: tufStart, HashFunc: crypto.SHA256, PublicKey: k.Public(), SignatureHashFunc: crypto.SHA256},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testRepo is an in-process TUF mirror whose content a test can swap.
type testRepo struct {
	keys    *tufrepo.Keys
	root    []byte
	targets map[string][]byte
	files   atomic.Pointer[tufrepo.Files]
	srv     *httptest.Server
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	keys, err := tufrepo.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, err := tufrepo.SignRoot(keys, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r := &testRepo{keys: keys, root: rootJSON, targets: map[string][]byte{
		TrustedRootTarget:          trustedRootJSON(t),
		SigningConfigTarget:        signingConfigJSON(t, tufRekor1),
		SigningConfigRekorV2Target: signingConfigJSON(t, tufRekor2, tufRekor1),
	}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.files.Load().ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.publish(t, func(*tufrepo.Spec) {})
	return r
}

// publish builds the repository again, as edit changes it.
func (r *testRepo) publish(t *testing.T, edit func(*tufrepo.Spec)) {
	t.Helper()
	s := tufrepo.Spec{Keys: r.keys, Root: r.root, Targets: r.targets, Version: 2, Expires: time.Now().Add(time.Hour)}
	edit(&s)
	files, err := tufrepo.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	r.files.Store(&files)
}

func (r *testRepo) options(t *testing.T) TUFOptions {
	return TUFOptions{MirrorURL: r.srv.URL, InitialRoot: r.root, CacheDir: t.TempDir()}
}

func TestTUF(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	tu, err := OpenTUF(t.Context(), r.options(t))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tu.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, l := range tr.RekorLogs() {
		urls = append(urls, l.BaseURL)
	}
	if diff := cmp.Diff([]string{tufRekor1.URL}, urls); diff != "" {
		t.Errorf("the trusted root's Rekor logs (-want +got):\n%s", diff)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		rekorV2 bool
		want    Services
	}{
		{"default: Rekor v1", false, Services{FulcioURL: tufFulcio.URL, RekorURL: tufRekor1.URL, RekorVersion: 1, LegacyRekorURL: tufRekor1.URL, TSAURLs: []string{tufTSA.URL}}},
		{"opt-in: Rekor v2, v1 kept for the legacy format", true, Services{FulcioURL: tufFulcio.URL, RekorURL: tufRekor2.URL, RekorVersion: 2, LegacyRekorURL: tufRekor1.URL, TSAURLs: []string{tufTSA.URL}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := tu.SigningConfig(tc.rekorV2)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SelectServices(ServiceOptions{SigningConfig: sc}, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTUFRefused checks that a repository that must not be trusted is
// refused, with an error that names the mirror and says why.
func TestTUFRefused(t *testing.T) {
	t.Parallel()
	rogue, err := tufrepo.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*tufrepo.Spec)
		wantErr string
	}{
		{"expired timestamp", func(s *tufrepo.Spec) { s.TimestampExpires = time.Now().Add(-time.Minute) }, "the mirror serves expired metadata"},
		{"expired targets", func(s *tufrepo.Spec) {
			s.Expires = time.Now().Add(-time.Minute)
			s.TimestampExpires = time.Now().Add(time.Hour)
		}, "the mirror serves expired metadata"},
		{"targets signed by a key the root does not name", func(s *tufrepo.Spec) { s.SignWith = map[string]crypto.Signer{"targets": rogue.Targets} }, "not signed by the keys the trusted TUF root names"},
		{"timestamp signed by a key the root does not name", func(s *tufrepo.Spec) { s.SignWith = map[string]crypto.Signer{"timestamp": rogue.Timestamp} }, "not signed by the keys the trusted TUF root names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			r.publish(t, tc.edit)
			_, err := fetchAll(t.Context(), r.options(t))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), r.srv.URL) {
				t.Errorf("err = %v, want one naming %s and saying %q", err, r.srv.URL, tc.wantErr)
			}
		})
	}
}

// fetchAll does what sigil does with no trust input: open the repository,
// read the trusted root and the signing config.
func fetchAll(ctx context.Context, o TUFOptions) (*root.SigningConfig, error) {
	tu, err := OpenTUF(ctx, o)
	if err != nil {
		return nil, err
	}
	if _, err := tu.TrustedRoot(); err != nil {
		return nil, err
	}
	return tu.SigningConfig(false)
}

func TestTUFErrors(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	other := newTestRepo(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	empty := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(empty.Close)
	noV2 := newTestRepo(t)
	delete(noV2.targets, SigningConfigRekorV2Target)
	noV2.publish(t, func(*tufrepo.Spec) {})

	tests := []struct {
		name        string
		opts        TUFOptions
		rekorV2     bool
		wantSetting setting.Setting // the setting at fault, if any
		wantErr     string
	}{
		{"another mirror needs its root", TUFOptions{MirrorURL: r.srv.URL, CacheDir: t.TempDir()}, false, setting.TUFRoot, "is not the public instance's"},
		{"another repository's root", TUFOptions{MirrorURL: r.srv.URL, InitialRoot: other.root, CacheDir: t.TempDir()}, false, setting.TUFRoot, "not signed by the keys the trusted TUF root names"},
		{"unreachable", TUFOptions{MirrorURL: closed.URL, InitialRoot: r.root, CacheDir: t.TempDir()}, false, setting.TUFMirror, "the mirror cannot be reached"},
		{"not a TUF repository", TUFOptions{MirrorURL: empty.URL, InitialRoot: r.root, CacheDir: t.TempDir()}, false, setting.TUFMirror, "answered HTTP 404"},
		{"unknown target", noV2.options(t), true, "", "does not distribute signing_config_rekor_v2.v0.2.json"},
		{"no cache directory", TUFOptions{MirrorURL: r.srv.URL, InitialRoot: r.root}, false, "", "needs a cache directory"},
		{"not an http URL", TUFOptions{MirrorURL: "file:///tmp/repo", InitialRoot: r.root, CacheDir: t.TempDir()}, false, setting.TUFMirror, `"file:///tmp/repo" is not an http(s) URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tu, err := OpenTUF(t.Context(), tc.opts)
			if err == nil {
				_, err = tu.SigningConfig(tc.rekorV2)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			var se *setting.Error
			if errors.As(err, &se) != (tc.wantSetting != "") || se != nil && se.Setting != tc.wantSetting {
				t.Errorf("err = %#v, want it to name the setting %q", err, tc.wantSetting)
			}
		})
	}
}

// TestTUFCache checks that the cache stays in CacheDir and that every
// OpenTUF refreshes it: a changed target is read, and older metadata than
// the cache holds is refused as a rollback.
func TestTUFCache(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	opts := r.options(t)
	if _, err := fetchAll(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(opts.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// One directory per mirror, and sigstore-go's record of the last
	// refresh beside it.
	mirrorDir := strings.NewReplacer(":", "-", "/", "-").Replace(strings.TrimPrefix(r.srv.URL, "http://"))
	if diff := cmp.Diff([]string{mirrorDir, mirrorDir + ".json"}, names); diff != "" {
		t.Errorf("cache directory (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(opts.CacheDir, mirrorDir, "timestamp.json")); err != nil {
		t.Errorf("the verified timestamp was not cached: %v", err)
	}

	r.targets[SigningConfigTarget] = signingConfigJSON(t, tufRekor2, tufRekor1)
	r.publish(t, func(s *tufrepo.Spec) { s.Version = 3 })
	sc, err := fetchAll(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sc.RekorLogURLs()); n != 2 {
		t.Errorf("after the mirror changed, the signing config lists %d logs, want the new config's 2", n)
	}

	r.publish(t, func(s *tufrepo.Spec) { s.Version = 1 })
	if _, err := fetchAll(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "older than what this client verified before") {
		t.Errorf("rollback: err = %v, want it refused", err)
	}
}
