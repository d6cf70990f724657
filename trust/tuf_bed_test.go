package trust_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// These tests read the test bed's TUF repository (`make testbed`), which
// serves the bed's trusted root and signing configs under the public
// instance's target names and shapes.

func bedTUF(t *testing.T, e *tbenv.Env, mirror string) (*trust.TUF, error) {
	t.Helper()
	initial, err := os.ReadFile(e.TUFRoot)
	if err != nil {
		t.Fatal(err)
	}
	return trust.OpenTUF(t.Context(), trust.TUFOptions{MirrorURL: mirror, InitialRoot: initial, CacheDir: t.TempDir()})
}

// TestTUFOnBed reads the trusted root and both signing configs from the
// bed's repository and signs a file with each, as sigil's default does
// with no trust input.
func TestTUFOnBed(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	tu, err := bedTUF(t, e, e.TUFURL)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tu.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := trust.LoadTrustedRoot(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := summary(t, fromFile)
	if len(want) < 4 {
		t.Fatalf("the bed's trusted root names %v, want Fulcio, the TSA and two logs", want)
	}
	if diff := cmp.Diff(want, summary(t, tr)); diff != "" {
		t.Errorf("the TUF trusted root differs from %s (-file +TUF):\n%s", e.TrustedRoot, diff)
	}

	tsa := e.TSAURL + "/api/v1/timestamp"
	tests := []struct {
		name    string
		rekorV2 bool
		want    trust.Services
	}{
		{"signing_config.v0.2.json", false, trust.Services{FulcioURL: e.FulcioURL, RekorURL: e.RekorURL, RekorVersion: 1, LegacyRekorURL: e.RekorURL, TSAURLs: []string{tsa}}},
		{"signing_config_rekor_v2.v0.2.json", true, trust.Services{FulcioURL: e.FulcioURL, RekorURL: e.RekorV2URL, RekorVersion: 2, LegacyRekorURL: e.RekorURL, TSAURLs: []string{tsa}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc, err := tu.SigningConfig(tc.rekorV2)
			if err != nil {
				t.Fatal(err)
			}
			services, err := trust.SelectServices(trust.ServiceOptions{SigningConfig: sc}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, services); diff != "" {
				t.Fatalf("services (-want +got):\n%s", diff)
			}
			// The signer checks each new bundle against the trusted root
			// before it returns it.
			s, err := sign.New(
				sign.WithServices(services),
				sign.WithTrustedRoot(tr),
				sign.WithIdentityToken(func(context.Context) (string, error) {
					return e.IDToken(t, "sigstore", tbenv.Claims{"run_id": {tbenv.UniqueRunID(t)}}), nil
				}),
			)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "release.tar.gz")
			if err := os.WriteFile(file, []byte("release "+tc.name), 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := s.SignFiles(t.Context(), []string{file})
			if err != nil {
				t.Fatal(err)
			}
			if got := files[0].Log; got.URL != services.RekorURL || got.Version != int(services.RekorVersion) {
				t.Errorf("logged in %s (v%d), want %s (v%d)", got.URL, got.Version, services.RekorURL, services.RekorVersion)
			}
		})
	}
}

// TestTUFOnBedRefused reads the bed's two broken repositories.
func TestTUFOnBedRefused(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	tests := []struct {
		name, mirror, wantErr string
	}{
		{"expired timestamp", e.TUFExpiredURL, "the mirror serves expired metadata"},
		{"targets signed by a key the root does not name", e.TUFBadSigURL, "not signed by the keys the trusted TUF root names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := bedTUF(t, e, tc.mirror)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.mirror) {
				t.Errorf("err = %v, want one naming %s and saying %q", err, tc.mirror, tc.wantErr)
			}
		})
	}
}

// summary names what a trusted root trusts: each log by its key ID and URL,
// each CA and TSA by its URL and its root certificate's SHA-256.
func summary(t *testing.T, tr *root.TrustedRoot) map[string]string {
	t.Helper()
	m := map[string]string{}
	for id, l := range tr.RekorLogs() {
		m["tlog "+id] = l.BaseURL
	}
	for id, l := range tr.CTLogs() {
		m["ctlog "+id] = l.BaseURL
	}
	for _, a := range tr.FulcioCertificateAuthorities() {
		ca, ok := a.(*root.FulcioCertificateAuthority)
		if !ok {
			t.Fatalf("a CA of type %T", a)
		}
		sum := sha256.Sum256(ca.Root.Raw)
		m["ca "+ca.URI] = hex.EncodeToString(sum[:])
	}
	for _, a := range tr.TimestampingAuthorities() {
		tsa, ok := a.(*root.SigstoreTimestampingAuthority)
		if !ok {
			t.Fatalf("a TSA of type %T", a)
		}
		sum := sha256.Sum256(tsa.Root.Raw)
		m["tsa "+tsa.URI] = hex.EncodeToString(sum[:])
	}
	return m
}
