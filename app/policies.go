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

// writePolicies writes the consumer policies for the images in results,
// pinned to the identities that signed them. trustedRoot is "" for the
// public instance. It returns warnings for the log (a run that wrote no
// legacy signature, which the cluster verifiers read).
func writePolicies(dir, trustedRoot string, results ...sign.Result) (warnings []string, err error) {
	var in policy.Input
	var tr *root.TrustedRoot
	if trustedRoot != "" {
		if tr, err = trust.LoadTrustedRoot(trustedRoot); err != nil {
			return nil, err
		}
	}
	seen := map[policy.Identity]bool{}
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
			if !seen[id] {
				seen[id] = true
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
