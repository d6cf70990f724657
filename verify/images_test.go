package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrmutate "github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/artifact"
)

// verifyImagesCase is a case of TestVerifyImages.
type verifyImagesCase struct {
	name string
	// setup signs d (in host unless fallback) and returns the trusted
	// material to verify with (nil: vs).
	setup    func(t *testing.T, d name.Digest) root.TrustedMaterial
	fallback bool
	policy   []PolicyOption
	opts     []Option
	// wantFailed are the failed checks, or nil for a pass.
	wantFailed []string
	// wantError is in the artifact's error.
	wantError string
}

// TestVerifyImages runs the image verification edge cases on sigstore-go's
// in-process Sigstore and an in-memory registry: each case signs (or
// mis-signs) a fresh image and states which checks must fail.
func TestVerifyImages(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	host := testRegistry(t, true)
	noReferrers := testRegistry(t, false)

	tests := []verifyImagesCase{{
		name: "legacy signature",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
			return nil
		},
	}, {
		name: "bundle referrer",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachBundle(t, d, bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())))
			return nil
		},
	}, {
		name:     "bundle through the referrers tag fallback",
		fallback: true,
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachBundle(t, d, bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())))
			return nil
		},
	}, {
		name: "one good signature among bad ones",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, "https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main", testIssuer, d, soon()))
			attachBundle(t, d, []byte("{garbage"))
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
			return nil
		},
	}, {
		name:      "unsigned",
		setup:     func(t *testing.T, d name.Digest) root.TrustedMaterial { return nil },
		wantError: "no signatures found",
	}, {
		name: "another workflow",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, "https://github.com/sigil-dev/demo/.github/workflows/other.yml@refs/tags/v1.0.0", testIssuer, d, soon()))
			return nil
		},
		wantFailed: []string{CheckIdentity},
	}, {
		name: "another issuer",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachBundle(t, d, bundleJSON(t, signBundle(t, vs, testIdentity, "https://other.example", statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())))
			return nil
		},
		wantFailed: []string{CheckIdentity},
	}, {
		name: "legacy signature copied from another image",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			other := pushImage(t, d.RegistryStr(), "other")
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, other, soon()))
			return nil
		},
		wantFailed: []string{CheckClaims},
	}, {
		name: "bundle copied from another image",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			other := pushImage(t, d.RegistryStr(), "other")
			attachBundle(t, d, bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(other.DigestStr(), artifact.CosignSignPredicateType), soon())))
			return nil
		},
		wantFailed: []string{CheckClaims},
	}, {
		name: "bundle of an attestation, not a signature",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachBundle(t, d, bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), "https://slsa.dev/provenance/v1"), soon())))
			return nil
		},
		wantFailed: []string{CheckClaims},
	}, {
		name: "legacy payload altered after signing",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			l := signLegacy(t, vs, testIdentity, testIssuer, d, soon())
			l.payload = alter(l.payload)
			attachLegacy(t, d, l)
			return nil
		},
		wantFailed: []string{CheckSignature, CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "bundle statement altered after signing",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			b := signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())
			env := b.GetDsseEnvelope()
			env.Payload = []byte(strings.Replace(string(env.Payload), `"subject"`, `"subject" `, 1))
			attachBundle(t, d, bundleJSON(t, b))
			return nil
		},
		// The TSA's timestamp covers the signature, which is intact.
		wantFailed: []string{CheckSignature, CheckTransparencyLog},
	}, {
		name: "legacy log entry removed",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			l := signLegacy(t, vs, testIdentity, testIssuer, d, soon())
			l.rekor = nil
			attachLegacy(t, d, l)
			return nil
		},
		wantFailed: []string{CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "legacy with a TSA timestamp",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			l := signLegacy(t, vs, testIdentity, testIssuer, d, soon())
			l.withTSA = true
			attachLegacy(t, d, l)
			return nil
		},
	}, {
		name: "legacy with a TSA timestamp, log entry removed",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			l := signLegacy(t, vs, testIdentity, testIssuer, d, soon())
			l.rekor, l.withTSA = nil, true
			attachLegacy(t, d, l)
			return nil
		},
		// The TSA gives the time; the log entry is still required.
		wantFailed: []string{CheckTransparencyLog},
	}, {
		name: "legacy log entry altered",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			l := signLegacy(t, vs, testIdentity, testIssuer, d, soon())
			l.rekor.Payload.LogIndex++
			attachLegacy(t, d, l)
			return nil
		},
		wantFailed: []string{CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "bundle inclusion proof altered",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			b := signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())
			b.VerificationMaterial.TlogEntries[0].InclusionProof.RootHash[0] ^= 1
			attachBundle(t, d, bundleJSON(t, b))
			return nil
		},
		wantFailed: []string{CheckTransparencyLog},
	}, {
		name: "bundle log entry removed",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			b := signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())
			b.VerificationMaterial.TlogEntries = nil
			attachBundle(t, d, bundleJSON(t, b))
			return nil
		},
		// The TSA's time remains, so the certificate is checked at it.
		wantFailed: []string{CheckTransparencyLog},
	}, {
		name: "certificate from a CA outside the trusted root",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
			return otherCA{virtual: vs, ca: newVirtual(t)}
		},
		wantFailed: []string{CheckCertificateChain},
	}, {
		// The virtual Sigstore lists a CT log but its certificates carry
		// no SCT: a root that lists a CT log requires one.
		name: "certificate without an SCT, the trusted root lists a CT log",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
			return vs.VirtualSigstore
		},
		wantFailed: []string{CheckCertificateChain},
	}, {
		name: "log time outside the certificate's validity",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, time.Now().Add(30*time.Minute)))
			return nil
		},
		wantFailed: []string{CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "certificate removed",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			l := signLegacy(t, vs, testIdentity, testIssuer, d, soon())
			l.cert, l.chain = nil, nil
			attachLegacy(t, d, l)
			return nil
		},
		wantFailed: []string{CheckCertificateChain},
	}, {
		name: "garbled bundle",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachBundle(t, d, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":`))
			return nil
		},
		wantFailed: []string{CheckFormat},
	}, {
		name: "format bundle required, only legacy",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
			return nil
		},
		opts:       []Option{WithFormat(artifact.FormatBundle)},
		wantFailed: []string{CheckFormat},
	}, {
		name: "format legacy required, only bundle",
		setup: func(t *testing.T, d name.Digest) root.TrustedMaterial {
			attachBundle(t, d, bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon())))
			return nil
		},
		opts:       []Option{WithFormat(artifact.FormatLegacy)},
		wantFailed: []string{CheckFormat},
	}}
	// Each case runs twice: as verify mode checks, and as sign's lookup of
	// what is signed already does (WithBriefPass), which must reach the
	// same verdict, fail the same checks and report the same facts.
	for _, tc := range tests {
		for _, brief := range []bool{false, true} {
			name := tc.name
			if brief {
				name += " (brief pass)"
				tc.opts = append(slices.Clip(tc.opts), WithBriefPass())
			}
			t.Run(name, func(t *testing.T) { runVerifyImagesCase(t, tc, vs, host, noReferrers) })
		}
	}
}

func runVerifyImagesCase(t *testing.T, tc verifyImagesCase, vs virtual, host, noReferrers string) {
	t.Parallel()
	h := host
	if tc.fallback {
		h = noReferrers
	}
	d := pushImage(t, h, "app")
	var tm root.TrustedMaterial = vs
	if got := tc.setup(t, d); got != nil {
		tm = got
	}
	policy := tc.policy
	if policy == nil {
		policy = []PolicyOption{WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)}
	}
	v := mustVerifier(t, tm, mustPolicy(t, policy...), tc.opts...)
	rep, err := v.VerifyImages(context.Background(), []string{d.String()})
	pass := tc.wantFailed == nil && tc.wantError == ""
	if pass != (err == nil) || rep.Verified != pass {
		t.Fatalf("VerifyImages: verified %v, error %v; want verified %v\n%s", rep.Verified, err, pass, rep.Text())
	}
	if len(rep.Artifacts) != 1 {
		t.Fatalf("got %d artifacts, want 1", len(rep.Artifacts))
	}
	a := rep.Artifacts[0]
	if err != nil {
		var ve *Error
		if !errors.As(err, &ve) {
			t.Fatalf("error %T, want *Error: %v", err, err)
		}
	}
	if tc.wantError != "" && !strings.Contains(a.Error, tc.wantError) {
		t.Errorf("artifact error %q, want it to contain %q", a.Error, tc.wantError)
	}
	if tc.wantFailed != nil {
		if diff := cmp.Diff(tc.wantFailed, failedChecks(a)); diff != "" {
			t.Errorf("failed checks (-want +got):\n%s\n%s", diff, rep.Text())
		}
		if first, _ := a.Signatures[0].Failed(); !strings.Contains(err.Error(), first.Name+" failed: ") {
			t.Errorf("the error does not name the failed check %s:\n%v", first.Name, err)
		}
	}
	if pass {
		checkPassed(t, rep)
	}
}

// checkPassed checks what a passing report must say.
func checkPassed(t *testing.T, rep Report) {
	t.Helper()
	var found bool
	for _, a := range rep.Artifacts {
		for _, s := range a.Signatures {
			if !s.Passed {
				continue
			}
			found = true
			var names []string
			for _, c := range s.Checks {
				names = append(names, c.Name)
				if c.Reason == "" {
					t.Errorf("check %s has no reason", c.Name)
				}
			}
			want := []string{CheckClaims, CheckSignature, CheckTransparencyLog, CheckTimestamp, CheckCertificateChain, CheckIdentity}
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
			if s.Identity == "" || s.Issuer == "" || s.Log == nil || s.TimestampSource == "" {
				t.Errorf("signature report lacks identity, issuer, log or timestamp source: %+v", s)
			}
		}
	}
	if !found {
		t.Errorf("no passed signature in the report")
	}
	txt := rep.Text()
	for _, want := range []string{"The cosign claims were validated", "transparency log was verified offline", "trusted certificate authority", "The identity matched"} {
		if !strings.Contains(txt, want) && !(strings.Contains(want, "cosign claims") && strings.Contains(txt, "signed digest was validated")) {
			t.Errorf("the text report lacks %q:\n%s", want, txt)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("the report does not marshal: %v", err)
	}
}

// TestVerifyImagesRecursive verifies an index and its platform manifests.
func TestVerifyImagesRecursive(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	host := testRegistry(t, true)
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/multi:v1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	h, _ := idx.Digest()
	d := ref.Context().Digest(h.String())
	im, _ := idx.IndexManifest()
	attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
	// Only the first platform manifest is signed.
	first := ref.Context().Digest(im.Manifests[0].Digest.String())
	attachLegacy(t, first, signLegacy(t, vs, testIdentity, testIssuer, first, soon()))
	p := mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer))

	rep, err := mustVerifier(t, vs, p).VerifyImages(context.Background(), []string{ref.String()})
	if err != nil || len(rep.Artifacts) != 1 {
		t.Fatalf("not recursive: %d artifacts, error %v", len(rep.Artifacts), err)
	}
	rep, err = mustVerifier(t, vs, p, WithRecursive(true)).VerifyImages(context.Background(), []string{ref.String()})
	if err == nil {
		t.Fatalf("recursive: an unsigned platform manifest passed")
	}
	var got []bool
	for _, a := range rep.Artifacts {
		got = append(got, a.Passed)
		if a.Reference != ref.String() {
			t.Errorf("artifact reference %q, want %q", a.Reference, ref)
		}
	}
	if diff := cmp.Diff([]bool{true, true, false}, got); diff != "" {
		t.Errorf("passed per artifact (-want +got):\n%s", diff)
	}
	if rep.Artifacts[2].Index != d.DigestStr() {
		t.Errorf("child's index %q, want %q", rep.Artifacts[2].Index, d.DigestStr())
	}
}

// TestVerifyImagesBoundedReads refuses a legacy payload larger than the
// limit without reading it, and never panics on a layer without annotations.
func TestVerifyImagesBoundedReads(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	host := testRegistry(t, true)
	d := pushImage(t, host, "big")
	tag, _ := name.NewTag(host + "/big:" + strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	huge := static.NewLayer(make([]byte, maxPayloadSize+1), types.MediaType("application/vnd.dev.cosign.simplesigning.v1+json"))
	bare := static.NewLayer([]byte(`{}`), types.MediaType("application/vnd.dev.cosign.simplesigning.v1+json"))
	img, err := ggcrmutate.Append(empty.Image, ggcrmutate.Addendum{Layer: huge, Annotations: map[string]string{annotationSignature: "AAAA"}}, ggcrmutate.Addendum{Layer: bare})
	if err != nil {
		t.Fatal(err)
	}
	img = ggcrmutate.MediaType(img, types.OCIManifestSchema1)
	img = ggcrmutate.ConfigMediaType(img, types.OCIConfigJSON)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, vs, mustPolicy(t, WithAnyIdentityUnsafe(), WithIssuerRegexp(".*")))
	rep, err := v.VerifyImages(context.Background(), []string{d.String()})
	if err == nil {
		t.Fatal("passed")
	}
	a := rep.Artifacts[0]
	if len(a.Signatures) != 2 {
		t.Fatalf("got %d signatures, want 2:\n%s", len(a.Signatures), rep.Text())
	}
	if r := a.Signatures[0].Checks[0].Reason; !strings.Contains(r, "more than") {
		t.Errorf("huge payload: reason %q, want a size refusal", r)
	}
	if c := a.Signatures[1].Checks[0]; c.Name != CheckSignature {
		t.Errorf("bare layer: check %s (%s), want %s", c.Name, c.Reason, CheckSignature)
	}
}

// TestVerifyImagesBadReference reports an unparseable or missing reference
// as a failed artifact, next to the others.
func TestVerifyImagesBadReference(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	host := testRegistry(t, true)
	d := pushImage(t, host, "ok")
	attachLegacy(t, d, signLegacy(t, vs, testIdentity, testIssuer, d, soon()))
	v := mustVerifier(t, vs, mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)))
	rep, err := v.VerifyImages(context.Background(), []string{"not a ref!", d.String(), host + "/missing:v1"})
	if err == nil {
		t.Fatal("passed")
	}
	var got []bool
	for _, a := range rep.Artifacts {
		got = append(got, a.Passed)
	}
	if diff := cmp.Diff([]bool{false, true, false}, got); diff != "" {
		t.Errorf("passed (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.Artifacts[2].Error, "does not exist") {
		t.Errorf("missing image: error %q", rep.Artifacts[2].Error)
	}
}

// TestVerifyImagesSameBundleTwice: the bundle of one digest, attached in
// two repositories, is checked once and reported in each with its own
// location; another identity's bundle of the digest in a third repository
// is checked on its own and refused.
func TestVerifyImagesSameBundleTwice(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	host := testRegistry(t, true)
	a := pushImage(t, host, "org/a")
	img, err := remote.Image(a)
	if err != nil {
		t.Fatal(err)
	}
	var ds []name.Digest
	for _, repo := range []string{"org/b", "org/c"} {
		ref, err := name.ParseReference(host + "/" + repo + ":latest")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, ref.Context().Digest(a.DigestStr()))
	}
	raw := bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(a.DigestStr(), artifact.CosignSignPredicateType), soon()))
	attachBundle(t, a, raw)
	attachBundle(t, ds[0], raw)
	other := bundleJSON(t, signBundle(t, vs, "https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main", testIssuer, statementFor(a.DigestStr(), artifact.CosignSignPredicateType), soon()))
	attachBundle(t, ds[1], other)

	v := mustVerifier(t, vs, mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)))
	for _, brief := range []bool{false, true} {
		if brief {
			// As sign's skip-signed asks: the brief pass, and the bundles'
			// bytes kept.
			v = mustVerifier(t, vs, mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)), WithBriefPass(), WithBundleBytes())
		}
		rep, _ := v.VerifyImages(context.Background(), []string{a.String(), ds[0].String(), ds[1].String()})
		if len(rep.Artifacts) != 3 {
			t.Fatalf("%d artifacts, want 3", len(rep.Artifacts))
		}
		locs := map[string]bool{}
		for i, want := range []bool{true, true, false} {
			art := rep.Artifacts[i]
			if len(art.Signatures) != 1 {
				t.Fatalf("%s: %d signatures, want 1", art.Reference, len(art.Signatures))
			}
			s := art.Signatures[0]
			if s.Passed != want {
				t.Errorf("brief %v: %s passed %v, want %v:\n%s", brief, art.Reference, s.Passed, want, rep.Text())
			}
			repo := []string{"/org/a@", "/org/b@", "/org/c@"}[i]
			if !strings.Contains(s.Location, repo) || locs[s.Location] {
				t.Errorf("brief %v: %s reported at %q, want its own location in %s", brief, art.Reference, s.Location, repo)
			}
			locs[s.Location] = true
			// Each repository's own bundle, read there, or none kept.
			wantRaw := []([]byte){raw, raw, other}[i]
			if !brief {
				wantRaw = nil
			}
			if !bytes.Equal(s.BundleJSON, wantRaw) {
				t.Errorf("brief %v: %s kept %d bytes of bundle, want %d", brief, art.Reference, len(s.BundleJSON), len(wantRaw))
			}
		}
	}
}
