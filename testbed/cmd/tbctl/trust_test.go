package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// trustFixture is a directory with a CA chain (root, intermediate), a TSA
// chain (leaf, root) and log keys, as PEM files.
type trustFixture struct {
	dir                                  string
	caRoot, caInter, tsaLeaf, tsaRoot    *x509.Certificate
	rekorKey, ctKey                      *ecdsa.PublicKey
	rekor2Key                            ed25519.PublicKey
	caChain, tsaChain, rekor, rekor2, ct string
}

func newTrustFixture(t *testing.T) *trustFixture {
	t.Helper()
	f := &trustFixture{dir: t.TempDir()}
	notBefore := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cert := func(cn string, isCA bool, nb time.Time, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: nb, NotAfter: nb.Add(24 * time.Hour), IsCA: isCA, BasicConstraintsValid: true}
		if isCA {
			tmpl.KeyUsage = x509.KeyUsageCertSign
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	var rootKey, tsaRootKey crypto.Signer
	f.caRoot, rootKey = cert("ca root", true, notBefore, nil, nil)
	f.caInter, _ = cert("ca intermediate", true, notBefore.Add(time.Hour), f.caRoot, rootKey)
	f.tsaRoot, tsaRootKey = cert("tsa root", true, notBefore, nil, nil)
	f.tsaLeaf, _ = cert("tsa leaf", false, notBefore.Add(2*time.Hour), f.tsaRoot, tsaRootKey)

	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, blk := range blocks {
			b = append(b, pem.EncodeToMemory(blk)...)
		}
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certBlock := func(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }
	pubBlock := func(k crypto.PublicKey) *pem.Block {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	}
	f.caChain = write("ca.pem", certBlock(f.caInter), certBlock(f.caRoot))
	f.tsaChain = write("tsa.pem", certBlock(f.tsaLeaf), certBlock(f.tsaRoot))
	ec := func() *ecdsa.PublicKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &k.PublicKey
	}
	f.rekorKey, f.ctKey = ec(), ec()
	var err error
	if f.rekor2Key, _, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	f.rekor = write("rekor.pub", pubBlock(f.rekorKey))
	f.ct = write("ct.pub", pubBlock(f.ctKey))
	f.rekor2 = write("rekor2.pub", pubBlock(f.rekor2Key))
	return f
}

func TestTrustedRoot(t *testing.T) {
	t.Parallel()
	f := newTrustFixture(t)
	out := filepath.Join(f.dir, "trusted_root.json")
	since := "2020-01-01T00:00:00Z"
	if err := trustedRootCmd([]string{
		"--fulcio=url=http://fulcio,certificate-chain=" + f.caChain,
		"--rekor=url=http://rekor,public-key=" + f.rekor + ",start-time=" + since,
		"--rekor=url=http://rekor2,public-key=" + f.rekor2 + ",start-time=" + since + ",origin=127.0.0.1",
		"--tsa=url=http://tsa/api/v1/timestamp,certificate-chain=" + f.tsaChain,
		"--ctlog=url=http://ct/sigil,public-key=" + f.ct + ",start-time=" + since + ",end-time=2030-01-01T00:00:00Z",
		"--out=" + out,
	}); err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromPath(out)
	if err != nil {
		t.Fatalf("sigstore-go cannot read what trustedroot wrote: %v", err)
	}
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

	cas := tr.FulcioCertificateAuthorities()
	if len(cas) != 1 {
		t.Fatalf("%d CAs, want 1", len(cas))
	}
	ca := cas[0].(*root.FulcioCertificateAuthority)
	if !ca.Root.Equal(f.caRoot) || len(ca.Intermediates) != 1 || !ca.Intermediates[0].Equal(f.caInter) {
		t.Error("the CA's root and intermediates are not the chain's last certificate and the others")
	}
	if ca.URI != "http://fulcio" || !ca.ValidityPeriodStart.Equal(f.caRoot.NotBefore) || !ca.ValidityPeriodEnd.IsZero() {
		t.Errorf("CA %s valid %v to %v; want http://fulcio, from the root's NotBefore %v, open", ca.URI, ca.ValidityPeriodStart, ca.ValidityPeriodEnd, f.caRoot.NotBefore)
	}

	tsas := tr.TimestampingAuthorities()
	if len(tsas) != 1 {
		t.Fatalf("%d TSAs, want 1", len(tsas))
	}
	tsa := tsas[0].(*root.SigstoreTimestampingAuthority)
	if !tsa.Leaf.Equal(f.tsaLeaf) || !tsa.Root.Equal(f.tsaRoot) || len(tsa.Intermediates) != 0 {
		t.Error("the TSA's leaf and root are not the chain's first and last certificates")
	}
	// cosign v3.1.3 starts a TSA's validity at its leaf's NotBefore.
	if tsa.URI != "http://tsa/api/v1/timestamp" || !tsa.ValidityPeriodStart.Equal(f.tsaLeaf.NotBefore) {
		t.Errorf("TSA %s valid from %v; want http://tsa/api/v1/timestamp from the leaf's NotBefore %v", tsa.URI, tsa.ValidityPeriodStart, f.tsaLeaf.NotBefore)
	}

	der := func(k crypto.PublicKey) []byte {
		b, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rfc6962 := func(k crypto.PublicKey) string { s := sha256.Sum256(der(k)); return hex.EncodeToString(s[:]) }
	// A Rekor v2 log's ID is its checkpoint key ID (C2SP signed-note):
	// SHA-256 of the origin, a newline, the ed25519 type byte and the key.
	h := sha256.New()
	h.Write([]byte("127.0.0.1\n\x01"))
	h.Write(f.rekor2Key)
	rekor2ID := hex.EncodeToString(h.Sum(nil))

	type logView struct {
		URL, Hash, SigHash string
		Start, End         time.Time
	}
	view := func(m map[string]*root.TransparencyLog) map[string]logView {
		v := map[string]logView{}
		for id, l := range m {
			if hex.EncodeToString(l.ID) != id {
				t.Errorf("log %s carries the ID %x", id, l.ID)
			}
			v[id] = logView{l.BaseURL, l.HashFunc.String(), l.SignatureHashFunc.String(), l.ValidityPeriodStart, l.ValidityPeriodEnd}
		}
		return v
	}
	wantRekor := map[string]logView{
		rfc6962(f.rekorKey): {"http://rekor", "SHA-256", "SHA-256", start, time.Time{}},
		rekor2ID:            {"http://rekor2", "SHA-256", "SHA-512", start, time.Time{}},
	}
	if diff := cmp.Diff(wantRekor, view(tr.RekorLogs())); diff != "" {
		t.Errorf("Rekor logs (-want +got):\n%s", diff)
	}
	wantCT := map[string]logView{
		rfc6962(f.ctKey): {"http://ct/sigil", "SHA-256", "SHA-256", start, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(wantCT, view(tr.CTLogs())); diff != "" {
		t.Errorf("CT logs (-want +got):\n%s", diff)
	}
}

func TestSigningConfig(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "signing_config.json")
	svc := func(url, v string) string {
		return "url=" + url + ",api-version=" + v + ",start-time=2020-01-01T00:00:00Z,operator=op"
	}
	if err := signingConfigCmd([]string{
		"--fulcio=" + svc("http://fulcio", "1"), "--oidc-provider=" + svc("http://issuer", "1"),
		"--rekor=" + svc("http://rekor2", "2"), "--rekor=" + svc("http://rekor", "1"), "--rekor-config=ANY",
		"--tsa=" + svc("http://tsa/api/v1/timestamp", "1") + ",end-time=2030-01-01T00:00:00Z", "--tsa-config=EXACT:1",
		"--out=" + out,
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := root.NewSigningConfigFromJSON(b)
	if err != nil {
		t.Fatalf("sigstore-go cannot read what signingconfig wrote: %v", err)
	}
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(url string, v uint32) root.Service {
		return root.Service{URL: url, MajorAPIVersion: v, Operator: "op", ValidityPeriodStart: start}
	}
	tsa := s("http://tsa/api/v1/timestamp", 1)
	tsa.ValidityPeriodEnd = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		want, got any
	}{
		{"Fulcio", []root.Service{s("http://fulcio", 1)}, sc.FulcioCertificateAuthorityURLs()},
		{"OIDC providers", []root.Service{s("http://issuer", 1)}, sc.OIDCProviderURLs()},
		{"Rekor logs, in order", []root.Service{s("http://rekor2", 2), s("http://rekor", 1)}, sc.RekorLogURLs()},
		{"Rekor config", root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, sc.RekorLogURLsConfig()},
		{"TSAs", []root.Service{tsa}, sc.TimestampAuthorityURLs()},
		{"TSA config", root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_EXACT, Count: 1}, sc.TimestampAuthorityURLsConfig()},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestTrustSpecErrors(t *testing.T) {
	t.Parallel()
	f := newTrustFixture(t)
	out := "--out=" + filepath.Join(f.dir, "out.json")
	svc := "url=http://x,api-version=1,start-time=2020-01-01T00:00:00Z,operator=op"
	for _, tc := range []struct {
		name    string
		cmd     func([]string) error
		args    []string
		wantErr string
	}{
		{"no --out", trustedRootCmd, []string{"--fulcio=url=http://f,certificate-chain=" + f.caChain}, "--out is required"},
		{"log without start-time", trustedRootCmd, []string{out, "--rekor=url=http://r,public-key=" + f.rekor}, `missing key "start-time"`},
		{"unknown key", trustedRootCmd, []string{out, "--rekor=url=http://r,public-key=" + f.rekor + ",start-time=2020-01-01T00:00:00Z,orign=x"}, `unknown key "orign"`},
		{"key given twice", trustedRootCmd, []string{out, "--fulcio=url=http://f,url=http://g,certificate-chain=" + f.caChain}, `key "url" given twice`},
		{"not key=value", trustedRootCmd, []string{out, "--fulcio=url=http://f,certificate-chain"}, "is not KEY=VALUE"},
		{"bad time", trustedRootCmd, []string{out, "--ctlog=url=http://c,public-key=" + f.ct + ",start-time=yesterday"}, "start-time"},
		{"chain without certificates", trustedRootCmd, []string{out, "--tsa=url=http://t,certificate-chain=" + f.rekor}, "want only CERTIFICATE blocks"},
		{"TSA chain with a CA first", trustedRootCmd, []string{out, "--tsa=url=http://t,certificate-chain=" + f.caChain}, "leaf first"},
		{"key file not a key", trustedRootCmd, []string{out, "--rekor=url=http://r,public-key=" + f.caChain + ",start-time=2020-01-01T00:00:00Z"}, "no PEM PUBLIC KEY"},
		{"same log twice", trustedRootCmd, []string{out,
			"--rekor=url=http://r,public-key=" + f.rekor + ",start-time=2020-01-01T00:00:00Z",
			"--rekor=url=http://s,public-key=" + f.rekor + ",start-time=2020-01-01T00:00:00Z"}, "same ID"},
		{"rekor without config", signingConfigCmd, []string{out, "--rekor=" + svc}, "--rekor needs --rekor-config"},
		{"tsa without config", signingConfigCmd, []string{out, "--tsa=" + svc}, "--tsa needs --tsa-config"},
		{"bad selector", signingConfigCmd, []string{out, "--rekor=" + svc, "--rekor-config=SOME"}, "want ANY, ALL or EXACT:N"},
		{"EXACT without count", signingConfigCmd, []string{out, "--rekor=" + svc, "--rekor-config=EXACT"}, "want ANY, ALL or EXACT:N"},
		{"EXACT:0", signingConfigCmd, []string{out, "--rekor=" + svc, "--rekor-config=EXACT:0"}, "count above 0"},
		{"bad api-version", signingConfigCmd, []string{out, "--fulcio=url=http://x,api-version=v1,start-time=2020-01-01T00:00:00Z,operator=op"}, "api-version"},
		{"service without operator", signingConfigCmd, []string{out, "--fulcio=url=http://x,api-version=1,start-time=2020-01-01T00:00:00Z"}, `missing key "operator"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
