package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// CosignSignPredicateType is the in-toto predicate type of a cosign image
// signature in the bundle format.
const CosignSignPredicateType = ctypes.CosignSignPredicateType

const inTotoPayloadType = "application/vnd.in-toto+json"

// candidate is one signature found for an artifact, ready to be checked.
type candidate struct {
	format   Format
	location string
	// entity is the signature as sigstore-go reads it; nil when err is set.
	entity sgverify.SignedEntity
	// err says why the signature could not be read.
	err error
	// digest is the artifact's SHA-256 digest.
	digest []byte
	// kind is "image" or "file".
	kind string
	// signed returns the bytes a message signature was made over: a legacy
	// image signature's payload, or a file. Nil for image bundles, whose
	// statement names the digest.
	signed func() (io.ReadCloser, error)
	// legacyPayload is a legacy image signature's simple-signing payload.
	legacyPayload []byte
}

// evaluate checks one signature. sigstore-go's verifier decides whether it
// passes; the separate checks that follow say which step failed and what
// was expected and found, and the claims sigstore-go does not know about
// (cosign's payload type and predicate type) are required too.
func (v *Verifier) evaluate(c candidate) Signature {
	s := Signature{Format: c.format, Location: c.location}
	if !v.o.format.accepts(c.format) {
		s.Checks = []Check{{Name: CheckFormat, Reason: fmt.Sprintf("format %s is required; this is a %s signature", v.o.format, c.format)}}
		return s
	}
	if c.err != nil {
		name := CheckFormat
		var ce *checkError
		if errors.As(c.err, &ce) {
			name = ce.check
		}
		s.Checks = []Check{{Name: name, Reason: c.err.Error()}}
		return s
	}
	e := c.entity

	fullErr := v.verifyFull(c)

	s.Checks = append(s.Checks, v.checkClaims(c), v.checkSignature(c))
	logTimes, tlogCheck := v.checkLog(e, &s)
	s.Checks = append(s.Checks, tlogCheck)
	times, tsCheck := v.checkTimestamps(e, logTimes, &s)
	s.Checks = append(s.Checks, tsCheck)
	leaf := leafCertificate(e)
	s.Checks = append(s.Checks, v.checkChain(e, leaf, times), v.checkIdentity(leaf, &s))

	passed := true
	for _, ch := range s.Checks {
		passed = passed && ch.Passed
	}
	if fullErr != nil && passed {
		s.Checks = append(s.Checks, Check{Name: CheckVerifier, Reason: fullErr.Error()})
	}
	s.Passed = passed && fullErr == nil
	return s
}

// verifyFull runs sigstore-go's whole verification of the signature, with
// the artifact and the identity policy.
func (v *Verifier) verifyFull(c candidate) error {
	var art sgverify.ArtifactPolicyOption
	if c.signed != nil {
		r, err := c.signed()
		if err != nil {
			return err
		}
		defer r.Close()
		art = sgverify.WithArtifact(r)
	} else {
		art = sgverify.WithArtifactDigest("sha256", c.digest)
	}
	_, err := v.sg.Verify(c.entity, sgverify.NewPolicy(art, sgverify.WithCertificateIdentity(v.policy.identity)))
	return err
}

// checkClaims checks that what was signed names the artifact.
func (v *Verifier) checkClaims(c candidate) Check {
	ch := Check{Name: CheckClaims}
	want := "sha256:" + hex.EncodeToString(c.digest)
	sc, err := c.entity.SignatureContent()
	if err != nil {
		ch.Reason = err.Error()
		return ch
	}
	switch {
	case c.kind == "image" && c.format == FormatLegacy:
		var p payload.SimpleContainerImage
		if err := json.Unmarshal(c.legacyPayload, &p); err != nil {
			ch.Reason = fmt.Sprintf("the signed payload is not a cosign simple-signing payload: %v", err)
			return ch
		}
		got := p.Critical.Image.DockerManifestDigest
		switch {
		case p.Critical.Type != payload.CosignSignatureType:
			ch.Reason = fmt.Sprintf("expected payload type %q, found %q", payload.CosignSignatureType, p.Critical.Type)
		case got != want:
			ch.Reason = fmt.Sprintf("expected the signed manifest digest %s, found %s (the signature was made for another image)", want, orNone(got))
		default:
			ch.Passed = true
			ch.Reason = fmt.Sprintf("the signed payload names %s", got)
		}
	case sc.EnvelopeContent() != nil:
		env := sc.EnvelopeContent().RawEnvelope()
		raw, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			ch.Reason = "the DSSE payload is not base64"
			return ch
		}
		st, err := parseStatement(env.PayloadType, raw)
		if err != nil {
			ch.Reason = err.Error()
			return ch
		}
		subjects := st.digests()
		switch {
		case c.kind == "image" && st.PredicateType != CosignSignPredicateType:
			ch.Reason = fmt.Sprintf("expected predicate type %s, found %s (an attestation, not a signature)", CosignSignPredicateType, orNone(st.PredicateType))
		case !slices.Contains(subjects, want):
			ch.Reason = fmt.Sprintf("expected the statement's subject to name %s, found %s", want, orNone(strings.Join(subjects, ", ")))
		default:
			ch.Passed = true
			ch.Reason = fmt.Sprintf("the signed in-toto statement names %s", want)
			if c.kind == "image" {
				ch.Reason += " with predicate type " + st.PredicateType
			}
		}
	case sc.MessageSignatureContent() != nil:
		m := sc.MessageSignatureContent()
		got, err := c.digestAs(m.DigestAlgorithm())
		if err != nil {
			ch.Reason = err.Error()
			return ch
		}
		if !bytes.Equal(got, m.Digest()) {
			ch.Reason = fmt.Sprintf("the bundle signs the %s digest %s, but the file's is %s (the file changed after signing, or the bundle is another file's)", m.DigestAlgorithm(), hex.EncodeToString(m.Digest()), hex.EncodeToString(got))
			return ch
		}
		ch.Passed = true
		ch.Reason = fmt.Sprintf("the signed digest is the file's, %s", want)
	default:
		ch.Reason = "the signature has neither a message signature nor a DSSE envelope"
	}
	return ch
}

// digestAs hashes the signed bytes with the named algorithm; the SHA-256
// digest is known already.
func (c candidate) digestAs(alg string) ([]byte, error) {
	var h hash.Hash
	switch alg {
	case "SHA2_256":
		if c.kind == "file" || c.signed == nil {
			// A file's SHA-256 digest is c.digest.
			return c.digest, nil
		}
		h = sha256.New()
	case "SHA2_384":
		h = sha512.New384()
	case "SHA2_512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unsupported message digest algorithm %q", alg)
	}
	if c.signed == nil {
		return nil, fmt.Errorf("cannot recompute a %s digest of the artifact", alg)
	}
	r, err := c.signed()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// statement is the part of an in-toto statement the claims check reads.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
}

func (s statement) digests() []string {
	var d []string
	for _, sub := range s.Subject {
		for alg, hx := range sub.Digest {
			d = append(d, alg+":"+hx)
		}
	}
	slices.Sort(d)
	return d
}

func parseStatement(payloadType string, p []byte) (statement, error) {
	var st statement
	if payloadType != inTotoPayloadType {
		return st, fmt.Errorf("expected a DSSE payload of type %s, found %q", inTotoPayloadType, payloadType)
	}
	if err := json.Unmarshal(p, &st); err != nil {
		return st, fmt.Errorf("the signed payload is not an in-toto statement: %v", err)
	}
	return st, nil
}

// checkSignature verifies the signature alone, with the certificate's key.
func (v *Verifier) checkSignature(c candidate) Check {
	ch := Check{Name: CheckSignature}
	sc, err := c.entity.SignatureContent()
	if err != nil {
		ch.Reason = err.Error()
		return ch
	}
	vc, err := c.entity.VerificationContent()
	if err != nil {
		ch.Reason = err.Error()
		return ch
	}
	if c.signed != nil && sc.MessageSignatureContent() != nil {
		r, err := c.signed()
		if err != nil {
			ch.Reason = err.Error()
			return ch
		}
		defer r.Close()
		err = sgverify.VerifySignatureWithArtifacts(sc, vc, v.trusted, []io.Reader{r})
		if err != nil {
			ch.Reason = fmt.Sprintf("the signature does not verify over the signed %s with the certificate's key (altered after signing?): %v", c.signedName(), err)
			return ch
		}
	} else if err := sgverify.VerifySignature(sc, vc, v.trusted); err != nil {
		ch.Reason = fmt.Sprintf("the signature does not verify over the signed statement with the certificate's key (altered after signing?): %v", err)
		return ch
	}
	ch.Passed = true
	ch.Reason = "the signature verifies with the certificate's key"
	return ch
}

func (c candidate) signedName() string {
	if c.kind == "file" {
		return "file"
	}
	return "payload"
}

// checkLog verifies the transparency log entries offline and describes the
// entry in the report.
func (v *Verifier) checkLog(e sgverify.SignedEntity, s *Signature) ([]sgverify.TimestampVerificationResult, Check) {
	ch := Check{Name: CheckTransparencyLog}
	entries, err := e.TlogEntries()
	if err != nil {
		ch.Reason = err.Error()
		return nil, ch
	}
	if len(entries) == 0 {
		ch.Reason = "the signature carries no transparency log entry (it was never logged, or the entry was removed)"
		return nil, ch
	}
	logs := v.trusted.RekorLogs()
	var descs []string
	for i, en := range entries {
		id := hex.EncodeToString([]byte(en.LogKeyID()))
		le := &LogEntry{Index: en.LogIndex(), LogID: id, Version: 1}
		if en.IsRekorV2() {
			le.Version = 2
		}
		if t := en.IntegratedTime(); !t.IsZero() && en.TransparencyLogEntry().GetIntegratedTime() != 0 {
			le.IntegratedTime = &t
		}
		tl, known := logs[id]
		if known {
			le.URL = tl.BaseURL
		}
		if i == 0 {
			s.Log = le
		}
		if !known {
			descs = append(descs, fmt.Sprintf("entry %d is in a log the trusted root does not list (log id %s)", le.Index, id))
			continue
		}
		descs = append(descs, describeEntry(en, le))
	}
	times, err := v.sg.VerifyTransparencyLogInclusion(e)
	if err != nil {
		// sigstore-go skips an entry whose signed entry timestamp does not
		// verify, and then reports too few entries: say which did not.
		for _, en := range entries {
			if en.HasInclusionPromise() && !en.IsRekorV2() {
				if serr := tlog.VerifySET(en, logs); serr != nil {
					descs = append(descs, fmt.Sprintf("the signed entry timestamp of entry %d does not verify (%v): the entry was altered, or another log made it", en.LogIndex(), serr))
				}
			}
		}
		ch.Reason = fmt.Sprintf("%s [%s]", tidy(err), strings.Join(descs, "; "))
		return nil, ch
	}
	ch.Passed = true
	ch.Reason = strings.Join(descs, "; ") + ", verified offline"
	return times, ch
}

func describeEntry(en *tlog.Entry, le *LogEntry) string {
	var proofs []string
	if en.HasInclusionPromise() {
		proofs = append(proofs, "signed entry timestamp")
	}
	if en.HasInclusionProof() {
		proofs = append(proofs, "inclusion proof with signed checkpoint")
	}
	return fmt.Sprintf("Rekor v%d entry %d at %s with its %s", le.Version, le.Index, le.URL, strings.Join(proofs, " and "))
}

// checkTimestamps establishes the trusted times of the signature: the log's
// integrated time (verified with the log entry) and RFC 3161 timestamps.
func (v *Verifier) checkTimestamps(e sgverify.SignedEntity, logTimes []sgverify.TimestampVerificationResult, s *Signature) ([]time.Time, Check) {
	ch := Check{Name: CheckTimestamp}
	ts, err := v.sg.VerifyObserverTimestamps(e, logTimes)
	if err != nil {
		ch.Reason = fmt.Sprintf("no trusted time for the signature (it needs a verified transparency log entry or a timestamp from a trusted timestamp authority): %s", tidy(err))
		return nil, ch
	}
	var times []time.Time
	var sources, descs []string
	for _, t := range ts {
		src := SourceTimestampAuthority
		if t.Type == "Tlog" {
			src = SourceTransparencyLog
		}
		s.Timestamps = append(s.Timestamps, Timestamp{Source: src, URI: t.URI, Time: t.Timestamp.UTC()})
		if !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
		times = append(times, t.Timestamp)
		descs = append(descs, fmt.Sprintf("%s %s at %s", src, t.URI, t.Timestamp.UTC().Format(time.RFC3339)))
	}
	s.TimestampSource = strings.Join(sources, "+")
	ch.Passed = true
	ch.Reason = "signed at " + strings.Join(descs, "; ")
	return times, ch
}

// tidy removes the noise sigstore-go leaves in some messages (a joined nil
// error).
func tidy(err error) string {
	return strings.ReplaceAll(err.Error(), "; error: %!w(<nil>)", "")
}

// leafCertificate returns the signing certificate, with the subject
// alternative name removed from its unhandled critical extensions as
// sigstore-go does (Fulcio marks an other-name SAN critical, which Go's
// x509 cannot handle).
func leafCertificate(e sgverify.SignedEntity) *x509.Certificate {
	vc, err := e.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil
	}
	leaf := vc.Certificate()
	var keep []asn1.ObjectIdentifier
	for _, oid := range leaf.UnhandledCriticalExtensions {
		if !oid.Equal(cryptoutils.SANOID) {
			keep = append(keep, oid)
		}
	}
	leaf.UnhandledCriticalExtensions = keep
	return leaf
}

// checkChain checks that the certificate chains to a Fulcio CA of the
// trusted root at every trusted time, and its SCT where the root lists CT
// logs.
func (v *Verifier) checkChain(e sgverify.SignedEntity, leaf *x509.Certificate, times []time.Time) Check {
	ch := Check{Name: CheckCertificateChain}
	if leaf == nil {
		ch.Reason = "the signature carries no certificate"
		return ch
	}
	validity := fmt.Sprintf("valid %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	if len(times) == 0 {
		ch.Reason = fmt.Sprintf("no trusted time to check the certificate at (%s)%s", validity, claimedTimes(e, leaf))
		return ch
	}
	var chains [][]*x509.Certificate
	for _, t := range times {
		c, err := sgverify.VerifyLeafCertificate(t, leaf, v.trusted)
		if err != nil {
			ch.Reason = v.explainChain(leaf, t, validity)
			return ch
		}
		chains = c
	}
	if v.requireSCT {
		if err := sgverify.VerifySignedCertificateTimestamp(chains, 1, v.trusted); err != nil {
			ch.Reason = fmt.Sprintf("the certificate chains to the trusted root, but its certificate transparency timestamp does not verify: %v", err)
			return ch
		}
	}
	ch.Passed = true
	anchor := chains[0][len(chains[0])-1]
	ch.Reason = fmt.Sprintf("issued by %s, chains to the trusted root's Fulcio CA %s; %s, checked at the signing time", leaf.Issuer, anchor.Subject, validity)
	if v.requireSCT {
		ch.Reason += "; certificate transparency timestamp verified"
	}
	return ch
}

// claimedTimes names the log time a signature claims, and whether the
// certificate was valid then, when no time could be trusted.
func claimedTimes(e sgverify.SignedEntity, leaf *x509.Certificate) string {
	entries, err := e.TlogEntries()
	if err != nil {
		return ""
	}
	for _, en := range entries {
		if en.TransparencyLogEntry().GetIntegratedTime() == 0 {
			continue
		}
		t := en.IntegratedTime()
		if t.Before(leaf.NotBefore) || t.After(leaf.NotAfter) {
			return fmt.Sprintf("; the unverified log time %s is outside the certificate's validity", t.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// explainChain says why the certificate did not chain at time t.
func (v *Verifier) explainChain(leaf *x509.Certificate, t time.Time, validity string) string {
	at := t.UTC().Format(time.RFC3339)
	if t.Before(leaf.NotBefore) || t.After(leaf.NotAfter) {
		return fmt.Sprintf("the certificate was not valid at the signing time %s (%s)", at, validity)
	}
	var trusted []string
	for _, ca := range v.trusted.FulcioCertificateAuthorities() {
		if f, ok := ca.(*root.FulcioCertificateAuthority); ok && f.Root != nil {
			trusted = append(trusted, f.Root.Subject.String())
			continue
		}
		trusted = append(trusted, fmt.Sprintf("%T", ca))
	}
	return fmt.Sprintf("the certificate, issued by %s, does not chain to a Fulcio CA of the trusted root at %s (trusted: %s)", leaf.Issuer, at, orNone(strings.Join(trusted, "; ")))
}

// checkIdentity matches the certificate against the policy, and records the
// identity found.
func (v *Verifier) checkIdentity(leaf *x509.Certificate, s *Signature) Check {
	ch := Check{Name: CheckIdentity}
	if leaf == nil {
		ch.Reason = fmt.Sprintf("expected %s; the signature carries no certificate", v.policy.expected)
		return ch
	}
	sum, err := certificate.SummarizeCertificate(leaf)
	if err != nil {
		ch.Reason = fmt.Sprintf("expected %s; the certificate's identity is unreadable: %v", v.policy.expected, err)
		return ch
	}
	s.Identity, s.Issuer = sum.SubjectAlternativeName, sum.Issuer
	s.Certificate = &Identity{
		Subject: sum.SubjectAlternativeName, Issuer: sum.Issuer,
		SourceRepositoryURI: sum.SourceRepositoryURI, SourceRepositoryRef: sum.SourceRepositoryRef,
		RunnerEnvironment: sum.RunnerEnvironment,
	}
	if err := v.policy.check(sum); err != nil {
		ch.Reason = err.Error()
		return ch
	}
	ch.Passed = true
	ch.Reason = fmt.Sprintf("subject %s, issuer %s%s; expected %s", sum.SubjectAlternativeName, sum.Issuer, foundExtensions(v.policy.expected, sum.Extensions), v.policy.expected)
	return ch
}
