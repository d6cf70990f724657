package verify

import (
	"fmt"
	"io"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// checkSignature verifies the signature alone, with the certificate's key
// (or the policy's public key).
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
	} else if sc.MessageSignatureContent() != nil {
		// A digest only: the signature must be over it.
		err := sgverify.VerifySignatureWithArtifactDigests(sc, vc, v.trusted, []sgverify.ArtifactDigest{{Algorithm: c.algorithm(), Digest: c.digest}})
		if err != nil {
			ch.Reason = fmt.Sprintf("the signature does not verify over the digest %x with the signing key (altered after signing, or another artifact's?): %v", c.digest, err)
			return ch
		}
	} else if err := sgverify.VerifySignature(sc, vc, v.trusted); err != nil {
		ch.Reason = fmt.Sprintf("the signature does not verify over the signed statement with the certificate's key (altered after signing?): %v", err)
		return ch
	}
	ch.Passed = true
	ch.Reason = "the signature verifies with the certificate's key"
	if vc.PublicKey() != nil {
		ch.Reason = "the signature verifies with the given public key"
	}
	return ch
}

func (c candidate) signedName() string {
	if c.kind == "file" {
		return "file"
	}
	return "payload"
}
