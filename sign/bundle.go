package sign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	intotov1 "github.com/in-toto/attestation/go/v1"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sigil-dev/sigil/artifact"
)

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
