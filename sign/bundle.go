package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	intotov1 "github.com/in-toto/attestation/go/v1"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"golang.org/x/sync/errgroup"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
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

// referrerWrite attaches the bundle sb to t as an OCI referrer annotated
// with predicateType (or lists it under the referrers fallback tag where
// the registry has no referrers API), as cosign's
// WriteAttestationNewBundleFormat writes it — for a signature, cosign sign
// --new-bundle-format; for an attestation, cosign attest
// --new-bundle-format and actions/attest — recorded in sig.
//
// It is written here, through the repository's push session, rather than
// by cosign: cosign HEADs the subject (known from the resolve), HEADs each
// blob before uploading it in four requests (the empty config is the same
// in every referrer), and go-containerregistry asks the referrers API
// after every manifest: 8 requests to a registry with the API, against 3
// here (the layer's POST and PUT, the manifest's PUT; the config once per
// repository), and 2 more for the fallback tag. The manifest is made once,
// so that a write done again puts the same one, and the read-back looks
// for its digest among the referrers rather than reading each referrer's
// layer.
func (s *Signer) referrerWrite(t registry.Target, sig *Signature, sb []byte, predicateType string) *write {
	d := t.Ref
	var (
		raw    []byte
		digest v1.Hash
	)
	what := pushedAttestation
	if predicateType == artifact.CosignSignPredicateType {
		what = pushedSignature
	}
	return &write{
		target: t, sig: sig, readBack: ReadBackReferrers,
		push: func(ctx context.Context) error {
			if raw == nil {
				subject, err := s.subject(ctx, t)
				if err != nil {
					return s.pushError(err, d, what)
				}
				if raw, err = referrerManifest(sb, predicateType, subject, s.o.now()); err != nil {
					return err
				}
			}
			h, err := s.putReferrer(ctx, d, raw, sb, false)
			if blobUnknown(err) {
				// The registry lost a blob the session uploaded (the
				// config, uploaded once): upload both again.
				h, err = s.putReferrer(ctx, d, raw, sb, true)
			}
			if err != nil {
				return s.pushError(err, d, what)
			}
			digest = h
			return nil
		},
		find: func(ctx context.Context) (string, error) { return s.findReferrer(ctx, d, digest) },
	}
}

// emptyConfig is the config of every referrer, the OCI empty descriptor's
// content.
var emptyConfig = []byte("{}")

// putReferrer uploads the referrer's layer (sb) and config (once per push
// session, unless again) side by side, then puts its manifest raw.
func (s *Signer) putReferrer(ctx context.Context, d name.Digest, raw, sb []byte, again bool) (v1.Hash, error) {
	repo := d.Context()
	var g errgroup.Group
	g.Go(func() error { _, err := s.o.pushes.UploadBlob(ctx, repo, sb); return err })
	g.Go(func() error {
		var err error
		if again {
			_, err = s.o.pushes.UploadBlob(ctx, repo, emptyConfig)
		} else {
			_, err = s.o.pushes.UploadBlobOnce(ctx, repo, emptyConfig)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return v1.Hash{}, err
	}
	sub, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return v1.Hash{}, err
	}
	return s.o.pushes.PutReferrer(ctx, repo, raw, sub)
}

// subject is t's descriptor as a referrer's subject: as resolved, or read
// from the registry (a HEAD, as cosign does) when the resolve did not keep
// it.
func (s *Signer) subject(ctx context.Context, t registry.Target) (v1.Descriptor, error) {
	h, err := v1.NewHash(t.Digest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if t.MediaType != "" && t.Size > 0 {
		return v1.Descriptor{MediaType: t.MediaType, Digest: h, Size: t.Size}, nil
	}
	opts, err := s.pushOpts(ctx, t.Ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc, err := remote.Head(t.Ref, opts...)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}, nil
}

// referrerManifest is the manifest cosign's WriteReferrer puts for the
// bundle sb: its layer, the empty config (carrying the artifact type, as
// cosign's does), the subject, and the annotations of
// WriteAttestationNewBundleFormat, created at now.
func referrerManifest(sb []byte, predicateType string, subject v1.Descriptor, now time.Time) ([]byte, error) {
	layer, _, err := v1.SHA256(bytes.NewReader(sb))
	if err != nil {
		return nil, err
	}
	config, _, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return nil, err
	}
	// cosign's referrerManifest: the OCI 1.1 artifactType beside
	// go-containerregistry's v1.Manifest, which has none.
	m := struct {
		v1.Manifest
		ArtifactType string `json:"artifactType,omitempty"`
	}{v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType:    "application/vnd.oci.empty.v1+json",
			ArtifactType: artifact.BundleMediaType,
			Digest:       config,
			Size:         int64(len(emptyConfig)),
		},
		Layers:  []v1.Descriptor{{MediaType: artifact.BundleMediaType, Digest: layer, Size: int64(len(sb))}},
		Subject: &subject,
		Annotations: map[string]string{
			"org.opencontainers.image.created":  now.UTC().Format(time.RFC3339),
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": predicateType,
		},
	}, artifact.BundleMediaType}
	return json.Marshal(m)
}

// pushOpts are the go-containerregistry options of a write to d's
// repository, bound to ctx: through the repository's push session, whose
// one ping and token serve every write of the run there (go-containerregistry's
// own writer would authenticate once more, and keep that for the run too).
// Its errors are the session's handshake's, for the caller to name
// (pushError).
func (s *Signer) pushOpts(ctx context.Context, d name.Digest) ([]remote.Option, error) {
	return s.o.pushes.Options(ctx, d.Context())
}

// findReferrer reads the referrers of d, through the referrers API or the
// tag fallback as go-containerregistry chooses (as verifiers read them),
// and returns the referrer whose manifest digest is want, or "" when none
// is. A manifest is its digest's content: finding the digest listed is
// finding the bundle it holds.
func (s *Signer) findReferrer(ctx context.Context, d name.Digest, want v1.Hash) (string, error) {
	if want == (v1.Hash{}) {
		return "", nil
	}
	idx, err := ociremote.Referrers(d, "", s.ropts(ctx))
	if err != nil {
		return "", fmt.Errorf("reading back the bundle: listing referrers of %s: %w", d, registry.Explain(err, d, s.o.auth))
	}
	for _, desc := range idx.Manifests {
		if desc.Digest == want {
			return d.Context().Digest(want.String()).String(), nil
		}
	}
	return "", nil
}
