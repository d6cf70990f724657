package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
)

// checkClaims checks that what was signed names the artifact.
func (v *Verifier) checkClaims(c candidate) Check {
	ch := Check{Name: CheckClaims}
	want := c.algorithm() + ":" + hex.EncodeToString(c.digest)
	sc, err := c.entity.SignatureContent()
	if err != nil {
		ch.Reason = err.Error()
		return ch
	}
	switch {
	case c.kind == "image" && c.format == artifact.FormatLegacy:
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
		st, err := statementOf(c.entity)
		if err != nil {
			ch.Reason = err.Error()
			return ch
		}
		subjects := st.Digests()
		switch {
		case c.kind == "image" && st.PredicateType != artifact.CosignSignPredicateType:
			ch.Reason = fmt.Sprintf("expected predicate type %s, found %s (an attestation, not a signature)", artifact.CosignSignPredicateType, orNone(st.PredicateType))
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

// digestAs hashes the signed bytes with the named algorithm; the
// artifact's own digest is known already.
func (c candidate) digestAs(alg string) ([]byte, error) {
	if (c.kind == "file" || c.signed == nil) && protoAlgorithms[alg] == c.algorithm() {
		return c.digest, nil
	}
	var h hash.Hash
	switch alg {
	case "SHA2_256":
		h = sha256.New()
	case "SHA2_384":
		h = sha512.New384()
	case "SHA2_512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unsupported message digest algorithm %q", alg)
	}
	if c.signed == nil {
		return nil, fmt.Errorf("the signature is over the artifact's %s digest, and only its %s digest is known", alg, c.algorithm())
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

// parseStatement reads a DSSE payload as an in-toto statement.
func parseStatement(payloadType string, p []byte) (*attestation.Statement, error) {
	if payloadType != attestation.PayloadType {
		return nil, fmt.Errorf("expected a DSSE payload of type %s, found %q", attestation.PayloadType, payloadType)
	}
	return attestation.ParseStatement(p)
}

// statementOf reads the in-toto statement a DSSE signature signs, unverified.
func statementOf(e sgverify.SignedEntity) (*attestation.Statement, error) {
	sc, err := e.SignatureContent()
	if err != nil {
		return nil, err
	}
	if sc.EnvelopeContent() == nil {
		return nil, errors.New("the signature holds no DSSE envelope, so no in-toto statement")
	}
	env := sc.EnvelopeContent().RawEnvelope()
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, errors.New("the DSSE payload is not base64")
	}
	return parseStatement(env.PayloadType, raw)
}

// protoAlgorithms maps a bundle's digest algorithm to a digest's.
var protoAlgorithms = map[string]string{"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}
