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
	"github.com/sigil-dev/sigil/registry"
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

// bundleWrite attaches the bundle sb to d as an OCI referrer (or under the
// referrers fallback tag), recorded in sig.
func (s *Signer) bundleWrite(t registry.Target, sig *Signature, sb []byte) *write {
	d := t.Ref
	return &write{
		target: t, sig: sig, readBack: ReadBackReferrers,
		push: func(ctx context.Context) error {
			opts, err := s.pushOpts(ctx, d)
			if err != nil {
				return err
			}
			if err := ociremote.WriteAttestationNewBundleFormat(d, sb, artifact.CosignSignPredicateType, ociremote.WithRemoteOptions(opts...)); err != nil {
				return s.pushError(err, d)
			}
			return nil
		},
		find: func(ctx context.Context) (string, error) { return s.findBundle(ctx, d, sb) },
	}
}

// pushOpts are the go-containerregistry options of a write to d's
// repository, bound to ctx: through the repository's push session, whose
// one ping and token serve every write of the run there (go-containerregistry's
// own writer would authenticate once more, and keep that for the run too).
func (s *Signer) pushOpts(ctx context.Context, d name.Digest) ([]remote.Option, error) {
	opts, err := s.o.pushes.Options(ctx, d.Context())
	if err != nil {
		return nil, s.pushError(err, d)
	}
	return opts, nil
}

// findBundle reads the referrers of d, through the referrers API or the tag
// fallback as go-containerregistry chooses, and returns the referrer whose
// bundle is want, or "" when none holds it.
func (s *Signer) findBundle(ctx context.Context, d name.Digest, want []byte) (string, error) {
	idx, err := ociremote.Referrers(d, "", s.ropts(ctx))
	if err != nil {
		return "", fmt.Errorf("reading back the bundle: listing referrers of %s: %w", d, registry.Explain(err, d, s.o.auth))
	}
	for _, desc := range idx.Manifests {
		if desc.ArtifactType != "" && desc.ArtifactType != artifact.BundleMediaType && desc.ArtifactType != "application/vnd.oci.empty.v1+json" {
			continue
		}
		ref := d.Context().Digest(desc.Digest.String())
		b, err := firstLayer(ref, s.remoteOpts(ctx))
		if err != nil {
			continue
		}
		if bytes.Equal(b, want) {
			return ref.String(), nil
		}
	}
	return "", nil
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
