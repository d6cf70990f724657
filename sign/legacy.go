package sign

import (
	"context"
	"encoding/base64"
	"fmt"

	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// signLegacy signs cosign's simple-signing payload for one repository and
// appends it to the repository's sha256-<digest>.sig tag.
func (s *Signer) signLegacy(ctx context.Context, d name.Digest) (Signature, error) {
	sig := Signature{Format: artifact.FormatLegacy}
	ann := make(map[string]interface{}, len(s.o.annotations))
	for k, v := range s.o.annotations {
		ann[k] = v
	}
	if len(ann) == 0 {
		ann = nil
	}
	pl, err := (&payload.Cosign{Image: d, Annotations: ann}).MarshalJSON()
	if err != nil {
		return sig, err
	}
	sb, err := s.sign(ctx, &sgsign.PlainData{Data: pl}, *s.legacy, nil)
	if err != nil {
		return sig, err
	}
	sig.Log = sb.entry
	tle := sb.bundle.GetVerificationMaterial().GetTlogEntries()[0]
	if tle.GetInclusionPromise() == nil {
		return sig, fmt.Errorf("Rekor at %s returned no signed entry timestamp, which the legacy format needs", s.legacy.URL)
	}
	rb := &cbundle.RekorBundle{
		SignedEntryTimestamp: tle.GetInclusionPromise().GetSignedEntryTimestamp(),
		Payload: cbundle.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
			IntegratedTime: tle.GetIntegratedTime(),
			LogIndex:       tle.GetLogIndex(),
			LogID:          sb.entry.LogID,
		},
	}
	b64sig := base64.StdEncoding.EncodeToString(sb.bundle.GetMessageSignature().GetSignature())
	ociSig, err := static.NewSignature(pl, b64sig,
		static.WithCertChain(encodeCerts(sb.chain[:1]), encodeCerts(sb.chain[1:])),
		static.WithBundle(rb))
	if err != nil {
		return sig, err
	}
	opt := s.ropts(ctx)
	// The digest was resolved in plan; SignedUnknown reads only its .sig
	// tag, not the manifest again.
	se := ociremote.SignedUnknown(d, opt)
	// Appends to the signatures already there; none is replaced.
	newSE, err := mutate.AttachSignatureToEntity(se, ociSig)
	if err != nil {
		return sig, err
	}
	if err := ociremote.WriteSignatures(d.Repository, newSE, opt); err != nil {
		return sig, s.pushError(err, d)
	}
	tag, err := ociremote.SignatureTag(d, opt)
	if err != nil {
		return sig, err
	}
	sig.Location = tag.String()
	if err := s.findLegacy(ctx, d, tag, b64sig); err != nil {
		return sig, err
	}
	sig.ReadBack = ReadBackLegacyTag
	return sig, nil
}

// findLegacy reads the .sig tag back, as cosign verify does, and looks for
// the signature just pushed.
func (s *Signer) findLegacy(ctx context.Context, d name.Digest, tag name.Tag, b64sig string) error {
	sigs, err := ociremote.Signatures(tag, s.ropts(ctx))
	if err != nil {
		return fmt.Errorf("reading back the legacy signature: %w", err)
	}
	all, err := sigs.Get()
	if err != nil {
		return fmt.Errorf("reading back the legacy signature: %w", err)
	}
	for _, sg := range all {
		if b, err := sg.Base64Signature(); err == nil && b == b64sig {
			return nil
		}
	}
	return fmt.Errorf("reading back the legacy signature: the .sig tag of %s does not hold the signature just pushed", d)
}

func (s *Signer) pushError(err error, d name.Digest) error {
	return fmt.Errorf("pushing the signature: %w", registry.Explain(err, d, s.o.auth))
}
