package selftest

import (
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// since is the validity start testbed/up.sh gives the logs and services.
const since = "2020-01-01T00:00:00Z"

// TestTrustFilesAsCosignWritesThem proves that the trust files the bed
// writes with sigstore-go (tbctl trustedroot, tbctl signingconfig) are what
// cosign v3.1.3's `trusted-root create` and `signing-config create` write
// from the same services: cosign writes them again here from the bed's env
// file, and sigstore-go must read the same from both — the same CAs, logs
// (IDs, keys, URLs, validity; Rekor v2's checkpoint key ID for origin
// 127.0.0.1), CT log, TSA and services in the same order.
func TestTrustFilesAsCosignWritesThem(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	c := newCosign(t, e)
	dir := t.TempDir()
	tsa := e.TSAURL + "/api/v1/timestamp"

	t.Run("trusted root", func(t *testing.T) {
		out := filepath.Join(dir, "trusted_root.json")
		c.mustRun(t, e.Cosign3, nil, "trusted-root", "create",
			"--fulcio=url="+e.FulcioURL+",certificate-chain="+e.FulcioRoot,
			"--rekor=url="+e.RekorURL+",public-key="+e.RekorPubKey+",start-time="+since,
			"--rekor=url="+e.RekorV2URL+",public-key="+e.RekorV2PubKey+",start-time="+since+",origin=127.0.0.1",
			"--tsa=url="+tsa+",certificate-chain="+e.TSAChain,
			"--ctfe=url="+e.CTLogURL+",public-key="+e.CTLogPubKey+",start-time="+since,
			"--out="+out)
		want, got := readRoot(t, out), readRoot(t, e.TrustedRoot)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s differs from cosign's (-cosign +bed):\n%s", e.TrustedRoot, diff)
		}
		if len(got.Rekor) != 2 || len(got.CT) != 1 || len(got.CAs) != 1 || len(got.TSAs) != 1 {
			t.Errorf("the bed's trusted root has %d Rekor logs, %d CT logs, %d CAs, %d TSAs; want 2, 1, 1, 1", len(got.Rekor), len(got.CT), len(got.CAs), len(got.TSAs))
		}
	})

	svc := func(url string, v string) string {
		return "url=" + url + ",api-version=" + v + ",start-time=" + since + ",operator=sigil-testbed"
	}
	fulcio, oidc := "--fulcio="+svc(e.FulcioURL, "1"), "--oidc-provider="+svc(e.Issuer, "1")
	rekor1, rekor2 := "--rekor="+svc(e.RekorURL, "1"), "--rekor="+svc(e.RekorV2URL, "2")
	tsaFlag := "--tsa=" + svc(tsa, "1")
	for _, tc := range []struct {
		name, file string
		args       []string
	}{
		{"Rekor v1", e.SigningConfig, []string{fulcio, rekor1, "--rekor-config=ANY"}},
		{"Rekor v2", e.SigningConfigV2, []string{fulcio, rekor2, "--rekor-config=ANY", tsaFlag, "--tsa-config=ANY"}},
		// The TUF repository's targets, as up.sh writes them before
		// signing them into the repository.
		{"TUF Rekor v1", filepath.Join(e.Dir, "state", "tuf-targets", "signing_config.v0.2.json"),
			[]string{fulcio, oidc, rekor1, "--rekor-config=ANY", tsaFlag, "--tsa-config=ANY"}},
		{"TUF Rekor v2", filepath.Join(e.Dir, "state", "tuf-targets", "signing_config_rekor_v2.v0.2.json"),
			[]string{fulcio, oidc, rekor2, rekor1, "--rekor-config=ANY", tsaFlag, "--tsa-config=ANY"}},
	} {
		t.Run("signing config "+tc.name, func(t *testing.T) {
			out := filepath.Join(dir, filepath.Base(tc.file))
			c.mustRun(t, e.Cosign3, nil, append(append([]string{"signing-config", "create"}, tc.args...), "--out="+out)...)
			want, got := readSigningConfig(t, out), readSigningConfig(t, tc.file)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s differs from cosign's (-cosign +bed):\n%s", tc.file, diff)
			}
		})
	}
}

// trustedRoot is what sigstore-go reads from a trusted root, certificates
// and keys as DER in hex.
type trustedRoot struct {
	CAs, TSAs []authority
	Rekor, CT map[string]tlog
}

type authority struct {
	URI                   string
	Root, Leaf            string
	Intermediates         []string
	ValidFrom, ValidUntil time.Time
}

type tlog struct {
	URL                   string
	ID, PublicKey         string
	Hash, SignatureHash   string
	ValidFrom, ValidUntil time.Time
}

func readRoot(t *testing.T, path string) trustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		t.Fatalf("sigstore-go reading %s: %v", path, err)
	}
	der := func(c *x509.Certificate) string {
		if c == nil {
			return ""
		}
		return hex.EncodeToString(c.Raw)
	}
	ders := func(cs []*x509.Certificate) []string {
		var s []string
		for _, c := range cs {
			s = append(s, der(c))
		}
		return s
	}
	var r trustedRoot
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok {
			t.Fatalf("%s: a CA of type %T", path, ca)
		}
		r.CAs = append(r.CAs, authority{URI: f.URI, Root: der(f.Root), Intermediates: ders(f.Intermediates),
			ValidFrom: f.ValidityPeriodStart, ValidUntil: f.ValidityPeriodEnd})
	}
	for _, ta := range tr.TimestampingAuthorities() {
		s, ok := ta.(*root.SigstoreTimestampingAuthority)
		if !ok {
			t.Fatalf("%s: a TSA of type %T", path, ta)
		}
		r.TSAs = append(r.TSAs, authority{URI: s.URI, Root: der(s.Root), Leaf: der(s.Leaf), Intermediates: ders(s.Intermediates),
			ValidFrom: s.ValidityPeriodStart, ValidUntil: s.ValidityPeriodEnd})
	}
	logs := func(m map[string]*root.TransparencyLog) map[string]tlog {
		out := map[string]tlog{}
		for id, l := range m {
			pub, err := x509.MarshalPKIXPublicKey(l.PublicKey)
			if err != nil {
				t.Fatalf("%s: log %s: %v", path, id, err)
			}
			out[id] = tlog{URL: l.BaseURL, ID: hex.EncodeToString(l.ID), PublicKey: hex.EncodeToString(pub),
				Hash: l.HashFunc.String(), SignatureHash: l.SignatureHashFunc.String(),
				ValidFrom: l.ValidityPeriodStart, ValidUntil: l.ValidityPeriodEnd}
		}
		return out
	}
	r.Rekor, r.CT = logs(tr.RekorLogs()), logs(tr.CTLogs())
	return r
}

// signingConfig is what sigstore-go reads from a signing config.
type signingConfig struct {
	Fulcio, OIDC, Rekor, TSA []root.Service
	RekorConfig, TSAConfig   root.ServiceConfiguration
}

func readSigningConfig(t *testing.T, path string) signingConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := root.NewSigningConfigFromJSON(b)
	if err != nil {
		t.Fatalf("sigstore-go reading %s: %v", path, err)
	}
	return signingConfig{
		Fulcio: sc.FulcioCertificateAuthorityURLs(), OIDC: sc.OIDCProviderURLs(),
		Rekor: sc.RekorLogURLs(), TSA: sc.TimestampAuthorityURLs(),
		RekorConfig: sc.RekorLogURLsConfig(), TSAConfig: sc.TimestampAuthorityURLsConfig(),
	}
}
