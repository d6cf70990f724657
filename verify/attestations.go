package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/registry"
)

// Attestations: besides its signatures, an artifact may be required to
// carry signed in-toto attestations of given predicate types
// (WithAttestations). They are found beside the signatures:
//
//   - for an image, among the digest's referrers (a Sigstore bundle whose
//     DSSE statement has another predicate type than a cosign signature,
//     as cosign 3's attest --new-bundle-format and GitHub's actions/attest
//     push them), and in cosign's legacy sha256-<hex>.att tag (cosign 2's
//     attest, which Kyverno and policy-controller read);
//   - for a file, in its bundle (FILE.sigstore.json, or the one named)
//     when that is a DSSE attestation, and in every bundle named
//     *.intoto.sigstore.json in the file's directory (a release's
//     attestations of all its files, e.g. provenance.intoto.sigstore.json),
//     or in the bundles FileSpec.Attestations names.

// AttestationBundleSuffix ends the name of a bundle holding an attestation
// of release files, which VerifyFiles reads for every file of its
// directory.
const AttestationBundleSuffix = ".intoto" + artifact.BundleSuffix

// WithAttestations requires of every image and file an attestation of each
// predicate type (absolute URIs; attestation.ExpandPredicateType turns the
// names provenance, spdx and cyclonedx into theirs). Each must pass the
// checks of a signature (signature, transparency log, timestamp,
// certificate chain, identity, all against the same trusted root and
// policy), and its statement must name the artifact's digest as a subject
// (CheckSubject) with the predicate type required (CheckPredicateType); a
// provenance (attestation.ProvenancePredicateType) must also agree with its
// certificate and the policy's GitHub presets (CheckProvenance).
//
// With attestations required, an artifact passes when every required
// attestation does: a passing attestation proves what a signature does (the
// identity vouched for the digest), so no separate signature is required;
// the signatures found are still checked and reported. The default is none:
// an artifact passes on its signatures alone.
func WithAttestations(predicateTypes ...string) Option {
	return func(o *options) { o.attestations = append(o.attestations, predicateTypes...) }
}

// checkAttestationOptions refuses a required predicate type that is not an
// absolute URI, or one given twice.
func checkAttestationOptions(types []string) error {
	for i, t := range types {
		if err := attestation.CheckPredicateType(t); err != nil {
			return fmt.Errorf("attestations: %w", err)
		}
		if slices.Contains(types[:i], t) {
			return fmt.Errorf("attestations: %s required twice", t)
		}
	}
	return nil
}

// findLegacyAttestations reads the attestations in the digest's
// sha256-<hex>.att tag, as cosign 2's verify-attestation does: each layer's
// payload is a DSSE envelope, its annotations the certificate, chain, Rekor
// v1 entry and timestamp.
func (v *Verifier) findLegacyAttestations(ctx context.Context, d name.Digest, digest []byte) ([]candidate, error) {
	tag, list, err := v.tagLayers(ctx, d, ociremote.AttestationTag)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for i, att := range list {
		c := candidate{format: artifact.FormatLegacy, location: fmt.Sprintf("%s (layer %d)", tag, i+1), digest: digest, kind: "image", attestation: true}
		ann, err := att.Annotations()
		if err != nil {
			c.err = err
			out = append(out, c)
			continue
		}
		env, err := readLayer(att, maxBundleSize)
		if err != nil {
			c.err = fmt.Errorf("reading the attestation: %w", err)
			out = append(out, c)
			continue
		}
		if b, err := legacyFromAnnotations(ann).toDSSEBundle(env, v.policy.key != nil); err != nil {
			c.err = err
		} else {
			c.entity = b
		}
		out = append(out, c)
	}
	return out, nil
}

// fileAttestations reads the attestation candidates of a file: the bundles
// given, else every *.intoto.sigstore.json in its directory.
func (v *Verifier) fileAttestations(f FileSpec, digest []byte, alg string) []candidate {
	paths := f.Attestations
	if len(paths) == 0 && f.Path != "" {
		paths, _ = filepath.Glob(filepath.Join(filepath.Dir(f.Path), "*"+AttestationBundleSuffix))
	}
	var out []candidate
	for _, p := range paths {
		if len(out) >= maxCandidates {
			break
		}
		c := candidate{format: artifact.FormatBundle, location: p, digest: digest, alg: alg, kind: "file", attestation: true}
		raw, err := readFileLimited(p, maxBundleSize)
		if err == nil {
			var b *bundle.Bundle
			b, _, err = parseBundleJSON(raw, nil, v.policy.key != nil)
			switch {
			case err == nil && b.GetDsseEnvelope() == nil:
				err = errors.New("the bundle holds a message signature, not an in-toto attestation")
			case err == nil:
				c.entity = b
			}
		}
		if err != nil {
			c.err = fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, c)
	}
	return out
}

// checkAttestations checks the attestations found against each required
// predicate type. Each required type gets its own entry, listing the
// attestations of that type, each checked; when none is of that type,
// every attestation found, so the report says what was there instead.
func (v *Verifier) checkAttestations(found []candidate) ([]Attestation, *provenance.Summary) {
	for i := range found {
		if found[i].err == nil && found[i].statement == nil {
			found[i].statement, _ = statementOf(found[i].entity)
		}
	}
	var out []Attestation
	var summary *provenance.Summary
	for _, req := range v.o.attestations {
		a := Attestation{PredicateType: req}
		var matching []candidate
		var types []string
		for _, c := range found {
			if c.statement != nil {
				types = append(types, c.statement.PredicateType)
				if attestation.MatchesPredicateType(req, c.statement.PredicateType) {
					matching = append(matching, c)
				}
			}
		}
		list := matching
		switch {
		case len(found) == 0:
			a.Error = "no attestation found"
		case len(matching) == 0:
			slices.Sort(types)
			a.Error = fmt.Sprintf("none of the %d attestation(s) found is of type %s (found: %s)", len(found), req, orNone(strings.Join(slices.Compact(types), ", ")))
			list = found
		}
		for _, c := range list {
			c.required = req
			s := v.evaluate(c)
			if s.Passed && !a.Passed {
				a.Passed = true
				if req == attestation.ProvenancePredicateType {
					a.Provenance = s.provenance
					if summary == nil {
						summary = s.provenance
					}
				}
			}
			a.Found = append(a.Found, s)
		}
		out = append(out, a)
	}
	return out, summary
}

// checkSubject checks that the statement names the artifact's digest.
func (v *Verifier) checkSubject(c candidate) Check {
	ch := Check{Name: CheckSubject}
	want := c.algorithm() + ":" + fmt.Sprintf("%x", c.digest)
	if c.stmtErr != nil {
		ch.Reason = c.stmtErr.Error()
		return ch
	}
	if !slices.Contains(c.statement.Digests(), want) {
		ch.Reason = fmt.Sprintf("expected the statement's subject to name %s, found %s (an attestation of another artifact)", want, orNone(strings.Join(c.statement.Digests(), ", ")))
		return ch
	}
	ch.Passed = true
	ch.Reason = "the signed in-toto statement names " + want
	return ch
}

// checkPredicateType checks the statement's predicate type is the one
// required.
func (v *Verifier) checkPredicateType(c candidate) Check {
	ch := Check{Name: CheckPredicateType}
	if c.stmtErr != nil {
		ch.Reason = c.stmtErr.Error()
		return ch
	}
	if !attestation.MatchesPredicateType(c.required, c.statement.PredicateType) {
		ch.Reason = fmt.Sprintf("expected predicate type %s, found %s", c.required, c.statement.PredicateType)
		return ch
	}
	ch.Passed = true
	ch.Reason = "predicate type " + c.statement.PredicateType
	return ch
}

// checkProvenance checks a provenance predicate against the certificate
// that signed it (its Fulcio extensions, see provenance.Predicate.Compare)
// and the policy's GitHub presets, and records its summary.
func (v *Verifier) checkProvenance(c candidate, leaf *x509.Certificate, s *Signature) Check {
	ch := Check{Name: CheckProvenance}
	if c.stmtErr != nil {
		ch.Reason = c.stmtErr.Error()
		return ch
	}
	p, err := provenance.Parse(c.statement.Predicate)
	if err != nil {
		ch.Reason = err.Error()
		return ch
	}
	sum := p.Summary()
	s.provenance = &sum
	var reasons []string
	if leaf == nil {
		if v.policy.key == nil {
			ch.Reason = "the attestation carries no certificate to compare the provenance with"
			return ch
		}
	} else {
		cs, err := certificate.SummarizeCertificate(leaf)
		if err != nil {
			ch.Reason = fmt.Sprintf("the certificate's extensions are unreadable: %v", err)
			return ch
		}
		if ms := p.Compare(cs.Extensions); len(ms) > 0 {
			reasons = append(reasons, "the provenance disagrees with the certificate that signed it: "+provenance.Describe(ms))
		}
	}
	reasons = append(reasons, v.policy.github.checkProvenance(p)...)
	if len(reasons) > 0 {
		ch.Reason = strings.Join(reasons, "; ")
		return ch
	}
	ch.Passed = true
	ch.Reason = "the provenance (" + sum.String() + ") agrees with the certificate"
	if v.policy.key != nil {
		ch.Reason = "the provenance (" + sum.String() + ") was made with the given key: no certificate to compare it with"
	}
	if g := v.policy.github; g.repository != "" || g.runner != "" {
		ch.Reason += " and with the policy's GitHub presets"
	}
	return ch
}

// checkProvenance says where a provenance predicate disagrees with the
// presets.
func (g gitHubPresets) checkProvenance(p *provenance.Predicate) []string {
	w := p.BuildDefinition.ExternalParameters.Workflow
	var out []string
	if g.repository != "" && w.Repository != gitHubURL+g.repository {
		out = append(out, fmt.Sprintf("the policy requires repository %s, the provenance names %s", gitHubURL+g.repository, w.Repository))
	}
	if g.workflow != "" && w.Path != g.workflow {
		out = append(out, fmt.Sprintf("the policy requires workflow %s, the provenance names %s", g.workflow, w.Path))
	}
	if g.ref != nil && !g.ref.MatchString(w.Ref) {
		out = append(out, fmt.Sprintf("the policy requires a ref matching %s, the provenance names %s", g.refGlob, w.Ref))
	}
	if g.runner != "" && p.BuildDefinition.InternalParameters.GitHub.RunnerEnvironment != g.runner {
		out = append(out, fmt.Sprintf("the policy requires runner environment %s, the provenance names %s", g.runner, orNone(p.BuildDefinition.InternalParameters.GitHub.RunnerEnvironment)))
	}
	return out
}

// FoundAttestation is one attestation of an image, checked as an
// attestation of the predicate type its own statement names.
type FoundAttestation struct {
	Signature
	// PredicateType and Predicate are the statement's.
	PredicateType string
	Predicate     []byte
}

// Attestations finds every attestation of the manifest t — bundle
// referrers and cosign's .att tag, in the formats the verifier accepts —
// and checks each as an attestation of its statement's predicate type:
// signature, log, timestamp, certificate, identity, subject, and for a
// provenance its agreement with the certificate. An attestation whose
// statement cannot be read is left out. The error says which registry
// could not be read; finding none is no error.
func (v *Verifier) Attestations(ctx context.Context, t registry.Target) ([]FoundAttestation, error) {
	_, atts, err := v.SignaturesAndAttestations(ctx, t)
	return atts, err
}

// SignaturesAndAttestations is Signatures and Attestations in one lookup.
func (v *Verifier) SignaturesAndAttestations(ctx context.Context, t registry.Target) ([]Signature, []FoundAttestation, error) {
	sigs, atts, err := v.find(ctx, t, true)
	return sigs, v.checkFound(atts), err
}

// checkFound checks the attestations found, each for its own predicate
// type.
func (v *Verifier) checkFound(atts []candidate) []FoundAttestation {
	var out []FoundAttestation
	for _, c := range atts {
		if c.err == nil && c.statement == nil {
			c.statement, c.stmtErr = statementOf(c.entity)
		}
		if c.statement == nil {
			continue
		}
		c.required = c.statement.PredicateType
		out = append(out, FoundAttestation{Signature: v.evaluate(c), PredicateType: c.statement.PredicateType, Predicate: c.statement.Predicate})
	}
	return out
}
