package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	intotov1 "github.com/in-toto/attestation/go/v1"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// SignImages signs every reference in refs (tags or digests). All references
// are parsed and resolved before anything is signed; a reference that cannot
// be resolved fails the run and nothing is written. The same digest listed
// twice in one repository is signed once.
func (s *Signer) SignImages(ctx context.Context, refs []string) ([]Image, error) {
	targets, err := s.plan(ctx, refs)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, nil
	}
	// Fail on the token or Fulcio before anything reaches a log.
	if _, err := s.certs.Chain(ctx); err != nil {
		return nil, err
	}
	results := make([]Image, len(targets))
	var bundles onceMap[*signed]
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.o.concurrency)
	for i, t := range targets {
		g.Go(func() error {
			img, err := s.signTarget(gctx, t, &bundles)
			if err != nil {
				return fmt.Errorf("%s: %w", t.Ref, err)
			}
			results[i] = img
			s.o.progress(fmt.Sprintf("signed %s (%s)", t.Ref, strings.Join(formats(img), ", ")))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return results, err
	}
	return results, nil
}

func formats(img Image) []string {
	var f []string
	for _, s := range img.Signatures {
		f = append(f, string(s.Format))
	}
	return f
}

// plan resolves refs into the manifests that will be signed, without
// signing anything; any reference that fails fails the plan.
func (s *Signer) plan(ctx context.Context, refs []string) ([]registry.Target, error) {
	var errs []error
	seen := map[string]bool{}
	var targets []registry.Target
	for _, r := range registry.ResolveAll(ctx, refs, s.o.auth, s.o.recursive, s.o.concurrency, s.o.remote...) {
		if r.Err != nil {
			errs = append(errs, r.Err)
			continue
		}
		for _, t := range r.Targets {
			if !seen[t.Ref.String()] {
				seen[t.Ref.String()] = true
				targets = append(targets, t)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return targets, nil
}

func (s *Signer) ropts(ctx context.Context) ociremote.Option {
	return ociremote.WithRemoteOptions(append(append([]remote.Option{}, s.o.remote...), remote.WithContext(ctx))...)
}

func (s *Signer) signTarget(ctx context.Context, t registry.Target, bundles *onceMap[*signed]) (Image, error) {
	img := Image{Target: t.Target}
	if s.o.format.Includes(artifact.FormatBundle) {
		// One statement per digest: it names no repository.
		sb, err := bundles.do(t.Digest, func() (*signed, error) { return s.signStatement(ctx, t.Ref) })
		if err != nil {
			return img, err
		}
		sig, err := s.pushBundle(ctx, t.Ref, sb)
		if err != nil {
			return img, err
		}
		img.Signatures = append(img.Signatures, sig)
	}
	if s.o.format.Includes(artifact.FormatLegacy) {
		sig, err := s.signLegacy(ctx, t.Ref)
		if err != nil {
			return img, err
		}
		img.Signatures = append(img.Signatures, sig)
	}
	return img, nil
}

// signStatement signs the in-toto statement cosign signs for an image in the
// bundle format.
func (s *Signer) signStatement(ctx context.Context, d name.Digest) (*signed, error) {
	alg, hexDigest, ok := strings.Cut(d.DigestStr(), ":")
	if !ok {
		return nil, fmt.Errorf("malformed digest %s", d.DigestStr())
	}
	st := &intotov1.Statement{
		Type:          intotov1.StatementTypeUri,
		Subject:       []*intotov1.ResourceDescriptor{{Digest: map[string]string{alg: hexDigest}}},
		PredicateType: artifact.CosignSignPredicateType,
	}
	stmt, err := protojson.Marshal(st)
	if err != nil {
		return nil, err
	}
	return s.sign(ctx, &sgsign.DSSEData{Data: stmt, PayloadType: "application/vnd.in-toto+json"}, s.tlog, s.tsas)
}

func (s *Signer) pushBundle(ctx context.Context, d name.Digest, sb *signed) (Signature, error) {
	sig := Signature{Format: artifact.FormatBundle, Log: sb.entry}
	if err := ociremote.WriteAttestationNewBundleFormat(d, sb.json, artifact.CosignSignPredicateType, s.ropts(ctx)); err != nil {
		return sig, s.pushError(err, d)
	}
	loc, err := s.findBundle(ctx, d, sb.json)
	if err != nil {
		return sig, err
	}
	sig.Location, sig.ReadBack = loc, ReadBackReferrers
	return sig, nil
}

// findBundle reads the referrers of d, through the referrers API or the tag
// fallback as go-containerregistry chooses, and returns the referrer whose
// bundle is want.
func (s *Signer) findBundle(ctx context.Context, d name.Digest, want []byte) (string, error) {
	idx, err := ociremote.Referrers(d, "", s.ropts(ctx))
	if err != nil {
		return "", fmt.Errorf("reading back the bundle: listing referrers of %s: %w", d, err)
	}
	for _, desc := range idx.Manifests {
		if desc.ArtifactType != "" && desc.ArtifactType != artifact.BundleMediaType && desc.ArtifactType != "application/vnd.oci.empty.v1+json" {
			continue
		}
		ref := d.Context().Digest(desc.Digest.String())
		b, err := firstLayer(ref, append(append([]remote.Option{}, s.o.remote...), remote.WithContext(ctx)))
		if err != nil {
			continue
		}
		if bytes.Equal(b, want) {
			return ref.String(), nil
		}
	}
	return "", fmt.Errorf("reading back the bundle: %s has no referrer holding the bundle just pushed (the registry accepted it but does not list it)", d)
}

func firstLayer(ref name.Digest, opts []remote.Option) ([]byte, error) {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("no layers")
	}
	l, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}

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
