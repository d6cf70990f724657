package selftest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// workflows are the identities the tests sign as: the stand-in's defaults
// and overrides of each claim that reaches the certificate.
var workflows = []struct {
	name   string
	claims tbenv.Claims
	// identity is the SAN Fulcio must write.
	identity string
	// ext are the certificate extensions Fulcio must write.
	ext certificate.Extensions
}{
	{
		name:     "defaults",
		identity: "https://github.com/sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		ext: certificate.Extensions{
			GithubWorkflowTrigger:               "push",
			GithubWorkflowSHA:                   "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
			GithubWorkflowName:                  "Release",
			GithubWorkflowRepository:            "sigil-dev/demo",
			GithubWorkflowRef:                   "refs/tags/v1.0.0",
			BuildSignerURI:                      "https://github.com/sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
			RunnerEnvironment:                   "github-hosted",
			SourceRepositoryURI:                 "https://github.com/sigil-dev/demo",
			SourceRepositoryRef:                 "refs/tags/v1.0.0",
			SourceRepositoryVisibilityAtSigning: "public",
		},
	},
	{
		name: "overrides",
		claims: tbenv.Claims{
			"repository":            {"other-org/app"},
			"workflow_path":         {".github/workflows/ci.yaml"},
			"workflow":              {"CI"},
			"ref":                   {"refs/heads/main"},
			"sha":                   {"0123456789abcdef0123456789abcdef01234567"},
			"event_name":            {"workflow_dispatch"},
			"repository_visibility": {"private"},
			"runner_environment":    {"self-hosted"},
			"run_id":                {"123"},
			"run_attempt":           {"2"},
		},
		identity: "https://github.com/other-org/app/.github/workflows/ci.yaml@refs/heads/main",
		ext: certificate.Extensions{
			GithubWorkflowTrigger:               "workflow_dispatch",
			GithubWorkflowSHA:                   "0123456789abcdef0123456789abcdef01234567",
			GithubWorkflowName:                  "CI",
			GithubWorkflowRepository:            "other-org/app",
			GithubWorkflowRef:                   "refs/heads/main",
			BuildSignerURI:                      "https://github.com/other-org/app/.github/workflows/ci.yaml@refs/heads/main",
			RunnerEnvironment:                   "self-hosted",
			SourceRepositoryURI:                 "https://github.com/other-org/app",
			SourceRepositoryRef:                 "refs/heads/main",
			SourceRepositoryVisibilityAtSigning: "private",
			RunInvocationURI:                    "https://github.com/other-org/app/actions/runs/123/attempts/2",
		},
	},
}

// TestToken checks the stand-in's tokens as Fulcio reads them: discovery,
// JWKS, RS256 signature, audience, and the workflow claims.
func TestToken(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	for _, w := range workflows {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			runID := tbenv.UniqueRunID(t)
			claims := tbenv.Claims{"run_id": {runID}}
			for k, v := range w.claims {
				if k != "run_id" {
					claims[k] = v
				}
			}
			tok := e.IDToken(t, "sigstore", claims)
			ctx := oidc.ClientContext(t.Context(), http.DefaultClient)
			p, err := oidc.NewProvider(ctx, e.Issuer)
			if err != nil {
				t.Fatalf("OIDC discovery at %s: %v", e.Issuer, err)
			}
			idt, err := p.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, tok)
			if err != nil {
				t.Fatalf("verifying the token: %v", err)
			}
			var got struct {
				JobWorkflowRef string `json:"job_workflow_ref"`
				Repository     string `json:"repository"`
				RunID          string `json:"run_id"`
			}
			if err := idt.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if want := w.identity; "https://github.com/"+got.JobWorkflowRef != want {
				t.Errorf("job_workflow_ref = %q, want the identity %q", got.JobWorkflowRef, want)
			}
			if got.RunID != runID {
				t.Errorf("run_id = %q, want %q", got.RunID, runID)
			}
			if n := e.TokensMinted(t, runID); n != 1 {
				t.Errorf("TokensMinted(%s) = %d, want 1", runID, n)
			}
		})
	}
}

// TestFulcioCertificate trades tokens for certificates through
// sigstore-go's Fulcio client and checks the identity they carry, their
// chain to the bed's root, and their embedded SCT: signed by the bed's CT
// log, as the trusted root lists it, which has logged each certificate.
func TestFulcioCertificate(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	tr, err := root.NewTrustedRootFromPath(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tr.CTLogs()); n != 1 {
		t.Fatalf("the trusted root lists %d CT logs, want the bed's one", n)
	}
	roots := x509.NewCertPool()
	pemRoot, err := os.ReadFile(e.FulcioRoot)
	if err != nil {
		t.Fatal(err)
	}
	if !roots.AppendCertsFromPEM(pemRoot) {
		t.Fatalf("%s holds no certificate", e.FulcioRoot)
	}
	before, logged := e.CertificatesIssued(t), ctTreeSize(t, e)
	t.Run("issue", func(t *testing.T) {
		for _, w := range workflows {
			t.Run(w.name, func(t *testing.T) {
				t.Parallel()
				checkCertificate(t, e, tr, roots, w.claims, w.identity, w.ext)
			})
		}
	})
	if after := e.CertificatesIssued(t); after < before+len(workflows) {
		t.Errorf("fulcio_new_certs went from %d to %d, want at least %d more", before, after, len(workflows))
	}
	// An SCT promises inclusion; Trillian's signer merges the
	// precertificates within a moment (it sequences every 100 ms).
	want := logged + uint64(len(workflows))
	deadline := time.Now().Add(30 * time.Second)
	for ctTreeSize(t, e) < want && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if got := ctTreeSize(t, e); got < want {
		t.Errorf("the CT log holds %d entries 30s after issuing; want at least %d (%d before, %d precertificates since)", got, want, logged, len(workflows))
	}
}

// ctTreeSize reads the size of the CT log's tree from its get-sth (RFC
// 6962, section 4.3).
func ctTreeSize(t *testing.T, e *tbenv.Env) uint64 {
	t.Helper()
	resp, err := http.Get(e.CTLogURL + "/ct/v1/get-sth")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/ct/v1/get-sth: status %d, %v: %.200s", e.CTLogURL, resp.StatusCode, err, b)
	}
	var sth struct {
		TreeSize *uint64 `json:"tree_size"`
	}
	if err := json.Unmarshal(b, &sth); err != nil || sth.TreeSize == nil {
		t.Fatalf("get-sth answered no tree size (%v): %.200s", err, b)
	}
	return *sth.TreeSize
}

// oidSCTList is the embedded SCT list extension (RFC 6962, section 3.3).
var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

func checkCertificate(t *testing.T, e *tbenv.Env, tr root.TrustedMaterial, roots *x509.CertPool, claims tbenv.Claims, identity string, ext certificate.Extensions) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	fulcio := sign.NewFulcio(&sign.FulcioOptions{BaseURL: e.FulcioURL, Timeout: 30 * time.Second})
	der, err := fulcio.GetCertificate(t.Context(), kp, &sign.CertificateProviderOptions{IDToken: e.IDToken(t, "sigstore", claims)})
	if err != nil {
		t.Fatalf("Fulcio refused the stand-in's token: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: cert.NotBefore,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	if err != nil {
		t.Errorf("the certificate does not chain to the bed's Fulcio root: %v", err)
	}
	if !slices.ContainsFunc(cert.Extensions, func(x pkix.Extension) bool { return x.Id.Equal(oidSCTList) }) {
		t.Errorf("the certificate has no embedded SCT list (extension %s)", oidSCTList)
	}
	// As sigstore-go checks it: the SCT's log is in the trusted root and
	// its signature over the precertificate verifies with the log's key.
	if err := verify.VerifySignedCertificateTimestamp(chains, 1, tr); err != nil {
		t.Errorf("the certificate's SCT does not verify against the trusted root's CT log: %v", err)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SubjectAlternativeName != identity {
		t.Errorf("SAN = %q, want %q", sum.SubjectAlternativeName, identity)
	}
	ext.Issuer = e.Issuer
	// CompareExtensions ignores the fields left empty in ext.
	if err := certificate.CompareExtensions(ext, sum.Extensions); err != nil {
		t.Errorf("certificate extensions: %v", err)
	}
}
