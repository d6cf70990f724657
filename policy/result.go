package policy

import (
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/sign"
)

// FromResult returns the Input for what one signing run did: its
// certificate identity, every repository it signed an image in (with the
// tags and digests of the references it was given), and, for a private
// Sigstore, the trusted root and the Rekor v1 log its legacy signatures
// went to. Pass tr nil for the public Sigstore instance.
//
// Repositories signed only in the bundle format are included: the header
// of each file says the tools need the legacy format, and the caller should
// warn when a run wrote none (see LegacySigned).
func FromResult(r sign.Result, tr *root.TrustedRoot) Input {
	in := Input{
		Identities:  []Identity{{Subject: r.Identity.Subject, Issuer: r.Identity.Issuer}},
		TrustedRoot: tr,
	}
	for _, img := range r.Images {
		i := Image{Repository: img.Repository}
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
			if s.Format == sign.FormatLegacy && s.Log.Version == 1 && in.RekorURL == "" {
				in.RekorURL = s.Log.URL
			}
		}
	}
	return in
}

// LegacySigned reports whether r wrote a legacy signature for every image,
// the format all three tools read. A run with format bundle wrote none,
// and the policies would refuse its images.
func LegacySigned(r sign.Result) bool {
	if len(r.Images) == 0 {
		return false
	}
	for _, img := range r.Images {
		ok := false
		for _, s := range img.Signatures {
			ok = ok || s.Format == sign.FormatLegacy
		}
		if !ok {
			return false
		}
	}
	return true
}
