package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// Read limits: nothing larger is read from a registry or a file, whatever
// its descriptor claims.
const (
	// maxPayloadSize bounds a legacy signature's simple-signing payload
	// (cosign's are a few hundred bytes).
	maxPayloadSize = 1 << 20
	// maxBundleSize bounds a Sigstore bundle (a signature's is a few KB).
	maxBundleSize = 16 << 20
	// maxReferrerManifestSize bounds a referrer's manifest.
	maxReferrerManifestSize = 1 << 20
	// maxCandidates bounds the signatures checked per artifact and path.
	maxCandidates = 256
	// maxReferrers bounds the referrer manifests read per artifact.
	maxReferrers = 1024
)

// bundleMediaTypePrefix starts every Sigstore bundle media type.
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// Referrer manifest annotations cosign writes beside a bundle.
const annotationPredicateType = "dev.sigstore.bundle.predicateType"

// VerifyImages verifies each image reference (a tag or a digest): a tag is
// resolved to its digest once, and the digest is what is verified. With
// WithRecursive, an index's platform manifests are verified too. An image
// passes when at least one of its signatures, found through the legacy .sig
// tag or the OCI referrers of its repository (API or tag fallback), passes
// every check.
//
// The report lists every artifact and signature found. The error is nil
// only when every artifact passed; otherwise it is an *Error naming the
// failed checks (or the reference that could not be read).
func (v *Verifier) VerifyImages(ctx context.Context, refs []string) (Report, error) {
	// Resolve every reference, then verify every manifest, each step at
	// most v.o.concurrency at a time; the report keeps the input order.
	resolved := registry.ResolveAll(ctx, refs, v.o.auth, v.o.recursive, v.o.concurrency, v.o.remote...)
	type job struct{ group, member int }
	var jobs []job
	arts := make([][]Artifact, len(refs))
	for i, r := range resolved {
		if r.Err != nil {
			arts[i] = []Artifact{{Kind: "image", Target: artifact.Target{Reference: refs[i]}, Error: r.Err.Error()}}
			continue
		}
		arts[i] = make([]Artifact, len(r.Targets))
		for j := range r.Targets {
			jobs = append(jobs, job{i, j})
		}
	}
	forEach(len(jobs), v.o.concurrency, func(k int) {
		j := jobs[k]
		arts[j.group][j.member] = v.verifyTarget(ctx, resolved[j.group].Targets[j.member])
	})
	var all []Artifact
	for _, a := range arts {
		all = append(all, a...)
	}
	return v.finish(ctx, all)
}

func (v *Verifier) verifyTarget(ctx context.Context, t registry.Target) Artifact {
	a := Artifact{Kind: "image", Target: t.Target}
	sigs, atts, err := v.find(ctx, t, len(v.o.attestations) > 0)
	a.Signatures = sigs
	for _, s := range sigs {
		a.Passed = a.Passed || s.Passed
	}
	if len(v.o.attestations) > 0 {
		a.Attestations, a.Provenance = v.checkAttestations(atts)
		a.Passed = allPassed(a.Attestations)
	}
	switch {
	case err != nil && !a.Passed:
		a.Error = err.Error()
	case len(sigs) == 0 && len(v.o.attestations) == 0:
		a.Error = fmt.Sprintf("no signatures found: no legacy signature in %s and no Sigstore bundle among the referrers of %s", v.sigTagName(t.Ref), t.Ref)
	}
	return a
}

// Signatures finds every signature of the manifest t, through both paths
// (the legacy .sig tag and the referrers), and checks each. The error says
// which registry could not be read and why; finding no signature is no
// error. A lookup for a format the verifier does not accept cannot fail.
func (v *Verifier) Signatures(ctx context.Context, t registry.Target) ([]Signature, error) {
	sigs, _, err := v.find(ctx, t, false)
	return sigs, err
}

// find reads and checks t's signatures, and with attestations reads its
// attestations too (the referrers' and cosign's .att tag), unchecked.
func (v *Verifier) find(ctx context.Context, t registry.Target, attestations bool) ([]Signature, []candidate, error) {
	f := v.fetch(ctx, t, attestations)
	return v.checkSignatures(f), f.atts, f.err
}

// Found is what a target's registry holds of its signatures (and, when
// asked, attestations), read and parsed but not checked: see Lookup.
type Found struct {
	sigs, atts []candidate
	// err says what could not be read.
	err error
}

// Lookup reads what the registry holds of t's signatures, and with
// attestations of its attestations, without checking any: a Verifier's
// Check does, with its policy. It is for a caller that reads before it
// knows the policy (sign's lookup of what is signed already reads while
// the run's certificate is requested). Only the registry and format
// options count; signatures made with a key are read as Check's verifier
// would read them with no key in its policy. The error is for a registry
// that could not be read, and is returned by Check's caller as
// Signatures would.
func Lookup(ctx context.Context, t registry.Target, attestations bool, opts ...Option) (*Found, error) {
	o := options{format: artifact.FormatAny}
	for _, opt := range opts {
		opt(&o)
	}
	v := &Verifier{o: o, policy: &Policy{}}
	f := v.fetch(ctx, t, attestations)
	return &f, f.err
}

// Check checks what Lookup found with v's trusted material and policy,
// as SignaturesAndAttestations does (attestations only if Lookup read
// them).
func (v *Verifier) Check(f *Found) ([]Signature, []FoundAttestation) {
	return v.checkSignatures(*f), v.checkFound(f.atts)
}

// fetch reads t's signatures (and with attestations its attestations).
func (v *Verifier) fetch(ctx context.Context, t registry.Target, attestations bool) Found {
	alg, hx, _ := strings.Cut(t.Digest, ":")
	digest, err := hex.DecodeString(hx)
	if alg != "sha256" || err != nil || len(digest) != 32 {
		return Found{err: fmt.Errorf("digest %s: only sha256 digests are supported", t.Digest)}
	}
	// The lookups are independent requests: side by side, a target costs
	// the slowest, not their sum.
	var (
		legacy, bundles, atts, legacyAtts []candidate
		lerr, berr, aerr                  error
		wg                                sync.WaitGroup
	)
	// With WithOnlyFormat, only the formats accepted are looked up: each
	// lookup is requests (and on Docker Hub, manifest GETs count against
	// the pull limit).
	if v.o.format.Includes(artifact.FormatLegacy) || !v.o.onlyFormat {
		wg.Go(func() { legacy, lerr = v.findLegacy(ctx, t.Ref, digest) })
		if attestations {
			wg.Go(func() { legacyAtts, aerr = v.findLegacyAttestations(ctx, t.Ref, digest) })
		}
	}
	if v.o.format.Includes(artifact.FormatBundle) || !v.o.onlyFormat {
		wg.Go(func() { bundles, atts, berr = v.findBundles(ctx, t.Ref, digest, attestations) })
	}
	wg.Wait()
	atts = append(atts, legacyAtts...)
	// A lookup for a format that is not accepted does not fail the
	// artifact.
	if !v.o.format.Includes(artifact.FormatLegacy) {
		lerr, aerr = nil, nil
	}
	if !v.o.format.Includes(artifact.FormatBundle) {
		berr = nil
	}
	f := Found{sigs: append(bundles, legacy...), atts: atts}
	var errs []string
	for _, err := range []error{lerr, berr, aerr} {
		if err != nil {
			errs = append(errs, registry.Explain(err, t.Ref, v.o.auth).Error())
		}
	}
	if len(errs) > 0 {
		f.err = fmt.Errorf("reading signatures: %s", strings.Join(errs, "; "))
	}
	return f
}

// checkSignatures checks the signatures found.
func (v *Verifier) checkSignatures(f Found) []Signature {
	var sigs []Signature
	for _, c := range f.sigs {
		sigs = append(sigs, v.evaluate(c))
	}
	return sigs
}

func (v *Verifier) ociOption(ctx context.Context) ociremote.Option {
	return ociremote.WithRemoteOptions(v.remoteOptions(ctx)...)
}

func (v *Verifier) remoteOptions(ctx context.Context) []remote.Option {
	return append(append([]remote.Option{}, v.o.remote...), remote.WithContext(ctx))
}

func (v *Verifier) sigTagName(d name.Digest) string {
	tag, err := ociremote.SignatureTag(d, ociremote.WithTargetRepository(d.Repository))
	if err != nil {
		return "the .sig tag"
	}
	return tag.String()
}

// findLegacy reads the signatures in the digest's sha256-<hex>.sig tag, as
// cosign verify does. A missing tag means no signatures.
func (v *Verifier) findLegacy(ctx context.Context, d name.Digest, digest []byte) ([]candidate, error) {
	tag, list, err := v.tagLayers(ctx, d, ociremote.SignatureTag)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for i, sig := range list {
		c := candidate{format: artifact.FormatLegacy, location: fmt.Sprintf("%s (layer %d)", tag, i+1), digest: digest, kind: "image"}
		ann, err := sig.Annotations()
		if err != nil {
			c.err = err
			out = append(out, c)
			continue
		}
		p, err := readLayer(sig, maxPayloadSize)
		if err != nil {
			c.err = fmt.Errorf("reading the signed payload: %w", err)
			out = append(out, c)
			continue
		}
		b, err := legacyFromAnnotations(ann).toBundle(sha256Sum(p), v.policy.key != nil)
		if err != nil {
			c.err = err
		} else {
			c.entity = b
		}
		c.legacyPayload = p
		c.signed = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(p)), nil }
		out = append(out, c)
	}
	return out, nil
}

// tagLayers reads the layers of the digest's cosign tag that tagFor names
// (the .sig or .att tag), at most maxCandidates. The tag lives beside the
// image, whatever COSIGN_REPOSITORY says.
func (v *Verifier) tagLayers(ctx context.Context, d name.Digest, tagFor func(name.Reference, ...ociremote.Option) (name.Tag, error)) (name.Tag, []oci.Signature, error) {
	opt := v.ociOption(ctx)
	tag, err := tagFor(d, opt, ociremote.WithTargetRepository(d.Repository))
	if err != nil {
		return tag, nil, err
	}
	sigs, err := ociremote.Signatures(tag, opt, ociremote.WithTargetRepository(d.Repository))
	if err != nil {
		return tag, nil, err
	}
	list, err := sigs.Get()
	if err != nil {
		return tag, nil, err
	}
	if len(list) > maxCandidates {
		list = list[:maxCandidates]
	}
	return tag, list, nil
}

// layer is the part of a v1.Layer readLayer needs.
type layer interface {
	Size() (int64, error)
	Compressed() (io.ReadCloser, error)
}

// readLayer reads a layer's bytes (as stored: signature layers are not
// compressed), refusing one larger than limit, whatever its descriptor
// claims.
func readLayer(l layer, limit int64) ([]byte, error) {
	if size, err := l.Size(); err == nil && size > limit {
		return nil, fmt.Errorf("the layer is %d bytes, more than the %d a signature may have", size, limit)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readLimited(rc, limit)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// referrerManifest is the part of a referrer's manifest read to decide
// whether it holds a Sigstore bundle.
type referrerManifest struct {
	ArtifactType string            `json:"artifactType"`
	Config       v1.Descriptor     `json:"config"`
	Layers       []v1.Descriptor   `json:"layers"`
	Annotations  map[string]string `json:"annotations"`
}

// findBundles reads the Sigstore bundles among the digest's referrers
// (through the referrers API, or the tag fallback where the registry has
// none).
//
// The referrers list's artifactType is not relied on: some registries
// (go-containerregistry's among them) report the config media type there.
// So each referrer's own manifest is read, and a referrer holds a bundle
// when its manifest's artifactType or its single layer's media type is a
// bundle media type. A bundle whose manifest says it carries another
// predicate type than a cosign signature is an attestation and is skipped.
func (v *Verifier) findBundles(ctx context.Context, d name.Digest, digest []byte, attestations bool) (sigs, atts []candidate, err error) {
	idx, err := ociremote.Referrers(d, "", v.ociOption(ctx))
	if err != nil {
		return nil, nil, err
	}
	var out []candidate
	for i, desc := range idx.Manifests {
		if len(out)+len(atts) >= maxCandidates || i >= maxReferrers {
			break
		}
		if desc.Size > maxReferrerManifestSize {
			continue
		}
		ref := d.Context().Digest(desc.Digest.String())
		c := candidate{format: artifact.FormatBundle, location: ref.String(), digest: digest, kind: "image"}
		m, err := v.readReferrer(ctx, ref)
		if err != nil {
			c.err = fmt.Errorf("reading the referrer manifest: %w", err)
			out = append(out, c)
			continue
		}
		isBundle := strings.HasPrefix(m.ArtifactType, bundleMediaTypePrefix) ||
			(len(m.Layers) == 1 && strings.HasPrefix(string(m.Layers[0].MediaType), bundleMediaTypePrefix))
		if !isBundle {
			continue
		}
		// The manifest's annotation names the predicate type; without
		// it, the statement does (read below).
		pt := m.Annotations[annotationPredicateType]
		isAttestation := pt != "" && pt != artifact.CosignSignPredicateType
		if isAttestation && !attestations {
			continue
		}
		c.attestation = isAttestation
		if len(m.Layers) != 1 {
			c.err = fmt.Errorf("a bundle referrer has one layer, this one has %d", len(m.Layers))
			out = append(out, c)
			continue
		}
		l, err := remote.Layer(d.Context().Digest(m.Layers[0].Digest.String()), v.remoteOptions(ctx)...)
		var raw []byte
		if err == nil {
			raw, err = readLayer(sizedLayer{l, m.Layers[0].Size}, maxBundleSize)
		}
		if err != nil {
			c.err = fmt.Errorf("reading the bundle: %w", err)
			out = append(out, c)
			continue
		}
		c.raw = raw
		b, _, err := parseBundleJSON(raw, nil, v.policy.key != nil)
		switch {
		case err != nil:
			c.err = err
		case b.GetDsseEnvelope() == nil:
			c.err = errors.New("the bundle holds a message signature, not the in-toto statement cosign signs for an image")
		default:
			c.entity = b
			if pt == "" {
				if st, err := statementOf(b); err == nil && st.PredicateType != artifact.CosignSignPredicateType {
					c.attestation, c.statement = true, st
				}
			}
		}
		switch {
		case c.attestation && attestations:
			atts = append(atts, c)
		case !c.attestation:
			out = append(out, c)
		}
	}
	return out, atts, nil
}

// readReferrer reads a referrer's manifest, bounded.
func (v *Verifier) readReferrer(ctx context.Context, ref name.Digest) (*referrerManifest, error) {
	desc, err := remote.Get(ref, v.remoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	if len(desc.Manifest) > maxReferrerManifestSize {
		return nil, fmt.Errorf("the manifest is %d bytes, more than %d", len(desc.Manifest), maxReferrerManifestSize)
	}
	var m referrerManifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// sizedLayer reports the size its manifest gives, so an oversized bundle is
// refused before it is read.
type sizedLayer struct {
	v1.Layer
	size int64
}

func (l sizedLayer) Size() (int64, error) { return l.size, nil }

// forEach runs f for each index below n, at most limit at once.
func forEach(n, limit int, f func(i int)) {
	g := new(errgroup.Group)
	g.SetLimit(limit)
	for i := range n {
		g.Go(func() error { f(i); return nil })
	}
	_ = g.Wait()
}

// finish assembles the report and the error.
func (v *Verifier) finish(ctx context.Context, arts []Artifact) (Report, error) {
	r := Report{Policy: v.policy.expected, Format: v.o.format, Artifacts: arts, Verified: len(arts) > 0}
	var failed []Artifact
	for _, a := range arts {
		if !a.Passed {
			failed = append(failed, a)
			r.Verified = false
		}
	}
	if r.Artifacts == nil {
		r.Artifacts = []Artifact{}
	}
	if err := ctx.Err(); err != nil && !r.Verified {
		return r, fmt.Errorf("verification interrupted: %w", err)
	}
	if len(arts) == 0 {
		return r, errors.New("nothing to verify: no images or files given")
	}
	if len(failed) > 0 {
		return r, &Error{Failed: failed}
	}
	return r, nil
}
