package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/trust"
)

// fakeFulcio answers signing-certificate requests with a fresh certificate
// valid for ten minutes from now(), or with status and message.
type fakeFulcio struct {
	now      func() time.Time
	status   int
	message  string
	requests atomic.Int32
	tokens   []string
	mu       sync.Mutex
}

func (f *fakeFulcio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	var req fulcioRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/api/v2/signingCert" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.tokens = append(f.tokens, req.Credentials.OIDCIdentityToken)
	f.mu.Unlock()
	if f.status != 0 {
		w.WriteHeader(f.status)
		json.NewEncoder(w).Encode(map[string]any{"code": f.status, "message": f.message})
		return
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigil test"},
		NotBefore: f.now(), NotAfter: f.now().Add(10 * time.Minute),
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": []string{leaf, leaf}}}})
}

func token(sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"sub":"`+sub+`","iss":"https://issuer"}`)) + ".c2ln"
}

func newTestFulcio(t *testing.T, srv *fakeFulcio, now func() time.Time, tok func(context.Context) (string, error)) *fulcio {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fulcio{url: hs.URL, client: hs.Client(), token: tok, now: now, keypair: kp}
}

func TestFulcioOneCertificatePerRun(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	srv := &fakeFulcio{now: now}
	var tokens atomic.Int32
	f := newTestFulcio(t, srv, now, func(context.Context) (string, error) {
		return token("repo:org/app:ref:refs/tags/v" + string(rune('0'+tokens.Add(1)))), nil
	})
	// Many signatures at once share one certificate.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Chain(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := srv.requests.Load(); got != 1 || tokens.Load() != 1 {
		t.Fatalf("%d certificate requests and %d tokens for one run, want 1 and 1", got, tokens.Load())
	}
	chain, err := f.Chain(t.Context())
	if err != nil || len(chain) != 2 {
		t.Fatalf("chain of %d certificates (%v), want leaf and root", len(chain), err)
	}
	// Still valid a while later: no new request.
	mu.Lock()
	clock = clock.Add(7 * time.Minute)
	mu.Unlock()
	f.Chain(t.Context())
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("renewed too early: %d requests", got)
	}
	// A run that outlives the certificate gets a new one, with a new token.
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	f.Chain(t.Context())
	if got := srv.requests.Load(); got != 2 || tokens.Load() != 2 || f.requests != 2 {
		t.Fatalf("after expiry: %d requests, %d tokens, want 2 and 2", got, tokens.Load())
	}
	if srv.tokens[0] == srv.tokens[1] {
		t.Errorf("the renewal reused the first token")
	}
}

func TestFulcioErrors(t *testing.T) {
	t.Parallel()
	now := time.Now
	tests := []struct {
		name    string
		srv     *fakeFulcio
		token   func(context.Context) (string, error)
		want    []string
		notWant string
	}{
		{
			name:  "fulcio refuses",
			srv:   &fakeFulcio{now: now, status: http.StatusUnauthorized, message: "error processing the identity token"},
			token: func(context.Context) (string, error) { return token("sub"), nil },
			want:  []string{"Fulcio", "refused", "401", "error processing the identity token"},
		},
		{
			name: "token source fails",
			srv:  &fakeFulcio{now: now},
			token: func(context.Context) (string, error) {
				return "", errors.New("the job needs permissions: id-token: write")
			},
			want: []string{"id-token: write"},
		},
		{
			name:    "not a JWT",
			srv:     &fakeFulcio{now: now},
			token:   func(context.Context) (string, error) { return "s3cr3t-not-a-jwt", nil },
			want:    []string{"not a JWT"},
			notWant: "s3cr3t",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newTestFulcio(t, tc.srv, now, tc.token)
			_, err := f.Chain(t.Context())
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestOptionsConflicts(t *testing.T) {
	t.Parallel()
	// makeOptions only checks options; trust material is not dereferenced.
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"nothing", nil, "no Fulcio URL"},
		{"legacy on rekor v2", []Option{WithFormat(artifact.FormatBoth)}, "legacy"},
		{"annotations without legacy", []Option{WithFormat(artifact.FormatBundle), WithAnnotations(map[string]string{"a": "b"})}, "annotations"},
		{"zero concurrency", []Option{WithConcurrency(0)}, "concurrency"},
		{"rekor v2 without a timestamp authority", []Option{WithServices(trust.Services{FulcioURL: "http://127.0.0.1:1", RekorURL: "http://127.0.0.1:2", RekorVersion: 2})}, "tsa-url: Rekor v2 gives no signing time"},
		{"unknown format", []Option{WithFormat("sbom")}, `format: "sbom": want both, bundle or legacy`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
