package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
)

func writeConfig(t *testing.T, rekors []root.Service, tsas []root.Service) string {
	t.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: "http://127.0.0.1:1/fulcio", MajorAPIVersion: 1, ValidityPeriodStart: start}},
		nil,
		rekors, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		tsas, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSelectServices(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	v1 := root.Service{URL: "http://127.0.0.1:2/rekor", MajorAPIVersion: 1, ValidityPeriodStart: start}
	v2 := root.Service{URL: "http://127.0.0.1:3/rekor2", MajorAPIVersion: 2, ValidityPeriodStart: start}
	tsa := root.Service{URL: "http://127.0.0.1:4/api/v1/timestamp", MajorAPIVersion: 1, ValidityPeriodStart: start}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		opts    ServiceOptions
		want    Services
		wantErr string
	}{
		{name: "nothing given", opts: ServiceOptions{}, want: Services{}},
		{name: "rekor v1 config", opts: ServiceOptions{SigningConfigPath: writeConfig(t, []root.Service{v1}, nil)},
			want: Services{FulcioURL: "http://127.0.0.1:1/fulcio", RekorURL: v1.URL, RekorVersion: 1, LegacyRekorURL: v1.URL}},
		{name: "rekor v2 and tsa", opts: ServiceOptions{SigningConfigPath: writeConfig(t, []root.Service{v2}, []root.Service{tsa})},
			want: Services{FulcioURL: "http://127.0.0.1:1/fulcio", RekorURL: v2.URL, RekorVersion: 2, TSAURLs: []string{tsa.URL}}},
		{name: "v2 for bundles, v1 kept for legacy", opts: ServiceOptions{SigningConfigPath: writeConfig(t, []root.Service{v1, v2}, []root.Service{tsa})},
			want: Services{FulcioURL: "http://127.0.0.1:1/fulcio", RekorURL: v2.URL, RekorVersion: 2, LegacyRekorURL: v1.URL, TSAURLs: []string{tsa.URL}}},
		{name: "explicit URLs win", opts: ServiceOptions{SigningConfigPath: writeConfig(t, []root.Service{v2}, []root.Service{tsa}), FulcioURL: "http://127.0.0.1:9", RekorURL: "http://127.0.0.1:8"},
			want: Services{FulcioURL: "http://127.0.0.1:9", RekorURL: "http://127.0.0.1:8", RekorVersion: 1, LegacyRekorURL: "http://127.0.0.1:8", TSAURLs: []string{tsa.URL}}},
		{name: "rekor v2 without tsa", opts: ServiceOptions{SigningConfigPath: writeConfig(t, []root.Service{v2}, nil)},
			want: Services{FulcioURL: "http://127.0.0.1:1/fulcio", RekorURL: v2.URL, RekorVersion: 2}},
		{name: "missing config", opts: ServiceOptions{SigningConfigPath: "/nonexistent/signing_config.json"}, wantErr: "signing-config: reading /nonexistent"},
		{name: "bad url", opts: ServiceOptions{FulcioURL: "ftp://x"}, wantErr: "fulcio-url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := SelectServices(tc.opts, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadTrustedRootErrors(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "tr.json")
	os.WriteFile(p, []byte(`{"mediaType": "nope"`), 0o644)
	if _, err := LoadTrustedRoot(p); err == nil || !strings.Contains(err.Error(), "not a Sigstore trusted root") {
		t.Errorf("garbled trusted root: %v", err)
	}
	if _, err := LoadTrustedRoot(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing trusted root was accepted")
	}
}
