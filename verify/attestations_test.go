package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/provenance"
)

// The attestation tests sign with a Fulcio CA of their own beside the
// virtual Sigstore's log and timestamp authority: sigstore-go's testing CA
// writes no GitHub extensions, and the provenance check compares the
// predicate with them.

const gitHubIssuer = "https://token.actions.githubusercontent.com"

// gitHubCA issues certificates as Fulcio does for a GitHub workflow.
type gitHubCA struct {
	virtual
	ca    *root.FulcioCertificateAuthority
	inter *x509.Certificate
	key   *ecdsa.PrivateKey
}

func (g gitHubCA) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{g.ca}
}

func newGitHubCA(t *testing.T, vs virtual) gitHubCA {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return gitHubCA{virtual: vs, inter: inter, key: interKey,
		ca: &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{inter}, URI: "https://fulcio.example"}}
}

// workflowClaims are a release run's token claims.
func workflowClaims() provenance.Claims {
	return provenance.Claims{
		Issuer: gitHubIssuer, Repository: "sigil-dev/demo", RepositoryID: "700000001", RepositoryOwnerID: "700000000",
		Ref: "refs/tags/v1.0.0", SHA: "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e", EventName: "push",
		WorkflowRef:       "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		JobWorkflowRef:    "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		RunnerEnvironment: "github-hosted", RunID: "9000000001", RunAttempt: "1",
	}
}

// leaf issues a certificate as Fulcio does for a token with claims c
// (fulcio's pkg/identity/github/principal.go): the job workflow as the
// SAN, and the GitHub extensions.
func (g gitHubCA) leaf(t *testing.T, c provenance.Claims) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const gh = "https://github.com/"
	san, err := url.Parse(gh + c.JobWorkflowRef)
	if err != nil {
		t.Fatal(err)
	}
	oid := func(n int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n} }
	exts := []pkix.Extension{{Id: oid(1), Value: []byte(c.Issuer)}}
	for n, v := range map[int]string{
		8: c.Issuer, 9: gh + c.JobWorkflowRef, 11: c.RunnerEnvironment, 12: gh + c.Repository, 13: c.SHA, 14: c.Ref,
		15: c.RepositoryID, 17: c.RepositoryOwnerID, 18: gh + c.WorkflowRef, 20: c.EventName,
		21: gh + c.Repository + "/actions/runs/" + c.RunID + "/attempts/" + c.RunAttempt,
	} {
		der, err := asn1.MarshalWithParams(v, "utf8")
		if err != nil {
			t.Fatal(err)
		}
		exts = append(exts, pkix.Extension{Id: oid(n), Value: der})
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), URIs: []*url.URL{san},
		NotBefore: now, NotAfter: now.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, g.inter, &key.PublicKey, g.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// signed is a DSSE attestation made by the CA's certificate for a run,
// logged in the virtual Rekor and timestamped.
type signed struct {
	cert     *x509.Certificate
	envelope *dsse.Envelope
	bundle   *protobundle.Bundle
	// rekor is the log entry as a cosign Rekor bundle, for a legacy .att.
	rekor *cbundle.RekorBundle
}

// attest signs statement as the run c.
func (g gitHubCA) attest(t *testing.T, c provenance.Claims, statement []byte) signed {
	t.Helper()
	cert, key := g.leaf(t, c)
	digest := sha256.Sum256(dsse.PAE(attestation.PayloadType, statement))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	env := &dsse.Envelope{PayloadType: attestation.PayloadType, Payload: base64.StdEncoding.EncodeToString(statement),
		Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}}
	entry, err := g.GenerateTlogEntry(cert, env, sig, soon().Unix(), true)
	if err != nil {
		t.Fatal(err)
	}
	tsr, err := g.TimestampResponse(sig)
	if err != nil {
		t.Fatal(err)
	}
	b := assembleParts(t, g.virtual, cert, entry, tsr, &protobundle.Bundle{Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
		Payload: statement, PayloadType: attestation.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
	}}})
	tle := b.GetVerificationMaterial().GetTlogEntries()[0]
	rb := &cbundle.RekorBundle{SignedEntryTimestamp: tle.GetInclusionPromise().GetSignedEntryTimestamp(), Payload: cbundle.RekorPayload{
		Body: base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()), IntegratedTime: tle.GetIntegratedTime(),
		LogIndex: tle.GetLogIndex(), LogID: strings.ToLower(hexOf(tle.GetLogId().GetKeyId())),
	}}
	return signed{cert: cert, envelope: env, bundle: b, rekor: rb}
}

// provenanceStatement is the statement of the provenance of run c about
// the digests.
func provenanceStatement(t *testing.T, c provenance.Claims, digests ...string) []byte {
	t.Helper()
	p, err := provenance.New(c, "")
	if err != nil {
		t.Fatal(err)
	}
	pj, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return statementOfType(t, provenance.PredicateType, pj, digests...)
}

func statementOfType(t *testing.T, predicateType string, predicate []byte, digests ...string) []byte {
	t.Helper()
	var subs []attestation.Subject
	for _, d := range digests {
		s, err := attestation.SubjectFor("x", d)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	st, err := attestation.NewStatement(subs, predicateType, predicate)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// attachAttestation attaches a bundle referrer as cosign 3's attest
// --new-bundle-format and actions/attest do.
func attachAttestation(t *testing.T, d name.Digest, s signed, predicateType string) {
	t.Helper()
	if err := ociremote.WriteAttestationNewBundleFormat(d, bundleJSON(t, s.bundle), predicateType); err != nil {
		t.Fatal(err)
	}
}

// attachLegacyAttestation appends the attestation to d's .att tag, as
// cosign 2's attest does.
func attachLegacyAttestation(t *testing.T, d name.Digest, s signed, predicateType string) {
	t.Helper()
	env, err := json.Marshal(s.envelope)
	if err != nil {
		t.Fatal(err)
	}
	att, err := static.NewAttestation(env, static.WithCertChain(pemCert(s.cert), nil), static.WithBundle(s.rekor),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	nse, err := mutate.AttachAttestationToEntity(se, att)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestations(d.Repository, nse); err != nil {
		t.Fatal(err)
	}
}

// presets pin the release workflow of sigil-dev/demo, as a consumer would.
func presets() []PolicyOption {
	return []PolicyOption{WithRepository("sigil-dev/demo"), WithWorkflow(".github/workflows/release.yml"), WithRef("refs/tags/v*"), WithIssuer(gitHubIssuer)}
}

// TestVerifyImageAttestations checks the attestations of images: each
// case attests a fresh image (and signs it, unless said) and states which
// checks of the required attestation must fail.
func TestVerifyImageAttestations(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	g := newGitHubCA(t, vs)
	host := testRegistry(t, true)
	spdx := []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app"}`)
	another := workflowClaims()
	another.Repository, another.RepositoryID = "evil/demo", "666"
	another.WorkflowRef = "evil/demo/.github/workflows/release.yml@refs/tags/v1.0.0"
	another.JobWorkflowRef = another.WorkflowRef
	otherWorkflow := workflowClaims()
	otherWorkflow.WorkflowRef = "sigil-dev/demo/.github/workflows/other.yml@refs/tags/v1.0.0"
	otherWorkflow.JobWorkflowRef = otherWorkflow.WorkflowRef
	pushedAt := 0

	tests := []struct {
		name     string
		required []string
		// setup attests d.
		setup func(t *testing.T, d name.Digest)
		// wantFailed are the failed checks of the (first) required
		// attestation's attestations, nil for a pass.
		wantFailed []string
		wantError  string
	}{{
		name:     "provenance as a bundle referrer",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachAttestation(t, d, g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), d.DigestStr())), provenance.PredicateType)
		},
	}, {
		name:     "provenance in the legacy .att tag",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachLegacyAttestation(t, d, g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), d.DigestStr())), provenance.PredicateType)
		},
	}, {
		name:     "provenance and SBOM, both required",
		required: []string{provenance.PredicateType, attestation.SPDXPredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachAttestation(t, d, g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), d.DigestStr())), provenance.PredicateType)
			attachAttestation(t, d, g.attest(t, workflowClaims(), statementOfType(t, "https://spdx.dev/Document/v2.3", spdx, d.DigestStr())), "https://spdx.dev/Document/v2.3")
		},
	}, {
		name:     "a provenance for another digest",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			other := "sha256:" + strings.Repeat("0", 64)
			attachAttestation(t, d, g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), other)), provenance.PredicateType)
		},
		wantFailed: []string{CheckSubject},
	}, {
		name:     "an SBOM attestation where provenance is required",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachAttestation(t, d, g.attest(t, workflowClaims(), statementOfType(t, attestation.SPDXPredicateType, spdx, d.DigestStr())), attestation.SPDXPredicateType)
		},
		wantFailed: []string{CheckPredicateType},
		wantError:  "none of the 1 attestation(s) found is of type https://slsa.dev/provenance/v1 (found: https://spdx.dev/Document)",
	}, {
		name:     "another predicate type than required",
		required: []string{attestation.CycloneDXPredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachLegacyAttestation(t, d, g.attest(t, workflowClaims(), statementOfType(t, attestation.SPDXPredicateType, spdx, d.DigestStr())), attestation.SPDXPredicateType)
		},
		wantFailed: []string{CheckPredicateType},
	}, {
		name:     "a predicate whose repository differs from the certificate's",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachAttestation(t, d, g.attest(t, workflowClaims(), provenanceStatement(t, another, d.DigestStr())), provenance.PredicateType)
		},
		wantFailed: []string{CheckProvenance},
	}, {
		name:     "a predicate whose workflow differs from the certificate's",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachLegacyAttestation(t, d, g.attest(t, workflowClaims(), provenanceStatement(t, otherWorkflow, d.DigestStr())), provenance.PredicateType)
		},
		wantFailed: []string{CheckProvenance},
	}, {
		name:     "a provenance of another repository, signed by it",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			attachAttestation(t, d, g.attest(t, another, provenanceStatement(t, another, d.DigestStr())), provenance.PredicateType)
		},
		wantFailed: []string{CheckIdentity, CheckProvenance},
	}, {
		name:     "a statement altered after signing",
		required: []string{provenance.PredicateType},
		setup: func(t *testing.T, d name.Digest) {
			s := g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), d.DigestStr()))
			env := s.bundle.GetDsseEnvelope()
			env.Payload = []byte(strings.Replace(string(env.Payload), "5e8a1c3f", "0e8a1c3f", 1))
			attachAttestation(t, d, s, provenance.PredicateType)
		},
		wantFailed: []string{CheckSignature, CheckTransparencyLog, CheckProvenance},
	}, {
		name:      "no attestation",
		required:  []string{provenance.PredicateType},
		setup:     func(t *testing.T, d name.Digest) {},
		wantError: "no attestation found",
	}}
	for _, tc := range tests {
		pushedAt++
		d := pushImage(t, host, "app"+strings.Repeat("x", pushedAt))
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.setup(t, d)
			v := mustVerifier(t, g, mustPolicy(t, presets()...), WithAttestations(tc.required...))
			r, err := v.VerifyImages(t.Context(), []string{d.String()})
			if len(r.Artifacts) != 1 {
				t.Fatalf("report has %d artifacts", len(r.Artifacts))
			}
			a := r.Artifacts[0]
			if len(a.Attestations) != len(tc.required) {
				t.Fatalf("%d attestation entries, want %d: %+v", len(a.Attestations), len(tc.required), a.Attestations)
			}
			at := a.Attestations[0]
			if tc.wantFailed == nil && tc.wantError == "" {
				if err != nil || !a.Passed || !r.Verified {
					t.Fatalf("refused: %v\n%s", err, r.Text())
				}
				for _, at := range a.Attestations {
					if !at.Passed {
						t.Errorf("%s did not pass", at.PredicateType)
					}
				}
				if slices.Contains(tc.required, provenance.PredicateType) {
					want := &provenance.Summary{
						SourceRepository: "https://github.com/sigil-dev/demo", Commit: workflowClaims().SHA, Ref: "refs/tags/v1.0.0",
						Workflow: ".github/workflows/release.yml", Run: "https://github.com/sigil-dev/demo/actions/runs/9000000001/attempts/1",
						Event: "push", RunnerEnvironment: "github-hosted", Builder: "https://github.com/" + workflowClaims().JobWorkflowRef,
					}
					if diff := cmp.Diff(want, a.Provenance); diff != "" {
						t.Errorf("provenance summary (-want +got):\n%s", diff)
					}
					if txt := r.Text(); !strings.Contains(txt, "provenance: source https://github.com/sigil-dev/demo at commit "+workflowClaims().SHA) {
						t.Errorf("the text report does not show the provenance:\n%s", txt)
					}
				}
				return
			}
			if err == nil || a.Passed || at.Passed {
				t.Fatalf("accepted:\n%s", r.Text())
			}
			if tc.wantError != "" && !strings.Contains(at.Error, tc.wantError) {
				t.Errorf("attestation error %q, want %q", at.Error, tc.wantError)
			}
			var failed []string
			for _, s := range at.Found {
				for _, c := range s.Checks {
					if !c.Passed {
						failed = append(failed, c.Name)
					}
				}
			}
			if diff := cmp.Diff(tc.wantFailed, failed); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s\n%s", diff, r.Text())
			}
			t.Logf("refused: %v", err)
			for _, name := range tc.wantFailed {
				if !strings.Contains(err.Error(), name+" failed") {
					t.Errorf("the error does not name the failed check %s:\n%v", name, err)
				}
			}
		})
	}
}

// TestVerifyFileAttestations checks a release's provenance bundle, one
// statement naming every file, found beside the files.
func TestVerifyFileAttestations(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	g := newGitHubCA(t, vs)
	dir := t.TempDir()
	var digests []string
	for _, f := range []string{"app.tar.gz", "checksums.txt", "unlisted.zip"} {
		content := []byte("release file " + f)
		if err := os.WriteFile(filepath.Join(dir, f), content, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(content)
		digests = append(digests, "sha256:"+hexOf(sum[:]))
	}
	// The provenance names the first two files only.
	s := g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), digests[:2]...))
	if err := os.WriteFile(filepath.Join(dir, "provenance"+AttestationBundleSuffix), bundleJSON(t, s.bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, g, mustPolicy(t, presets()...), WithAttestations(provenance.PredicateType))
	r, err := v.VerifyFiles(t.Context(), []FileSpec{{Path: filepath.Join(dir, "app.tar.gz")}, {Path: filepath.Join(dir, "checksums.txt")}, {Path: filepath.Join(dir, "unlisted.zip")}})
	if err == nil {
		t.Fatalf("accepted a file the provenance does not name:\n%s", r.Text())
	}
	for i, want := range []bool{true, true, false} {
		a := r.Artifacts[i]
		if a.Passed != want {
			t.Errorf("%s: passed %v, want %v:\n%s", a.Reference, a.Passed, want, r.Text())
		}
		if want && (a.Provenance == nil || a.Provenance.Workflow != ".github/workflows/release.yml") {
			t.Errorf("%s: provenance summary %+v", a.Reference, a.Provenance)
		}
	}
	if got := failedChecks(Artifact{Signatures: r.Artifacts[2].Attestations[0].Found}); !slices.Contains(got, CheckSubject) {
		t.Errorf("unlisted.zip: failed checks %v, want %s", got, CheckSubject)
	}

	// The file's own bundle may be the attestation (gh attestation
	// download, actions/attest-build-provenance's bundle-path).
	own := filepath.Join(t.TempDir(), "own.bin")
	if err := os.WriteFile(own, []byte("own"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("own"))
	s = g.attest(t, workflowClaims(), provenanceStatement(t, workflowClaims(), "sha256:"+hexOf(sum[:])))
	if err := os.WriteFile(own+".sigstore.json", bundleJSON(t, s.bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := v.VerifyFiles(t.Context(), []FileSpec{{Path: own}}); err != nil {
		t.Errorf("the file's own provenance bundle: %v\n%s", err, r.Text())
	}
}

func TestWithAttestationsRefused(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	for _, types := range [][]string{{"provenance"}, {provenance.PredicateType, provenance.PredicateType}} {
		if _, err := New(vs, mustPolicy(t, presets()...), WithAttestations(types...)); err == nil || !strings.Contains(err.Error(), "attestations:") {
			t.Errorf("New(WithAttestations(%q)): %v", types, err)
		}
	}
}
