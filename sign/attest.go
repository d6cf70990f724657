package sign

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/registry"
)

// A Predicate is attested, under the run's certificate, about the
// artifacts it names: for images, one in-toto statement per manifest
// digest, whose subjects are that digest in each of the run's repositories
// (so one log entry serves them all); for files, one statement whose
// subjects are all its files.
type Predicate struct {
	// Type is the predicate type, an absolute URI.
	Type string
	// Kind names it in results and messages: "provenance", "SPDX 2.3",
	// "CycloneDX 1.6", "custom".
	Kind string
	// Source is the document it was read from ("" for provenance).
	Source string
	// JSON is the predicate, a JSON object.
	JSON []byte
	// Images are references as given to SignImages: the predicate is
	// about the manifests they name (provenance also about the platform
	// manifests signed with WithRecursive: they were built by the same
	// run; a document describes what its reference names). Files are
	// paths as given to SignFiles.
	Images, Files []string
}

// WithPredicates adds predicates to attest (SBOMs, custom predicates).
func WithPredicates(ps ...Predicate) Option {
	return func(o *options) { o.predicates = append(o.predicates, ps...) }
}

// WithProvenance attests SLSA v1 build provenance (package provenance) of
// every image and file signed, built from the claims of the identity token
// the run traded at Fulcio — no second token — and serverURL, the GitHub
// server (GITHUB_SERVER_URL).
func WithProvenance(serverURL string) Option {
	return func(o *options) { o.provenance, o.serverURL = true, serverURL }
}

// Attestation bundles of files are written as NAME.intoto.sigstore.json in
// the directory the files share (ProvenanceBundle for provenance; for a
// document, its name without .json), where verify looks for them.
const ProvenanceBundle = "provenance" + attestationSuffix

const attestationSuffix = ".intoto" + artifact.BundleSuffix

// FileAttestation is one attestation of release files.
type FileAttestation struct {
	// PredicateType and Kind are the predicate's (see Predicate).
	PredicateType string `json:"predicateType"`
	Kind          string `json:"kind"`
	// Files are its subjects.
	Files []string `json:"files"`
	// Bundle is the path of its Sigstore bundle.
	Bundle string `json:"bundle"`
	// Log is its transparency log entry.
	Log artifact.LogEntry `json:"log"`
}

// predicates returns the predicates of the run, provenance first, each
// with its artifacts: provenance is about everything signed.
func (s *Signer) predicates(images, files []string) []Predicate {
	var ps []Predicate
	if s.o.provenance {
		ps = append(ps, Predicate{Type: provenance.PredicateType, Kind: "provenance", Images: images, Files: files})
	}
	return append(ps, s.o.predicates...)
}

// predicateJSON is p's JSON; provenance's is built once, from the token
// the certificate was requested with.
func (s *Signer) predicateJSON(ctx context.Context, p Predicate) ([]byte, error) {
	if p.JSON != nil || p.Type != provenance.PredicateType || p.Source != "" {
		return p.JSON, nil
	}
	s.provOnce.Do(func() {
		token, err := s.tokens.last(ctx)
		if err != nil {
			s.provErr = err
			return
		}
		claims, err := provenance.ClaimsFromToken(token)
		if err != nil {
			s.provErr = fmt.Errorf("building the provenance: %w", err)
			return
		}
		pred, err := provenance.New(claims, s.o.serverURL)
		if err != nil {
			s.provErr = fmt.Errorf("building the provenance: %w", err)
			return
		}
		s.provJSON, s.provErr = pred.JSON()
	})
	return s.provJSON, s.provErr
}

// statement is the in-toto statement of p about subjects, checked against
// the limits of every log it will be recorded in.
func (s *Signer) statement(ctx context.Context, p Predicate, subjects []attestation.Subject) ([]byte, error) {
	js, err := s.predicateJSON(ctx, p)
	if err != nil {
		return nil, err
	}
	what := p.Source
	if what == "" {
		what = p.Kind
	}
	st, err := attestation.NewStatement(subjects, p.Type, js)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for _, v := range s.logVersions() {
		if err := attestation.CheckSize(what, len(st), v); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// logVersions are the Rekor API versions attestations are recorded in.
func (s *Signer) logVersions() []int {
	vs := []int{s.tlog.Version}
	if s.o.format.Includes(artifact.FormatLegacy) && s.tlog.Version != 1 {
		vs = append(vs, 1)
	}
	return vs
}

// signAttestation signs an in-toto statement as a DSSE envelope in log l.
func (s *Signer) signAttestation(ctx context.Context, st []byte, l Log, tsas []*sgsign.TimestampAuthority) (*signed, error) {
	return s.sign(ctx, &sgsign.DSSEData{Data: st, PayloadType: attestation.PayloadType}, l, tsas)
}

// imageAttestations plans the attestations of images: for each target, the
// predicates about it; and for each digest, the subjects of its
// statements (the digest in every repository the predicate covers).
type imageAttestations struct {
	preds []Predicate
	// of lists, per target (by reference), the indexes of its predicates.
	of map[string][]int
	// subjects lists, per predicate index and digest, the subjects.
	subjects map[int]map[string][]attestation.Subject
	// statements caches the statements by predicate index and digest.
	statements onceMap[[]byte]
}

// planAttestations matches the predicates to the targets, through the
// references they were resolved from, and checks every statement's size
// (except provenance's, built after the token), before anything is
// signed.
func (s *Signer) planAttestations(ctx context.Context, refs []string, targets []registry.Target, from map[string][]string) (*imageAttestations, error) {
	pa := &imageAttestations{preds: s.predicates(refs, nil), of: map[string][]int{}, subjects: map[int]map[string][]attestation.Subject{}}
	for i, p := range pa.preds {
		pa.subjects[i] = map[string][]attestation.Subject{}
		for _, t := range targets {
			if t.Index != "" && p.Source != "" || !slices.ContainsFunc(from[t.Ref.String()], func(r string) bool { return slices.Contains(p.Images, r) }) {
				continue
			}
			pa.of[t.Ref.String()] = append(pa.of[t.Ref.String()], i)
			sub, err := attestation.SubjectFor(t.Ref.Context().Name(), t.Digest)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(pa.subjects[i][t.Digest], func(x attestation.Subject) bool { return x.Name == sub.Name }) {
				pa.subjects[i][t.Digest] = append(pa.subjects[i][t.Digest], sub)
			}
		}
	}
	for i, p := range pa.preds {
		if p.JSON == nil {
			continue
		}
		for d := range pa.subjects[i] {
			if _, err := pa.statement(ctx, s, i, d); err != nil {
				return nil, err
			}
		}
	}
	return pa, nil
}

func (pa *imageAttestations) statement(ctx context.Context, s *Signer, i int, digest string) ([]byte, error) {
	return pa.statements.do(digest, fmt.Sprint(i), func() ([]byte, error) {
		return s.statement(ctx, pa.preds[i], pa.subjects[i][digest])
	})
}

// PredicateDigest identifies a predicate's content (JSON, compared
// whatever its spacing), to tell an existing attestation of the same
// document from one of another.
func PredicateDigest(js []byte) string {
	var v any
	if json.Unmarshal(js, &v) == nil {
		if c, err := json.Marshal(v); err == nil {
			js = c
		}
	}
	sum := sha256.Sum256(js)
	return fmt.Sprintf("sha256:%x", sum)
}

// existingAttestation is what ex holds of predicate p in format f: the
// same predicate type by the run's identity, and for a document (not
// provenance, which names the run attempt) the same content.
func (s *Signer) existingAttestation(ctx context.Context, ex Existing, p Predicate, f artifact.Format) (*ExistingAttestation, error) {
	var want string
	if p.Type != provenance.PredicateType || p.Source != "" {
		js, err := s.predicateJSON(ctx, p)
		if err != nil {
			return nil, err
		}
		want = PredicateDigest(js)
	}
	for i := range ex.Attestations {
		a := &ex.Attestations[i]
		if a.Signature.Format == f && a.PredicateType == p.Type && (want == "" || a.PredicateDigest == want) {
			return a, nil
		}
	}
	return nil, nil
}

// attestTarget returns the attestations of t, in the formats asked for,
// but what ex holds already, and their writes. A digest's bundle is signed
// once (bundles) and attached to each of its repositories, or taken from
// reuse (another repository of the digest has it); its legacy attestation
// reuses that signature when the log is Rekor v1, whose signed entry
// timestamp the legacy format needs.
func (s *Signer) attestTarget(ctx context.Context, t registry.Target, pa *imageAttestations, ex Existing, reuse map[string]*ExistingAttestation, bundles *onceMap[*signed]) ([]Signature, []*write, error) {
	var sigs []Signature
	// mk makes each new signature's write, once sigs stops growing (the
	// writes point into it).
	var mk []func(sig *Signature) (*write, error)
	for _, i := range pa.of[t.Ref.String()] {
		p, key := pa.preds[i], fmt.Sprint(i, t.Digest)
		for _, f := range s.formats() {
			old, err := s.existingAttestation(ctx, ex, p, f)
			if err != nil {
				return nil, nil, err
			}
			if old != nil {
				sig := old.Signature
				sig.AlreadySigned = true
				sigs, mk = append(sigs, sig), append(mk, nil)
				continue
			}
			if r := reuse[key]; f == artifact.FormatBundle && r != nil {
				sigs = append(sigs, Signature{Format: f, PredicateType: p.Type, Log: r.Signature.Log})
				mk = append(mk, func(sig *Signature) (*write, error) { return s.referrerWrite(t, sig, r.BundleJSON, p.Type), nil })
				continue
			}
			st, err := pa.statement(ctx, s, i, t.Digest)
			if err != nil {
				return nil, nil, err
			}
			sb, err := bundles.do(t.Digest, fmt.Sprint(i), func() (*signed, error) { return s.signAttestation(ctx, st, s.tlog, s.tsas) })
			if err == nil && f == artifact.FormatLegacy && s.tlog.Version != 1 {
				sb, err = bundles.do(t.Digest, fmt.Sprint("legacy ", i), func() (*signed, error) { return s.signAttestation(ctx, st, *s.legacy, nil) })
			}
			if err != nil {
				return nil, nil, fmt.Errorf("attesting %s: %w", p.Kind, err)
			}
			sigs = append(sigs, Signature{Format: f, PredicateType: p.Type, Log: sb.entry})
			if f == artifact.FormatBundle {
				mk = append(mk, func(sig *Signature) (*write, error) { return s.referrerWrite(t, sig, sb.json, p.Type), nil })
			} else {
				mk = append(mk, func(sig *Signature) (*write, error) { return s.legacyAttestationWrite(t, sig, p.Type, sb) })
			}
		}
	}
	var writes []*write
	for k, m := range mk {
		if m == nil {
			continue
		}
		w, err := m(&sigs[k])
		if err != nil {
			return sigs, writes, err
		}
		writes = append(writes, w)
	}
	return sigs, writes, nil
}

// formats are the image formats of the run, bundle first.
func (s *Signer) formats() []artifact.Format {
	var fs []artifact.Format
	if s.o.format.Includes(artifact.FormatBundle) {
		fs = append(fs, artifact.FormatBundle)
	}
	if s.o.format.Includes(artifact.FormatLegacy) {
		fs = append(fs, artifact.FormatLegacy)
	}
	return fs
}

// legacyAttestationWrite appends the DSSE envelope of sb to d's
// sha256-<hex>.att tag, with the certificate chain and the Rekor v1 entry
// as cosign 2's attest writes them (Kyverno's and policy-controller's
// attestation checks read that tag).
func (s *Signer) legacyAttestationWrite(t registry.Target, sig *Signature, predicateType string, sb *signed) (*write, error) {
	d := t.Ref
	env := sb.bundle.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("the attestation of %s holds no DSSE envelope", d)
	}
	// The layer is the envelope exactly as sigstore-go sent it to Rekor
	// (encoding/json of the protobuf message): the log's dsse entry holds
	// the SHA-256 of those bytes, which cosign 2, Kyverno and
	// policy-controller match against the layer ("matching bundle to
	// payload"). It reads as a DSSE envelope: payloadType, payload and
	// signatures' sig in base64.
	envJSON, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	rb, err := rekorBundle(sb)
	if err != nil {
		return nil, err
	}
	att, err := static.NewAttestation(envJSON,
		static.WithCertChain(encodeCerts(sb.chain[:1]), encodeCerts(sb.chain[1:])),
		static.WithBundle(rb),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	if err != nil {
		return nil, err
	}
	// The tag depends on the digest alone, not on the context.
	tag, err := ociremote.AttestationTag(d, ociremote.WithRemoteOptions(s.o.remote...))
	if err != nil {
		return nil, err
	}
	var written tagState
	return &write{
		target: t, sig: sig, readBack: ReadBackAttestationTag,
		push: func(ctx context.Context) error {
			se := ociremote.SignedUnknown(d, s.ropts(ctx))
			newSE, err := mutate.AttachAttestationToEntity(se, att, mutate.WithDupeDetector(samePayload{envJSON}))
			if err != nil {
				return s.pushError(err, d, pushedAttestation)
			}
			return s.writeTag(ctx, d, tag, newSE.Attestations, att, pushedAttestation, &written)
		},
		find: func(ctx context.Context) (string, error) {
			if written.unchanged(tag, s.remoteOpts(ctx)) {
				return tag.String(), nil
			}
			atts, err := ociremote.Signatures(tag, s.ropts(ctx))
			if err != nil {
				if notFound(err) {
					return "", nil
				}
				return "", fmt.Errorf("reading back the legacy attestation: %w", registry.Explain(err, tag, s.o.auth))
			}
			all, err := atts.Get()
			if err != nil {
				return "", fmt.Errorf("reading back the legacy attestation: %w", err)
			}
			for _, a := range all {
				if pl, err := a.Payload(); err == nil && string(pl) == string(envJSON) {
					return tag.String(), nil
				}
			}
			return "", nil
		},
	}, nil
}

// samePayload finds the attestation whose payload (its DSSE envelope) is
// the one being attached, so that writing again never adds it twice.
type samePayload struct{ payload []byte }

func (d samePayload) Find(atts oci.Signatures, _ oci.Signature) (oci.Signature, error) {
	all, err := atts.Get()
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if pl, err := a.Payload(); err == nil && string(pl) == string(d.payload) {
			return a, nil
		}
	}
	return nil, nil
}

// rekorBundle is the Rekor v1 entry of sb in cosign's legacy annotation: the
// signed entry timestamp over the entry's body, time, index and log.
func rekorBundle(sb *signed) (*cbundle.RekorBundle, error) {
	tle := sb.bundle.GetVerificationMaterial().GetTlogEntries()[0]
	if tle.GetInclusionPromise() == nil {
		return nil, fmt.Errorf("Rekor at %s returned no signed entry timestamp, which the legacy format needs", sb.entry.URL)
	}
	return &cbundle.RekorBundle{
		SignedEntryTimestamp: tle.GetInclusionPromise().GetSignedEntryTimestamp(),
		Payload: cbundle.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
			IntegratedTime: tle.GetIntegratedTime(),
			LogIndex:       tle.GetLogIndex(),
			LogID:          sb.entry.LogID,
		},
	}, nil
}

// CheckFiles checks, before anything is contacted, that every log the
// run records in would accept the statement of each predicate about files
// (provenance, built once the token is there, is small).
func (s *Signer) CheckFiles(paths []string) error {
	zero := "sha256:" + strings.Repeat("0", 64)
	for _, p := range s.predicates(nil, paths) {
		if p.JSON == nil || len(p.Files) == 0 {
			continue
		}
		var subjects []attestation.Subject
		for _, f := range p.Files {
			sub, err := attestation.SubjectFor(filepath.Base(f), zero)
			if err != nil {
				return err
			}
			subjects = append(subjects, sub)
		}
		if _, err := s.statement(context.Background(), p, subjects); err != nil {
			return err
		}
	}
	return nil
}

// AttestFiles attests the run's predicates about the files signed (as
// SignFiles returned them): one statement per predicate, whose subjects are
// the files it names with their SHA-256 digests, signed once and written as
// a bundle in the directory the files share (ProvenanceBundle for the
// provenance).
func (s *Signer) AttestFiles(ctx context.Context, files []File) ([]FileAttestation, error) {
	var paths []string
	digests := map[string]string{}
	for _, f := range files {
		paths = append(paths, f.Path)
		digests[f.Path] = f.SHA256
	}
	var out []FileAttestation
	for _, p := range s.predicates(nil, paths) {
		if len(p.Files) == 0 {
			continue
		}
		var subjects []attestation.Subject
		for _, f := range p.Files {
			sub, err := attestation.SubjectFor(filepath.Base(f), "sha256:"+digests[f])
			if err != nil {
				return out, err
			}
			subjects = append(subjects, sub)
		}
		st, err := s.statement(ctx, p, subjects)
		if err != nil {
			return out, err
		}
		sb, err := s.signAttestation(ctx, st, s.tlog, s.tsas)
		if err != nil {
			return out, fmt.Errorf("attesting %s: %w", p.Kind, err)
		}
		path := filepath.Join(commonDir(p.Files), fileAttestationName(p))
		if err := os.WriteFile(path, sb.json, 0o644); err != nil {
			return out, fmt.Errorf("writing the %s attestation: %w", p.Kind, err)
		}
		out = append(out, FileAttestation{PredicateType: p.Type, Kind: p.Kind, Files: p.Files, Bundle: path, Log: sb.entry})
		s.progress(fmt.Sprintf("attested %s of %d file(s) (bundle %s)", p.Kind, len(p.Files), path))
	}
	return out, nil
}

// fileAttestationName is the bundle name of a predicate about files.
func fileAttestationName(p Predicate) string {
	if p.Source == "" {
		return ProvenanceBundle
	}
	return strings.TrimSuffix(filepath.Base(p.Source), ".json") + attestationSuffix
}

// commonDir is the deepest directory holding every path.
func commonDir(paths []string) string {
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for !within(filepath.Dir(p), dir) {
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return dir
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
