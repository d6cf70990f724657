package app

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
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

// parsePolicyRefs reads the policy-refs input; empty means PolicyRefsTags.
func parsePolicyRefs(s string) (string, error) {
	switch s {
	case "":
		return PolicyRefsTags, nil
	case PolicyRefsTags, PolicyRefsExact:
		return s, nil
	}
	return "", fmt.Errorf("policy-refs %q: want tags (the signing workflow at any tag) or exact (the ref that signed)", s)
}

// writePolicies writes the consumer policies for the images in results,
// pinned to the identities that signed them (at any tag, unless refs is
// PolicyRefsExact). trustedRoot is "" for the
// public instance. It returns warnings for the log (a run that wrote no
// legacy signature, which the cluster verifiers read).
func writePolicies(dir, trustedRoot, refs string, results ...sign.Result) (warnings []string, err error) {
	var in policy.Input
	var tr *root.TrustedRoot
	if trustedRoot != "" {
		if tr, err = trust.LoadTrustedRoot(trustedRoot); err != nil {
			return nil, err
		}
	}
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
		one := policy.FromResult(r, tr)
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
		in.TrustedRoot = one.TrustedRoot
		if in.RekorURL == "" {
			in.RekorURL = one.RekorURL
		}
		if !policy.LegacySigned(r) {
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
			if s.Format == sign.FormatLegacy {
				return true
			}
		}
	}
	return false
}
