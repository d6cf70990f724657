package sign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// signLegacy signs cosign's simple-signing payload for one repository,
// logs it, and returns the write that appends it to the repository's
// sha256-<digest>.sig tag, recorded in sig.
func (s *Signer) signLegacy(ctx context.Context, t registry.Target, sig *Signature) (*write, error) {
	d := t.Ref
	*sig = Signature{Format: artifact.FormatLegacy}
	ann := make(map[string]interface{}, len(s.o.annotations))
	for k, v := range s.o.annotations {
		ann[k] = v
	}
	if len(ann) == 0 {
		ann = nil
	}
	pl, err := (&payload.Cosign{Image: d, Annotations: ann}).MarshalJSON()
	if err != nil {
		return nil, err
	}
	sb, err := s.sign(ctx, &sgsign.PlainData{Data: pl}, *s.legacy, nil)
	if err != nil {
		return nil, err
	}
	sig.Log = sb.entry
	rb, err := rekorBundle(sb)
	if err != nil {
		return nil, err
	}
	b64sig := base64.StdEncoding.EncodeToString(sb.bundle.GetMessageSignature().GetSignature())
	ociSig, err := static.NewSignature(pl, b64sig,
		static.WithCertChain(encodeCerts(sb.chain[:1]), encodeCerts(sb.chain[1:])),
		static.WithBundle(rb))
	if err != nil {
		return nil, err
	}
	tag, err := ociremote.SignatureTag(d, s.ropts(ctx))
	if err != nil {
		return nil, err
	}
	var written tagState
	return &write{
		target: t, sig: sig, readBack: ReadBackLegacyTag,
		push: func(ctx context.Context) error { return s.attachLegacy(ctx, d, ociSig, b64sig, &written) },
		find: func(ctx context.Context) (string, error) {
			if written.unchanged(tag, s.remoteOpts(ctx)) {
				return tag.String(), nil
			}
			ok, err := s.findLegacy(ctx, tag, b64sig)
			if !ok || err != nil {
				return "", err
			}
			return tag.String(), nil
		},
	}, nil
}

// tagState is the manifest digest a write left a tag at. Reading it back,
// a HEAD that finds the tag still there is enough: no other writer has
// touched it, so it still holds what was written. Only when it moved is
// the tag read (a GET, which Docker Hub counts as a pull) to see whether
// the signature survived.
type tagState struct {
	mu     sync.Mutex
	digest string
}

func (w *tagState) set(d string) {
	w.mu.Lock()
	w.digest = d
	w.mu.Unlock()
}

// unchanged reports whether tag is still at the digest written to it.
func (w *tagState) unchanged(tag name.Tag, opts []remote.Option) bool {
	w.mu.Lock()
	want := w.digest
	w.mu.Unlock()
	if want == "" {
		return false
	}
	desc, err := remote.Head(tag, opts...)
	return err == nil && desc.Digest.String() == want
}

// attachLegacy appends sig to d's .sig tag, unless the tag holds it
// already: the signatures there are kept. written records the manifest
// digest the tag was left at.
func (s *Signer) attachLegacy(ctx context.Context, d name.Digest, sig oci.Signature, b64sig string, written *tagState) error {
	opt := s.ropts(ctx)
	// The digest was resolved in plan; SignedUnknown reads only its .sig
	// tag, not the manifest again.
	se := ociremote.SignedUnknown(d, opt)
	newSE, err := mutate.AttachSignatureToEntity(se, sig, mutate.WithDupeDetector(sameSignature{b64sig}))
	if err != nil {
		return s.pushError(err, d)
	}
	if err := ociremote.WriteSignatures(d.Repository, newSE, opt); err != nil {
		return s.pushError(err, d)
	}
	recordDigest(newSE.Signatures, written)
	return nil
}

// recordDigest records the manifest digest of the signatures image sigs
// gives (the one just written to a tag).
func recordDigest(sigs func() (oci.Signatures, error), written *tagState) {
	written.set("")
	if img, err := sigs(); err == nil {
		if h, err := img.Digest(); err == nil {
			written.set(h.String())
		}
	}
}

// sameSignature finds the signature with the given base64 value among
// those already attached, so that writing again never adds it twice.
type sameSignature struct{ b64 string }

func (d sameSignature) Find(sigs oci.Signatures, _ oci.Signature) (oci.Signature, error) {
	all, err := sigs.Get()
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if b, err := s.Base64Signature(); err == nil && b == d.b64 {
			return s, nil
		}
	}
	return nil, nil
}

// findLegacy reads the .sig tag back, as cosign verify does, and reports
// whether it holds the signature b64sig.
func (s *Signer) findLegacy(ctx context.Context, tag name.Tag, b64sig string) (bool, error) {
	sigs, err := ociremote.Signatures(tag, s.ropts(ctx))
	if err != nil {
		if notFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading back the legacy signature: %w", registry.Explain(err, tag, s.o.auth))
	}
	all, err := sigs.Get()
	if err != nil {
		return false, fmt.Errorf("reading back the legacy signature: %w", err)
	}
	for _, sg := range all {
		if b, err := sg.Base64Signature(); err == nil && b == b64sig {
			return true, nil
		}
	}
	return false, nil
}

// notFound tells a registry's 404 (no such tag yet) from other errors.
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

func (s *Signer) pushError(err error, d name.Digest) error {
	return fmt.Errorf("pushing the signature: %w", registry.Explain(err, d, s.o.auth))
}
