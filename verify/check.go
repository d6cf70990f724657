package verify

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
)

// Checks of one signature, each in the file named for it (claims, signature,
// tlog, timestamp, certificate, identity), after sigstore-go's own steps:
// evaluate runs them all beside sigstore-go's full verification.

// candidate is one signature found for an artifact, ready to be checked.
type candidate struct {
	format   artifact.Format
	location string
	// entity is the signature as sigstore-go reads it; nil when err is set.
	entity sgverify.SignedEntity
	// err says why the signature could not be read.
	err error
	// digest is the artifact's digest, SHA-256 unless alg says otherwise.
	digest []byte
	// alg is digest's algorithm, "sha256" (the default, when empty),
	// "sha384" or "sha512".
	alg string
	// kind is "image" or "file".
	kind string
	// signed returns the bytes a message signature was made over: a legacy
	// image signature's payload, or a file. Nil for image bundles, whose
	// statement names the digest.
	signed func() (io.ReadCloser, error)
	// legacyPayload is a legacy image signature's simple-signing payload.
	legacyPayload []byte
	// raw is a bundle's JSON, as read.
	raw []byte

	// attestation is set for an attestation (a DSSE statement of another
	// predicate type than a cosign signature's).
	attestation bool
	// required is the predicate type an attestation is checked for; set,
	// the subject and predicate-type checks replace the claims check.
	required string
	// statement is an attestation's statement, read unverified to sort
	// attestations by type; stmtErr says why it could not be read.
	statement *attestation.Statement
	stmtErr   error
}

// evaluate checks one signature. sigstore-go's verifier decides whether it
// passes; the separate checks that follow say which step failed and what
// was expected and found, and the claims sigstore-go does not know about
// (cosign's payload type and predicate type) are required too.
func (v *Verifier) evaluate(c candidate) Signature {
	// An image's bundle names only the digest, and the same bundle is
	// attached in every repository of it: it is checked once, its outcome
	// reused (the checks depend on nothing else: the bundle's bytes, the
	// digest, what is required, and this verifier).
	if c.raw == nil || c.err != nil || c.signed != nil || v.checked == nil {
		return v.evaluateOnce(c)
	}
	key := bundleKey{sum: sha256.Sum256(c.raw), digest: string(c.digest), alg: c.alg, format: c.format, required: c.required, attestation: c.attestation}
	if got, ok := v.checked.Load(key); ok {
		s := got.(Signature)
		s.Location = c.location
		if v.o.bundleBytes {
			s.BundleJSON = c.raw
		}
		s.Checks = slices.Clone(s.Checks)
		s.Timestamps = slices.Clone(s.Timestamps)
		return s
	}
	s := v.evaluateOnce(c)
	v.checked.Store(key, s)
	return s
}

// bundleKey identifies what an image bundle's checks depend on.
type bundleKey struct {
	sum         [sha256.Size]byte
	digest, alg string
	format      artifact.Format
	required    string
	attestation bool
}

// evaluateOnce checks one signature (see evaluate).
func (v *Verifier) evaluateOnce(c candidate) Signature {
	s := Signature{Format: c.format, Location: c.location}
	if v.o.bundleBytes {
		s.BundleJSON = c.raw
	}
	if !v.o.format.Includes(c.format) {
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
	c.entity = memo(c.entity)
	e := c.entity

	result, fullErr := v.verifyFull(c)
	// brief: sigstore-go passed the signature, and its steps are not
	// made again one by one (WithBriefPass).
	brief := v.o.briefPass && fullErr == nil

	if c.required != "" {
		if c.statement == nil && c.stmtErr == nil {
			c.statement, c.stmtErr = statementOf(e)
		}
		s.Checks = append(s.Checks, v.checkSubject(c), v.checkPredicateType(c))
	} else {
		s.Checks = append(s.Checks, v.checkClaims(c))
	}
	var (
		tlogCheck, tsCheck Check
		times              []time.Time
	)
	if brief {
		s.Checks = append(s.Checks, passedBy(CheckSignature))
		tlogCheck = v.describeLog(e, &s)
		tsCheck = trustedTimes(result, &s)
	} else {
		s.Checks = append(s.Checks, v.checkSignature(c))
		var logTimes []sgverify.TimestampVerificationResult
		logTimes, tlogCheck = v.checkLog(e, &s)
		times, tsCheck = v.checkTimestamps(e, logTimes, &s)
	}
	s.Checks = append(s.Checks, tlogCheck, tsCheck)
	leaf := leafCertificate(e)
	switch {
	case v.policy.key != nil:
		s.Checks = append(s.Checks, v.checkKey(e, leaf, &s))
	case brief:
		s.Checks = append(s.Checks, passedBy(CheckCertificateChain), v.checkIdentity(leaf, &s))
	default:
		s.Checks = append(s.Checks, v.checkChain(e, leaf, times), v.checkIdentity(leaf, &s))
	}
	if c.required == attestation.ProvenancePredicateType && (c.statement == nil || c.statement.PredicateType == c.required) {
		s.Checks = append(s.Checks, v.checkProvenance(c, leaf, &s))
	}

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
func (v *Verifier) verifyFull(c candidate) (*sgverify.VerificationResult, error) {
	var art sgverify.ArtifactPolicyOption
	if c.signed != nil {
		r, err := c.signed()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		art = sgverify.WithArtifact(r)
	} else {
		art = sgverify.WithArtifactDigest(c.algorithm(), c.digest)
	}
	id := sgverify.WithCertificateIdentity(v.policy.identity)
	if v.policy.key != nil {
		id = sgverify.WithKey()
	}
	return v.sg.Verify(c.entity, sgverify.NewPolicy(art, id))
}

// passedBy is a check that sigstore-go's verification made and passed
// (WithBriefPass).
func passedBy(name string) Check {
	return Check{Name: name, Passed: true, Reason: "verified by sigstore-go's full verification"}
}

// trustedTimes records the times sigstore-go's verification trusted
// (WithBriefPass).
func trustedTimes(r *sgverify.VerificationResult, s *Signature) Check {
	recordTimes(r.VerifiedTimestamps, s)
	return passedBy(CheckTimestamp)
}

// tidy removes the noise sigstore-go leaves in some messages (a joined nil
// error).
func tidy(err error) string {
	return strings.ReplaceAll(err.Error(), "; error: %!w(<nil>)", "")
}

// algorithm is the name of the digest's algorithm.
func (c candidate) algorithm() string {
	if c.alg == "" {
		return "sha256"
	}
	return c.alg
}
