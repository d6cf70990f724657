package verify

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/provenance"
)

// attester attests an image on the bed with a reference client, as the run
// whose token it is given, with the predicate file, and verifies the result
// with the same client.
type attester struct {
	name string
	// format is where the attestation lands, rekor the log version.
	format artifact.Format
	rekor  int
	attest func(t *testing.T, b *bed, d name.Digest, token, predicate string)
	// check verifies the attestation with the client itself.
	check func(t *testing.T, b *bed, d name.Digest, identity string) string
}

var attesters = []attester{{
	// cosign 2's attest: cosign's legacy .att tag, an intoto entry in
	// Rekor v1 (what Kyverno's Cosign attestor and policy-controller read).
	name: "cosign v2.6.5 attest", format: artifact.FormatLegacy, rekor: 1,
	attest: func(t *testing.T, b *bed, d name.Digest, token, predicate string) {
		b.cosign(t, b.e.Cosign2, "attest", "--yes", "--identity-token="+token,
			"--fulcio-url="+b.e.FulcioURL, "--rekor-url="+b.e.RekorURL, "--trusted-root="+b.e.TrustedRoot,
			"--type=slsaprovenance1", "--predicate="+predicate, d.String())
	},
	check: func(t *testing.T, b *bed, d name.Digest, identity string) string {
		legacyTrust := []string{"SIGSTORE_ROOT_FILE=" + b.e.FulcioRoot, "SIGSTORE_REKOR_PUBLIC_KEY=" + b.e.RekorPubKey,
			"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + b.e.CTLogPubKey}
		return b.cosignEnv(t, legacyTrust, b.e.Cosign2, "verify-attestation", "--type=slsaprovenance1", "--rekor-url="+b.e.RekorURL,
			"--certificate-identity="+identity, "--certificate-oidc-issuer="+b.e.Issuer, d.String())
	},
}, {
	// cosign 3's attest: a Sigstore bundle referrer, Rekor v2 and the TSA.
	name: "cosign v3.1.3 attest --new-bundle-format", format: artifact.FormatBundle, rekor: 2,
	attest: func(t *testing.T, b *bed, d name.Digest, token, predicate string) {
		b.cosign(t, b.e.Cosign3, "attest", "--yes", "--new-bundle-format", "--identity-token="+token,
			"--signing-config="+b.e.SigningConfigV2, "--trusted-root="+b.e.TrustedRoot,
			"--type=slsaprovenance1", "--predicate="+predicate, d.String())
	},
	check: func(t *testing.T, b *bed, d name.Digest, identity string) string {
		return b.cosign(t, b.e.Cosign3, "verify-attestation", "--type=slsaprovenance1", "--trusted-root="+b.e.TrustedRoot,
			"--certificate-identity="+identity, "--certificate-oidc-issuer="+b.e.Issuer, d.String())
	},
}}

// provenanceFile writes the provenance sigil builds from the claims of
// token, and returns its path.
func provenanceFile(t *testing.T, token string) string {
	t.Helper()
	c, err := provenance.ClaimsFromToken(token)
	if err != nil {
		t.Fatal(err)
	}
	return tbenv.ProvenanceFile(t, c)
}

// TestBedAcceptAttestations: SLSA provenance from package provenance,
// attested by cosign 2 (legacy .att, Rekor v1) and cosign 3 (bundle
// referrer, Rekor v2 and TSA) on both registries, passes sigil verify with
// the GitHub presets and the provenance required; the clients' own
// verify-attestation accepts it too. Under a policy naming another
// repository, sigil refuses it.
func TestBedAcceptAttestations(t *testing.T) {
	t.Parallel()
	b := loadBed(t)
	repo := tbenv.UniqueRepo(t)
	for _, at := range attesters {
		for i, reg := range b.e.Registries() {
			t.Run(at.name+"/"+reg.Name, func(t *testing.T) {
				t.Parallel()
				d := b.e.PushRandomImage(t, repo, strings.ReplaceAll(strings.Fields(at.name)[1], ".", "-"))[i]
				c := claims(t, "", "", "")
				token := b.e.IDToken(t, "sigstore", c)
				at.attest(t, b, d, token, provenanceFile(t, token))
				identity := tbenv.Identity(bedRepo, bedWorkflow, bedRef)
				out := at.check(t, b, d, identity)
				if !strings.Contains(out, `"payloadType":"application/vnd.in-toto+json"`) {
					t.Errorf("%s verify-attestation printed no verified envelope:\n%s", at.name, out)
				}

				v := b.verifier(t, nil, b.presetPolicy(), WithAttestations(provenance.PredicateType))
				r, err := v.VerifyImages(t.Context(), []string{d.String()})
				if err != nil {
					t.Fatalf("sigil refused: %v\n%s", err, r.Text())
				}
				a := r.Artifacts[0]
				var passing *Signature
				for _, s := range a.Attestations[0].Found {
					if s.Passed {
						passing = &s
					}
				}
				if passing == nil || passing.Format != at.format || passing.Log == nil || passing.Log.Version != at.rekor {
					t.Fatalf("want a passing %s attestation on Rekor v%d:\n%s", at.format, at.rekor, r.Text())
				}
				if a.Provenance == nil || a.Provenance.SourceRepository != "https://github.com/"+bedRepo || a.Provenance.Workflow != bedWorkflow {
					t.Errorf("provenance summary %+v", a.Provenance)
				}
				t.Logf("sigil:\n%s", r.Text())

				// The same image under a policy for another repository's
				// provenance: the identity and the provenance both refuse.
				v = b.verifier(t, nil, []PolicyOption{WithRepository("sigil-dev/other"), WithIssuer(b.e.Issuer)}, WithAttestations(provenance.PredicateType))
				r, err = v.VerifyImages(t.Context(), []string{d.String()})
				if err == nil || !strings.Contains(err.Error(), "identity failed") || !strings.Contains(err.Error(), "provenance failed: the policy requires repository https://github.com/sigil-dev/other") {
					t.Errorf("another repository's policy: %v\n%s", err, r.Text())
				}
			})
		}
	}
}
