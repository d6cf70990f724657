package verify

import (
	"crypto/x509"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigil-dev/sigil/artifact"
)

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
	s.Certificate = &artifact.Identity{
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

// checkKey checks, for a policy with a public key, that the signature was
// made with that key: it carries no certificate (the key verified the
// signature, see CheckSignature), or a certificate for that very key.
func (v *Verifier) checkKey(e sgverify.SignedEntity, leaf *x509.Certificate, s *Signature) Check {
	ch := Check{Name: CheckKey}
	want := v.policy.expected.PublicKey
	if leaf != nil {
		got, err := keyFingerprint(leaf.PublicKey)
		if err != nil || got != want {
			ch.Reason = fmt.Sprintf("expected a signature made with the key %s; found a certificate for the key %s", want, orNone(got))
			return ch
		}
	} else if vc, err := e.VerificationContent(); err != nil || vc.PublicKey() == nil {
		ch.Reason = fmt.Sprintf("expected a signature made with the key %s; the signature names no key", want)
		return ch
	}
	s.Key = want
	ch.Passed = true
	ch.Reason = "made with the public key " + want + " (no certificate identity is checked)"
	return ch
}
