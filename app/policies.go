package app

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/sign"
)

// DefaultPolicyDir is where consumer policies are written when the
// policies-dir input is empty, relative to the workspace.
const DefaultPolicyDir = "sigil-policies"

// The values of the policy-refs input: which refs of the signing workflow
// the generated policies admit.
const (
	// PolicyRefsTags admits the signing workflow at any tag, so the next
	// release's images pass the same policies (the default).
	PolicyRefsTags = "tags"
	// PolicyRefsExact admits only the exact identity that signed, ref
	// included.
	PolicyRefsExact = "exact"
)

// writePolicies writes the consumer policies for the images in results,
// pinned to the identities that signed them (at any tag, unless refs is
// PolicyRefsExact). tr is nil for the public instance. It returns warnings
// for the log (a run that wrote no legacy signature, which the cluster
// verifiers read).
func writePolicies(dir string, tr *root.TrustedRoot, refs string, results ...sign.Result) (warnings []string, err error) {
	var in policy.Input
	// Identities that admit the same subjects (one workflow's releases)
	// count once.
	seen := map[[3]string]bool{}
	for _, r := range results {
		if len(r.Images) == 0 {
			continue
		}
		if !hasLegacy(r) {
			warnings = append(warnings, "no consumer policies for the images signed as "+r.Identity.Subject+": they have no legacy .sig signature (format bundle), and Kyverno's Cosign attestor, policy-controller and Flux read only that format; sign with format both to get policies")
			continue
		}
		one := policyInput(r, tr)
		for _, id := range one.Identities {
			key := [3]string{id.Subject, id.Issuer, ""}
			if refs != PolicyRefsExact {
				id = policy.AnyTag(id)
				if id.SubjectRegexp != "" {
					key = [3]string{"", id.Issuer, id.SubjectRegexp}
				}
			}
			if !seen[key] {
				seen[key] = true
				in.Identities = append(in.Identities, id)
			}
		}
		in.Images = append(in.Images, one.Images...)
		in.Provenance = in.Provenance || one.Provenance
		in.TrustedRoot = one.TrustedRoot
		if in.RekorURL == "" {
			in.RekorURL = one.RekorURL
		}
		if !legacySigned(r) {
			warnings = append(warnings, "some images signed as "+r.Identity.Subject+" have no legacy .sig signature: the generated policies will refuse them")
		}
	}
	if len(in.Images) == 0 {
		return warnings, nil
	}
	if _, err := policy.Write(dir, in); err != nil {
		return warnings, fmt.Errorf("writing consumer policies to %s: %w", dir, err)
	}
	return warnings, nil
}

// hasLegacy reports whether any image of r has a legacy signature.
func hasLegacy(r sign.Result) bool {
	for _, img := range r.Images {
		for _, s := range img.Signatures {
			if s.Format == artifact.FormatLegacy {
				return true
			}
		}
	}
	return false
}

// policyInput is the policy.Input for what one signing run did: its
// certificate identity, every repository it signed an image in (with the
// tags and digests of the references it was given), and, for a private
// Sigstore, the trusted root and the Rekor v1 log its legacy signatures
// went to. tr is nil for the public Sigstore instance.
//
// Repositories signed only in the bundle format are included: the header
// of each file says the tools need the legacy format, and the caller warns
// when a run wrote none (see legacySigned).
func policyInput(r sign.Result, tr *root.TrustedRoot) policy.Input {
	in := policy.Input{
		Identities:  []artifact.Requirement{{Subject: r.Identity.Subject, Issuer: r.Identity.Issuer}},
		TrustedRoot: tr,
	}
	for _, img := range r.Images {
		i := policy.Image{Repository: img.Repository}
		if img.Index == "" {
			// A platform manifest of an index is reached through the
			// index; only top-level references name what to follow.
			i.Digest = img.Digest
			if t, err := name.NewTag(img.Reference); err == nil && img.Reference != "" {
				i.Tag = t.TagStr()
			}
		}
		in.Images = append(in.Images, i)
		for _, s := range img.Signatures {
			if s.Format == artifact.FormatLegacy && s.Log.Version == 1 && in.RekorURL == "" {
				in.RekorURL = s.Log.URL
			}
		}
		// The cluster verifiers read attestations from the .att tag: the
		// policies require provenance only when the run wrote it there.
		for _, a := range img.Attestations {
			in.Provenance = in.Provenance || a.Format == artifact.FormatLegacy && a.PredicateType == provenance.PredicateType
		}
	}
	return in
}

// legacySigned reports whether r wrote a legacy signature for every image,
// the format all three tools read. A run with format bundle wrote none,
// and the policies would refuse its images.
func legacySigned(r sign.Result) bool {
	if len(r.Images) == 0 {
		return false
	}
	for _, img := range r.Images {
		ok := false
		for _, s := range img.Signatures {
			ok = ok || s.Format == artifact.FormatLegacy
		}
		if !ok {
			return false
		}
	}
	return true
}
