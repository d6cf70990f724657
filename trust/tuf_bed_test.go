package trust_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	if diff := cmp.Diff(jsonOf(t, fromFile), jsonOf(t, tr)); diff != "" {
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
			if got := files[0].Log; got.URL != services.RekorURL || got.Version != services.RekorVersion {
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

func jsonOf(t *testing.T, v json.Marshaler) string {
	t.Helper()
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
