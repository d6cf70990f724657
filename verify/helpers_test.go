package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/proto"

	"github.com/sigil-dev/sigil/artifact"
)

// Identities used by the unit tests (the virtual Sigstore puts the subject
// in an email SAN).
const (
	testIdentity = "https://github.com/sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0"
	testIssuer   = "https://issuer.example"
)

// virtual is sigstore-go's in-process Sigstore, as trusted material without
// certificate transparency logs. Its CA issues certificates without an SCT
// (sigstore-go's testing CA has no CT log to send precertificates to),
// though it lists a CT log key: the unit tests model an instance without a
// CT log. SCTs are checked on the test bed, whose Fulcio embeds them
// (bed_test.go), and a root that lists a CT log refuses these certificates
// (TestVerifyImages).
type virtual struct {
	*ca.VirtualSigstore
}

func (virtual) CTLogs() map[string]*root.TransparencyLog { return nil }

func newVirtual(t testing.TB) virtual {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return virtual{vs}
}

// otherCA is trusted material whose Fulcio CA is another's.
type otherCA struct {
	virtual
	ca virtual
}

func (o otherCA) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return o.ca.VirtualSigstore.FulcioCertificateAuthorities()
}

// testRegistry starts an in-memory registry and returns its host.
func testRegistry(t testing.TB, referrers bool) string {
	t.Helper()
	s := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(referrers), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// pushImage pushes a random image to host/repo:tag and returns its digest.
func pushImage(t testing.TB, host, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// legacyParts is a legacy signature made with the virtual Sigstore, before
// it is attached; tests alter it.
type legacyParts struct {
	payload []byte
	b64sig  string
	cert    []byte
	chain   []byte
	rekor   *cbundle.RekorBundle
	tsa     []byte
	// withTSA attaches tsa as the RFC 3161 timestamp annotation.
	withTSA bool
}

// signLegacy signs cosign's simple-signing payload for d.
func signLegacy(t testing.TB, vs virtual, identity, issuer string, d name.Digest, at time.Time) legacyParts {
	t.Helper()
	pl, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return signMessage(t, vs, identity, issuer, pl, at)
}

// signMessage signs bytes as a legacy (message) signature logged in the
// virtual Rekor v1 at time at.
func signMessage(t testing.TB, vs virtual, identity, issuer string, msg []byte, at time.Time) legacyParts {
	t.Helper()
	ent, err := vs.SignAtTime(identity, issuer, msg, at)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	entries, _ := ent.TlogEntries()
	tss, _ := ent.Timestamps()
	tle := entries[0].TransparencyLogEntry()
	logID := hex.EncodeToString(tle.GetLogId().GetKeyId())
	rp := tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()), IntegratedTime: tle.GetIntegratedTime(), LogIndex: tle.GetLogIndex(), LogID: logID}
	set, err := vs.RekorSignPayload(rp)
	if err != nil {
		t.Fatal(err)
	}
	return legacyParts{
		payload: msg,
		b64sig:  base64.StdEncoding.EncodeToString(sc.Signature()),
		cert:    pemCert(vc.Certificate()),
		chain:   append(pemCert(vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority).Intermediates[0]), pemCert(vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority).Root)...),
		rekor: &cbundle.RekorBundle{SignedEntryTimestamp: set, Payload: cbundle.RekorPayload{
			Body: rp.Body, IntegratedTime: rp.IntegratedTime, LogIndex: rp.LogIndex, LogID: logID,
		}},
		tsa: tss[0],
	}
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// annotations renders the parts as .sig layer annotations.
func (l legacyParts) annotations(t testing.TB) map[string]string {
	t.Helper()
	ann := map[string]string{annotationSignature: l.b64sig}
	if l.cert != nil {
		ann[annotationCertificate] = string(l.cert)
	}
	if l.chain != nil {
		ann[annotationChain] = string(l.chain)
	}
	if l.rekor != nil {
		b, err := json.Marshal(l.rekor)
		if err != nil {
			t.Fatal(err)
		}
		ann[annotationBundle] = string(b)
	}
	return ann
}

// attachLegacy appends the signature to d's .sig tag, as cosign does.
func attachLegacy(t testing.TB, d name.Digest, l legacyParts) {
	t.Helper()
	var opts []static.Option
	if l.cert != nil {
		opts = append(opts, static.WithCertChain(l.cert, l.chain))
	}
	if l.rekor != nil {
		opts = append(opts, static.WithBundle(l.rekor))
	}
	if l.withTSA {
		opts = append(opts, static.WithRFC3161Timestamp(&cbundle.RFC3161Timestamp{SignedRFC3161Timestamp: l.tsa}))
	}
	sig, err := static.NewSignature(l.payload, l.b64sig, opts...)
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	nse, err := mutate.AttachSignatureToEntity(se, sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Repository, nse); err != nil {
		t.Fatal(err)
	}
}

// statementFor is the in-toto statement cosign signs for an image.
func statementFor(digest, predicateType string) []byte {
	alg, hx, _ := strings.Cut(digest, ":")
	return []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"` + alg + `":"` + hx + `"}}],"predicateType":"` + predicateType + `"}`)
}

// signBundle signs a DSSE statement into a Sigstore bundle v0.3, logged in
// the virtual Rekor v1 with an inclusion proof, and timestamped.
func signBundle(t testing.TB, vs virtual, identity, issuer string, stmt []byte, at time.Time) *protobundle.Bundle {
	t.Helper()
	ent, err := vs.AttestAtTime(identity, issuer, stmt, at, true)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := ent.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	pl, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return assemble(t, vs, ent, &protobundle.Bundle{Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
		Payload: pl, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sc.Signature()}},
	}}})
}

// signBlobBundle signs a file's bytes into a message-signature bundle v0.3.
func signBlobBundle(t testing.TB, vs virtual, identity, issuer string, blob []byte, at time.Time) *protobundle.Bundle {
	t.Helper()
	ent, err := vs.SignAtTime(identity, issuer, blob, at)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := ent.SignatureContent()
	m := sc.MessageSignatureContent()
	return assemble(t, vs, ent, &protobundle.Bundle{Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: m.Digest()},
		Signature:     m.Signature(),
	}}})
}

// assemble completes a v0.3 bundle with the entity's certificate, log entry
// (signed entry timestamp and inclusion proof) and timestamp.
func assemble(t testing.TB, vs virtual, ent *ca.TestEntity, b *protobundle.Bundle) *protobundle.Bundle {
	t.Helper()
	vc, _ := ent.VerificationContent()
	entries, _ := ent.TlogEntries()
	tss, _ := ent.Timestamps()
	return assembleParts(t, vs, vc.Certificate(), entries[0], tss[0], b)
}

// assembleParts completes a v0.3 bundle with a certificate, its log entry
// (given the signed entry timestamp and the inclusion proof it lacks) and
// an RFC 3161 timestamp.
func assembleParts(t testing.TB, vs virtual, cert *x509.Certificate, entry *tlog.Entry, tsr []byte, b *protobundle.Bundle) *protobundle.Bundle {
	t.Helper()
	tle := proto.Clone(entry.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
	var kv struct{ Kind, APIVersion string }
	if err := json.Unmarshal(tle.GetCanonicalizedBody(), &kv); err != nil {
		t.Fatal(err)
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion}
	set, err := vs.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()), IntegratedTime: tle.GetIntegratedTime(), LogIndex: tle.GetLogIndex(), LogID: hex.EncodeToString(tle.GetLogId().GetKeyId())})
	if err != nil {
		t.Fatal(err)
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	if tle.InclusionProof == nil {
		ip, err := vs.GetInclusionProof(tle.GetCanonicalizedBody())
		if err != nil {
			t.Fatal(err)
		}
		root, _ := hex.DecodeString(*ip.RootHash)
		tle.InclusionProof = &protorekor.InclusionProof{LogIndex: *ip.LogIndex, RootHash: root, TreeSize: *ip.TreeSize, Checkpoint: &protorekor.Checkpoint{Envelope: *ip.Checkpoint}}
	}
	b.MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	b.VerificationMaterial = &protobundle.VerificationMaterial{
		Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
		TlogEntries:               []*protorekor.TransparencyLogEntry{tle},
		TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tsr}}},
	}
	if _, err := bundle.NewBundle(b); err != nil {
		t.Fatalf("the test bundle is invalid: %v", err)
	}
	return b
}

func bundleJSON(t testing.TB, b *protobundle.Bundle) []byte {
	t.Helper()
	out, err := (&bundle.Bundle{Bundle: b}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// attachBundle attaches a bundle to d as a referrer, as cosign does.
func attachBundle(t testing.TB, d name.Digest, raw []byte) {
	t.Helper()
	if err := ociremote.WriteAttestationNewBundleFormat(d, raw, artifact.CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
}

// soon is when the virtual Sigstore logs a signature: within the validity of
// the certificate it issues now.
func soon() time.Time { return time.Now().Add(5 * time.Minute) }

// mustPolicy builds a policy or fails the test.
func mustPolicy(t testing.TB, opts ...PolicyOption) *Policy {
	t.Helper()
	p, err := NewPolicy(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustVerifier(t testing.TB, tm root.TrustedMaterial, p *Policy, opts ...Option) *Verifier {
	t.Helper()
	v, err := New(tm, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// failedChecks lists "name" of each failed check of each signature.
func failedChecks(a Artifact) []string {
	var out []string
	for _, s := range a.Signatures {
		for _, c := range s.Checks {
			if !c.Passed {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

func alter(b []byte) []byte {
	c := bytes.Clone(b)
	return bytes.Replace(c, []byte(`"critical"`), []byte(`"critical" `), 1)
}

func newVirtualErr() (virtual, error) {
	vs, err := ca.NewVirtualSigstore()
	return virtual{vs}, err
}

// readerOf returns a candidate's signed-bytes opener over b.
func readerOf(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}
