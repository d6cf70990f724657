package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// leafCertificate returns the signing certificate, with the subject
// alternative name removed from its unhandled critical extensions as
// sigstore-go does (Fulcio marks an other-name SAN critical, which Go's
// x509 cannot handle).
func leafCertificate(e sgverify.SignedEntity) *x509.Certificate {
	vc, err := e.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil
	}
	// A copy: the entity's certificate is shared with sigstore-go's
	// verification of the same entity.
	leaf := *vc.Certificate()
	var keep []asn1.ObjectIdentifier
	for _, oid := range leaf.UnhandledCriticalExtensions {
		if !oid.Equal(cryptoutils.SANOID) {
			keep = append(keep, oid)
		}
	}
	leaf.UnhandledCriticalExtensions = keep
	return &leaf
}

// checkChain checks that the certificate chains to a Fulcio CA of the
// trusted root at every trusted time, and its SCT where the root lists CT
// logs.
func (v *Verifier) checkChain(e sgverify.SignedEntity, leaf *x509.Certificate, times []time.Time) Check {
	ch := Check{Name: CheckCertificateChain}
	if leaf == nil {
		ch.Reason = "the signature carries no certificate (it was made with a key, not keylessly: verify it with that key)"
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
		if err := v.verifySCT(chains); err != nil {
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

// verifySCT verifies the SCT of the certificate chains once per verifier
// (see Verifier.scts).
func (v *Verifier) verifySCT(chains [][]*x509.Certificate) error {
	if v.scts == nil {
		return sgverify.VerifySignedCertificateTimestamp(chains, 1, v.trusted)
	}
	h := sha256.New()
	for _, chain := range chains {
		for _, c := range chain {
			h.Write(c.Raw)
		}
		h.Write([]byte{0})
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	if got, ok := v.scts.Load(k); ok {
		err, _ := got.(error)
		return err
	}
	err := sgverify.VerifySignedCertificateTimestamp(chains, 1, v.trusted)
	v.scts.Store(k, err)
	return err
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
