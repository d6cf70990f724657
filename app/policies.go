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
			warnings = append(warnings, "some images have no legacy .sig signature (format bundle): Kyverno's Cosign attestor, policy-controller and Flux read only that format, so the generated policies will refuse them; sign with format both")
		}
	}
	if len(in.Images) == 0 {
		return nil, nil
	}
	if _, err := policy.Write(dir, in); err != nil {
		return warnings, fmt.Errorf("writing consumer policies to %s: %w", dir, err)
	}
	return warnings, nil
}
