package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/sigil-dev/sigil/artifact"
)

// fuzzVerifier is one verifier for every fuzz input: creating a virtual
// Sigstore per input would dominate the run.
var fuzzVerifier = sync.OnceValues(func() (*Verifier, virtual) {
	vs, err := newVirtualErr()
	if err != nil {
		panic(err)
	}
	p, err := NewPolicy(WithCertificateIdentity(testIdentity), WithIssuer(testIssuer))
	if err != nil {
		panic(err)
	}
	v, err := New(vs, p)
	if err != nil {
		panic(err)
	}
	return v, vs
})

// FuzzParseBundle feeds arbitrary bytes to the bundle reader, and whatever
// it accepts to the checks: nothing may panic, and nothing garbled may
// pass.
func FuzzParseBundle(f *testing.F) {
	_, vs := fuzzVerifier()
	content := []byte("release file\n")
	good := bundleJSON(f, signBlobBundle(f, vs, testIdentity, testIssuer, content, soon()))
	d, _ := name.NewDigest("127.0.0.1:1/app@sha256:" + strings.Repeat("a", 64))
	dsse := bundleJSON(f, signBundle(f, vs, testIdentity, testIssuer, statementFor(d.DigestStr(), artifact.CosignSignPredicateType), soon()))
	l := signMessage(f, vs, testIdentity, testIssuer, content, soon())
	old, _ := json.Marshal(map[string]any{"base64Signature": l.b64sig, "cert": string(l.cert), "rekorBundle": l.rekor})
	for _, seed := range [][]byte{good, dsse, old, good[:len(good)/2], []byte("{}"), []byte(`{"mediaType":null}`), []byte(`{"base64Signature":1}`)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _ := fuzzVerifier()
		sum := sha256.Sum256(content)
		b, _, err := parseBundleJSON(data, sum[:], len(data)%2 == 0)
		if err != nil {
			if b != nil {
				t.Fatal("a bundle and an error")
			}
			return
		}
		s := v.evaluate(candidate{format: artifact.FormatBundle, location: "fuzz", entity: b, digest: sum[:], kind: "file", signed: readerOf(content)})
		if s.Passed && !json.Valid(data) {
			t.Fatalf("invalid JSON passed")
		}
	})
}

// FuzzLegacyBundle feeds arbitrary annotations and payloads of a legacy
// signature layer to the conversion and the checks.
func FuzzLegacyBundle(f *testing.F) {
	_, vs := fuzzVerifier()
	d, _ := name.NewDigest("127.0.0.1:1/app@sha256:" + strings.Repeat("b", 64))
	l := signLegacy(f, vs, testIdentity, testIssuer, d, soon())
	ann := l.annotations(f)
	f.Add(l.payload, ann[annotationSignature], ann[annotationCertificate], ann[annotationChain], ann[annotationBundle], "")
	f.Add([]byte("{}"), "", "", "", "", "")
	f.Add(l.payload, ann[annotationSignature], ann[annotationCertificate], "garbage", `{"Payload":{"body":1}}`, `{"SignedRFC3161Timestamp":"AAAA"}`)
	f.Fuzz(func(t *testing.T, payload []byte, sig, cert, chain, rekor, ts string) {
		v, _ := fuzzVerifier()
		if len(payload) > maxPayloadSize {
			return
		}
		ls := legacyFromAnnotations(map[string]string{
			annotationSignature: sig, annotationCertificate: cert, annotationChain: chain,
			annotationBundle: rekor, annotationTimestamp: ts,
		})
		c := candidate{format: artifact.FormatLegacy, location: "fuzz", digest: make([]byte, 32), kind: "image", legacyPayload: payload, signed: readerOf(payload)}
		b, err := ls.toBundle(sha256Sum(payload), len(payload)%2 == 0)
		if err != nil {
			c.err = err
		} else {
			c.entity = b
		}
		s := v.evaluate(c)
		if s.Passed {
			t.Fatalf("a signature over an all-zero digest passed: %+v", s)
		}
		if len(s.Checks) == 0 {
			t.Fatal("no checks reported")
		}
	})
}

// FuzzPolicy builds policies from arbitrary inputs: no panic, every
// accepted policy constrains the subject (or says it is unsafe), and preset
// expressions stay anchored to the repository.
func FuzzPolicy(f *testing.F) {
	f.Add("https://github.com/o/r/.github/workflows/x.yml@refs/heads/main", "", "", "", "", "", "", "", uint16(1))
	f.Add("", `^https://github\.com/o/`, "", ".*", "", "", "", "", uint16(2|8))
	f.Add("", "", "http://127.0.0.1:1", "", "sigil-dev/sigil", "release.yml", "refs/tags/v*", "github-hosted", uint16(4|16|32|64|128))
	f.Add("", "", "", "", "o/r", "", "refs/**/x?", "", uint16(16|64|512))
	f.Fuzz(func(t *testing.T, id, idRe, iss, issRe, repo, wf, ref, runner string, set uint16) {
		var opts []PolicyOption
		for bit, o := range []PolicyOption{
			WithCertificateIdentity(id), WithCertificateIdentityRegexp(idRe), WithIssuer(iss), WithIssuerRegexp(issRe),
			WithRepository(repo), WithWorkflow(wf), WithRef(ref), WithRunnerEnvironment(runner), WithAnyIdentityUnsafe(),
			WithRepository(repo),
		} {
			if set&(1<<bit) != 0 {
				opts = append(opts, o)
			}
		}
		p, err := NewPolicy(opts...)
		if err != nil {
			if p != nil {
				t.Fatal("a policy and an error")
			}
			return
		}
		e := p.Expected()
		if e.Subject == "" && e.SubjectRegexp == "" && !e.AnyIdentityUnsafe {
			t.Fatalf("a policy without a subject constraint: %+v", e)
		}
		if e.Issuer == "" && e.IssuerRegexp == "" {
			t.Fatalf("a policy without an issuer: %+v", e)
		}
		if set&16 != 0 {
			prefix := "^" + regexp.QuoteMeta("https://github.com/"+repo+"/")
			if !strings.HasPrefix(e.SubjectRegexp, prefix) || !strings.HasSuffix(e.SubjectRegexp, "$") {
				t.Fatalf("preset expression %q is not anchored to %s", e.SubjectRegexp, repo)
			}
			re := regexp.MustCompile(e.SubjectRegexp)
			if re.MatchString("https://github.com/" + repo + "x/.github/workflows/a.yml@refs/tags/v1") {
				t.Fatalf("%q matches another repository", e.SubjectRegexp)
			}
		}
		_ = p.check(certificate.Summary{SubjectAlternativeName: id, Extensions: certificate.Extensions{Issuer: iss}})
		_ = p.String()
	})
}

// FuzzLegacyAttestation feeds arbitrary bytes to the reader of cosign's
// .att layers (a DSSE envelope), and whatever it accepts to the
// attestation checks, provenance included: nothing may panic, and nothing
// may pass (the layer carries no log entry).
func FuzzLegacyAttestation(f *testing.F) {
	stmt := provenanceSeed()
	env, _ := json.Marshal(map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": stmt,
		"signatures": []map[string]string{{"keyid": "", "sig": "MEUCIQ=="}}})
	for _, seed := range [][]byte{env, []byte(`{"payload":"!!"}`), []byte(`{"signatures":[{},{}]}`), []byte("null")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _ := fuzzVerifier()
		w := *v
		w.o.attestations = []string{provenanceType}
		b, err := legacySignature{}.toDSSEBundle(data, true)
		if err != nil {
			if b != nil {
				t.Fatal("a bundle and an error")
			}
			return
		}
		digest := make([]byte, 32)
		atts, _ := w.checkAttestations([]candidate{{format: artifact.FormatLegacy, location: "fuzz", entity: b, digest: digest, kind: "image", attestation: true}})
		if len(atts) != 1 || atts[0].Passed {
			t.Fatalf("an attestation without a log entry passed, or no entry: %+v", atts)
		}
	})
}

const provenanceType = "https://slsa.dev/provenance/v1"

// provenanceSeed is a base64 provenance statement about a zero digest.
func provenanceSeed() string {
	st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + strings.Repeat("0", 64) + `"}}],"predicateType":"` + provenanceType +
		`","predicate":{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1"}}}`
	return base64.StdEncoding.EncodeToString([]byte(st))
}
