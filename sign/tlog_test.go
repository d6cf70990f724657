package sign

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	tilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/trust"
)

func TestNewLogRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url     string
		version int
		want    string
	}{
		{"ftp://rekor", 1, "rekor-url"},
		{"http://", 1, "rekor-url"},
		{"http://127.0.0.1:1", 3, "sigil speaks 1 and 2"},
	} {
		if _, err := newLog(tc.url, tc.version, http.DefaultTransport); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newLog(%q, %d): err = %v, want %q", tc.url, tc.version, err, tc.want)
		}
	}
}

func TestRekorV2Writer(t *testing.T) {
	t.Parallel()
	tle, err := protojson.Marshal(&protorekor.TransparencyLogEntry{LogIndex: 42, KindVersion: &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		status  int
		body    string
		entry   any
		want    string
		wantIdx int64
	}{
		{name: "created", status: http.StatusCreated, body: string(tle), entry: &tilespb.HashedRekordRequestV002{}, wantIdx: 42},
		{name: "conflict", status: http.StatusConflict, body: "an equivalent entry already exists", entry: &tilespb.HashedRekordRequestV002{}, want: "409 Conflict: an equivalent entry already exists"},
		{name: "garbled", status: http.StatusCreated, body: "{not json", entry: &tilespb.HashedRekordRequestV002{}, want: "not a transparency log entry"},
		{name: "other kind", entry: "dsse", want: "only hashedrekord"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.URL.Path != "/api/v2/log/entries" || r.Method != http.MethodPost || !strings.Contains(string(b), "hashedRekordRequestV002") {
					t.Errorf("%s %s %s", r.Method, r.URL.Path, b)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			w := rekorV2Writer{url: srv.URL + "/api/v2/log/entries", client: srv.Client()}
			got, err := w.Add(t.Context(), tc.entry)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || got.GetLogIndex() != tc.wantIdx {
				t.Fatalf("Add = %v, %v", got, err)
			}
		})
	}
}

// TestDefaultServices builds a Signer from the services alone, as the app
// does: Fulcio for the certificate, Rekor for the log. A log that fails
// fails the signature, naming the log.
func TestDefaultServices(t *testing.T) {
	t.Parallel()
	clock := time.Now
	fulcioSrv := httptest.NewServer(&fakeFulcio{now: clock})
	t.Cleanup(fulcioSrv.Close)
	for _, v := range []uint32{1, 2} {
		rekor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the log is down", http.StatusServiceUnavailable)
		}))
		t.Cleanup(rekor.Close)
		tokens := 0
		s, err := New(
			WithServices(trust.Services{FulcioURL: fulcioSrv.URL, RekorURL: rekor.URL, RekorVersion: v, LegacyRekorURL: rekor.URL, TSAURLs: []string{rekor.URL + "/api/v1/timestamp"}}),
			WithTrustedRoot(&root.BaseTrustedMaterial{}),
			WithIdentityToken(func(context.Context) (string, error) { tokens++; return token("repo:org/app"), nil }),
			WithTransport(http.DefaultTransport),
			WithClock(clock),
			WithFormat(artifact.FormatBundle),
		)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.certs.Chain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if s.CertificateRequests() != 1 || tokens != 1 {
			t.Errorf("Rekor v%d: %d certificate requests, %d tokens; want 1 and 1", v, s.CertificateRequests(), tokens)
		}
		_, err = s.sign(t.Context(), &sgsign.PlainData{Data: []byte("x")}, s.tlog, nil)
		if err == nil || !strings.Contains(err.Error(), "Rekor v") || !strings.Contains(err.Error(), rekor.URL) {
			t.Errorf("Rekor v%d down: err = %v, want it to name the log", v, err)
		}
		if len(s.tsas) != 1 {
			t.Errorf("%d timestamp authorities, want the one of the services", len(s.tsas))
		}
	}
}
