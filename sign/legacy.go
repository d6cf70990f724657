package sign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"golang.org/x/sync/errgroup"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// signLegacy signs cosign's simple-signing payload for one repository,
// logs it, and returns the write that appends it to the repository's
// sha256-<digest>.sig tag, recorded in sig.
func (s *Signer) signLegacy(ctx context.Context, t registry.Target, sig *Signature) (_ *write, err error) {
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
	tag, err := ociremote.SignatureTag(d, s.ropts(ctx))
	if err != nil {
		return nil, err
	}
	// The registry work that does not need the log entry runs while the
	// entry is made.
	prep := s.prepareLegacy(ctx, tag, pl)
	defer func() {
		if err != nil {
			prep.cancel()
		}
	}()
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
	var written tagState
	w := &write{target: t, sig: sig, readBack: ReadBackLegacyTag}
	w.push = func(ctx context.Context) error {
		// The first push finishes what prep began; another (a write lost
		// to another writer) reads the tag again.
		p := prep
		prep = nil
		if p != nil {
			done, err := p.finish(ctx, tag, ociSig, s.o.pushes, &written)
			w.readied = p.when()
			switch {
			case err != nil:
				return s.pushError(err, d, pushedSignature)
			case done:
				return nil
			}
		}
		return s.attachLegacy(ctx, tag, d, ociSig, b64sig, &written)
	}
	w.find = func(ctx context.Context) (string, error) {
		if written.unchanged(tag, s.remoteOpts(ctx)) {
			return tag.String(), nil
		}
		ok, err := s.findLegacy(ctx, tag, b64sig)
		if !ok || err != nil {
			return "", err
		}
		return tag.String(), nil
	}
	return w, nil
}

// legacyPrep is the part of appending a legacy signature to its .sig tag
// that needs no log entry, begun before the entry is requested: the tag
// read, and the signature's layer (its payload) and the new config
// uploaded. Only the manifest then waits for the entry: after it, a HEAD
// that finds the tag where it was read, and the PUT (2 round trips, not
// the 8 of reading, uploading and writing after the entry).
type legacyPrep struct {
	done   chan struct{}
	cancel context.CancelFunc
	// ran is when the preparation ran, set when it is done; it counts in
	// the push's time (the confirmer's settle).
	ran span
	// base is the tag's signatures as read; at its manifest digest, ""
	// when the tag did not exist.
	base oci.Signatures
	at   string
	// config is the config uploaded for base and the new layer;
	// rawConfig its bytes, until uploaded.
	config    v1.Hash
	rawConfig []byte
	err       error
}

func (s *Signer) prepareLegacy(ctx context.Context, tag name.Tag, pl []byte) *legacyPrep {
	ctx, cancel := context.WithCancel(ctx)
	p := &legacyPrep{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		began := time.Now()
		p.err = p.run(ctx, tag, pl, s.remoteOpts(ctx), s.o.pushes)
		p.ran = span{began, time.Now()}
	}()
	return p
}

func (p *legacyPrep) run(ctx context.Context, tag name.Tag, pl []byte, reads []remote.Option, pushes *registry.Pushes) error {
	// The signature's annotations (its signature, certificate and log
	// entry) are the manifest's; the layer, the payload as it is (cosign's
	// signature layers are not compressed), is the same without them. It
	// is uploaded while the tag is read (with the read's credentials, which
	// resolving the image got), and the first upload to the repository
	// authenticates for push meanwhile.
	layer, err := static.NewSignature(pl, "")
	if err != nil {
		return err
	}
	layerDigest, err := layer.Digest()
	if err != nil {
		return err
	}
	var g errgroup.Group
	upload := func(data []byte, want v1.Hash) {
		g.Go(func() error { return uploadBlob(ctx, pushes, tag.Repository, data, want) })
	}
	upload(pl, layerDigest)
	err = p.readBase(tag, layer, reads)
	if err == nil {
		upload(p.rawConfig, p.config)
	}
	if werr := g.Wait(); err == nil {
		err = werr
	}
	p.rawConfig = nil
	return err
}

// readBase reads the tag's signatures into p.base (and its digest into
// p.at), and makes the config of them and layer.
func (p *legacyPrep) readBase(tag name.Tag, layer oci.Signature, reads []remote.Option) error {
	base, err := ociremote.Signatures(tag, ociremote.WithRemoteOptions(reads...))
	if err != nil {
		return err
	}
	m, err := base.Manifest()
	if err != nil {
		return err
	}
	if len(m.Layers) > 0 {
		h, err := base.Digest()
		if err != nil {
			return err
		}
		p.at = h.String()
	}
	img, err := mutate.AppendSignatures(base, false, layer)
	if err != nil {
		return err
	}
	if p.rawConfig, err = img.RawConfigFile(); err != nil {
		return err
	}
	if p.config, err = img.ConfigName(); err != nil {
		return err
	}
	p.base = base
	return nil
}

// when is when the preparation ran, once it is over (zero before: a push
// cancelled while it runs does not wait for it).
func (p *legacyPrep) when() span {
	select {
	case <-p.done:
		return p.ran
	default:
		return span{}
	}
}

// finish writes the manifest of base and sig, if the tag is still where
// it was read (the HEAD keeps the window in which another writer's
// signature could be dropped as short as reading the tag just before
// writing it). done is false when the preparation failed or the tag has
// moved: the caller then appends sig the long way.
func (p *legacyPrep) finish(ctx context.Context, tag name.Tag, sig oci.Signature, pushes *registry.Pushes, written *tagState) (done bool, err error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel()
		return false, ctx.Err()
	}
	defer p.cancel()
	if p.err != nil {
		return false, nil
	}
	opts, err := pushes.Options(ctx, tag.Repository)
	if err != nil {
		return false, nil
	}
	desc, err := remote.Head(tag, opts...)
	switch {
	case err == nil && desc.Digest.String() == p.at:
	case err != nil && notFound(err) && p.at == "":
	default:
		return false, nil
	}
	img, err := mutate.AppendSignatures(p.base, false, sig)
	if err != nil {
		return false, err
	}
	if c, err := img.ConfigName(); err != nil || c != p.config {
		return false, nil
	}
	if err := putManifest(tag, img, opts); err != nil {
		return true, err
	}
	recordDigest(img, written)
	return true, nil
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
func (s *Signer) attachLegacy(ctx context.Context, tag name.Tag, d name.Digest, sig oci.Signature, b64sig string, written *tagState) error {
	// The digest was resolved in plan; SignedUnknown reads only its .sig
	// tag, not the manifest again.
	se := ociremote.SignedUnknown(d, s.ropts(ctx))
	newSE, err := mutate.AttachSignatureToEntity(se, sig, mutate.WithDupeDetector(sameSignature{b64sig}))
	if err != nil {
		return s.pushError(err, d, pushedSignature)
	}
	return s.writeTag(ctx, d, tag, newSE.Signatures, sig, pushedSignature, written)
}

// writeTag writes the signatures image that image gives (the tag's, with
// fresh appended unless it was there) to tag and records its digest in
// written: what ociremote.WriteSignatures and WriteAttestations do, with
// the image asked for once (each ask of an entity with a signature
// attached reads the tag again), and with fewer requests (putTag). what
// names the push in its errors (pushError).
func (s *Signer) writeTag(ctx context.Context, d name.Digest, tag name.Tag, image func() (oci.Signatures, error), fresh oci.Signature, what string, written *tagState) error {
	img, err := image()
	if err != nil {
		return s.pushError(err, d, what)
	}
	opts, err := s.pushOpts(ctx, d)
	if err != nil {
		return s.pushError(err, d, what)
	}
	if err := s.putTag(ctx, tag, img, fresh, opts); err != nil {
		return s.pushError(err, d, what)
	}
	recordDigest(img, written)
	return nil
}

// putTag writes img to tag. Its layers other than fresh's were read from
// the tag, so the registry holds them: only fresh's layer and the config
// are uploaded, side by side, each a POST then a PUT through the
// repository's push session, then the manifest is put (putManifest).
// go-containerregistry's writer asks for every blob first and uploads in
// four requests: a .att write after a provenance's log entry took six
// round trips, now four.
func (s *Signer) putTag(ctx context.Context, tag name.Tag, img oci.Signatures, fresh oci.Signature, opts []remote.Option) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	fd, err := fresh.Digest()
	if err != nil {
		return err
	}
	layer, err := layerBytes(fresh)
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.Go(func() error { return uploadBlob(ctx, s.o.pushes, tag.Repository, layer, fd) })
	g.Go(func() error { return uploadBlob(ctx, s.o.pushes, tag.Repository, config, m.Config.Digest) })
	if err := g.Wait(); err != nil {
		return err
	}
	return putManifest(tag, img, opts)
}

// putManifest puts img's manifest at tag, its new blobs uploaded already
// and the others read from the tag. When the registry says a blob the
// manifest names is missing (a layer the tag named that it lost),
// go-containerregistry's writer, which asks for each blob and uploads what
// is missing, writes it all.
func putManifest(tag name.Tag, img v1.Image, opts []remote.Option) error {
	err := remote.Put(tag, img, opts...)
	if blobUnknown(err) {
		return remote.Write(tag, img, opts...)
	}
	return err
}

// uploadBlob uploads data to repo through its push session and checks
// that it is the blob want.
func uploadBlob(ctx context.Context, pushes *registry.Pushes, repo name.Repository, data []byte, want v1.Hash) error {
	h, err := pushes.UploadBlob(ctx, repo, data)
	if err == nil && h != want {
		err = fmt.Errorf("uploaded blob %s, want %s", h, want)
	}
	return err
}

// layerBytes are l's bytes as stored: a signature's or attestation's
// layer is small (its payload, uncompressed).
func layerBytes(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// blobUnknown tells a registry's refusal of a manifest for a blob it does
// not hold.
func blobUnknown(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.BlobUnknownErrorCode || d.Code == transport.ManifestBlobUnknownErrorCode {
			return true
		}
	}
	return false
}

// recordDigest records the manifest digest of img, the signatures image
// just written to a tag.
func recordDigest(img v1.Image, written *tagState) {
	written.set("")
	if h, err := img.Digest(); err == nil {
		written.set(h.String())
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

// pushError names the push that failed, of a signature or an attestation
// (what), and explains the registry's answer.
func (s *Signer) pushError(err error, d name.Digest, what string) error {
	return fmt.Errorf("pushing the %s: %w", what, registry.Explain(err, d, s.o.auth))
}

// What a push writes, as pushError names it.
const (
	pushedSignature   = "signature"
	pushedAttestation = "attestation"
)
