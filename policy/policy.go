package policy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
	"go.yaml.in/yaml/v3"

	"github.com/sigil-dev/sigil/artifact"
)

// The names of the files Generate returns, in the order it returns them.
const (
	KyvernoFile            = "kyverno-clusterpolicy.yaml"
	ClusterImagePolicyFile = "policy-controller-clusterimagepolicy.yaml"
	TrustRootFile          = "policy-controller-trustroot.yaml"
	FluxFile               = "flux-ocirepository-verify.yaml"
)

// DefaultName is the metadata.name of the generated objects when
// Input.Name is empty.
const DefaultName = "sigil-signed-images"

// DefaultFluxNamespace is the namespace of the Flux objects when
// Input.FluxNamespace is empty.
const DefaultFluxNamespace = "flux-system"

// Public Sigstore endpoints, named in the policies when no trusted root is
// given.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicRekorURL  = "https://rekor.sigstore.dev"
)

// AnyTag returns id loosened to admit every tag of the same workflow: a
// GitHub subject ending in @refs/tags/TAG becomes the regexp of that
// workflow at any tag, so the next release's policies need no edit. Other
// identities (a branch, an e-mail) are returned as they are.
func AnyTag(id artifact.Requirement) artifact.Requirement {
	prefix, ref, ok := cutLast(id.Subject, "@")
	if !ok || !strings.HasPrefix(prefix, "https://") || !strings.HasPrefix(ref, "refs/tags/") {
		return id
	}
	id.SubjectRegexp = "^" + regexp.QuoteMeta(prefix) + "@refs/tags/[^@]+$"
	return id
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// Image is an image that was signed in one repository.
type Image struct {
	// Repository is the repository, e.g. ghcr.io/org/app or
	// index.docker.io/org/app. Required.
	Repository string `json:"repository"`
	// Tag is a tag the image was pushed under, if the run knew one. It
	// only sets the Flux OCIRepository's ref: of a repository's tags, the
	// first by name that is not "latest".
	Tag string `json:"tag,omitempty"`
	// Digest is the signed manifest digest, if known. It sets the Flux
	// OCIRepository's ref when the repository has no tag (the first by
	// name); without either, the ref is the tag "latest".
	Digest string `json:"digest,omitempty"`
}

// Input is what the policies are generated from: who signed what, and
// against which Sigstore instance.
type Input struct {
	// Identities are the identities whose signatures are admitted; an image
	// signed by any one of them passes. Each names its subject exactly, or
	// by an anchored SubjectRegexp in place of it (see AnyTag), and its
	// issuer exactly; the other fields of a Requirement are refused. At
	// least one is required; a single run has one.
	Identities []artifact.Requirement
	// Images are the signed images. Repositories are deduplicated; at least
	// one is required.
	Images []Image
	// TrustedRoot is the private Sigstore instance's trusted root. Nil (the
	// default) means the public instance: the policies then carry no keys
	// and the tools use their built-in trust. A non-nil root is always
	// written into the policies, even the public instance's, so pass nil
	// for the public instance.
	TrustedRoot *root.TrustedRoot
	// RekorURL is the base URL of the Rekor v1 log the legacy signatures
	// were entered in. It picks the log out of TrustedRoot, and is
	// required when TrustedRoot lists more than one log (a Rekor v2 log
	// beside the v1 log, say). Ignored without TrustedRoot.
	RekorURL string
	// Name is the metadata.name of the ClusterPolicy and the
	// ClusterImagePolicy, and the prefix of the TrustRoot's and the Flux
	// Secret's names. The default is DefaultName.
	Name string
	// FluxNamespace is the namespace of the Flux objects. The default is
	// DefaultFluxNamespace.
	FluxNamespace string
	// Provenance, when set, makes the Kyverno and policy-controller
	// policies also require SLSA v1 build provenance (predicate type
	// https://slsa.dev/provenance/v1, GitHub's build type) signed by the
	// same identities, in cosign's legacy .att attestation (which both
	// read), whose predicate names the source repository and workflow file
	// of one of the identities: each identity's subject must then be a
	// GitHub workflow, https://github.com/OWNER/NAME/PATH@REF. Set it when
	// the run attested provenance with a legacy attestation. (A reusable
	// workflow's subject names the called workflow, while its provenance
	// names the caller's; such runs need their provenance conditions
	// written by hand.) Flux's verify has no attestations: its file is
	// unchanged. The default is false.
	Provenance bool
}

// source is a repository and workflow file a provenance must name.
type source struct {
	repository string // https://github.com/OWNER/NAME
	workflow   string // .github/workflows/release.yml
}

// gitHubSource reads the repository and workflow file of a GitHub workflow
// subject, https://github.com/OWNER/NAME/PATH@REF.
func gitHubSource(subject string) (source, error) {
	rest, ok := strings.CutPrefix(subject, "https://github.com/")
	at := strings.LastIndex(rest, "@")
	parts := strings.SplitN(rest[:max(at, 0)], "/", 3)
	if !ok || at < 0 || len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return source{}, fmt.Errorf("identity %s: provenance conditions need a GitHub workflow subject, https://github.com/OWNER/NAME/PATH@REF", subject)
	}
	return source{repository: "https://github.com/" + parts[0] + "/" + parts[1], workflow: parts[2]}, nil
}

// File is one generated policy file.
type File struct {
	// Name is the file's base name, one of the *File constants.
	Name string
	// Data is the file's YAML, starting with a comment header.
	Data []byte
}

// repo is one deduplicated repository.
type repo struct {
	name string // normalized, e.g. index.docker.io/org/app
	tag  string // for Flux; the first tag given, by tagBefore, if any
	dig  string // for Flux; the smallest digest given, if any
}

// prepared is a checked Input with defaults applied.
type prepared struct {
	identities []artifact.Requirement
	repos      []repo
	trust      *trustMaterial // nil: public instance
	name       string
	namespace  string
	// sources are the repositories and workflows a provenance may name;
	// empty when no provenance is required.
	sources []source
}

// dns1123 is a Kubernetes object name (a DNS-1123 subdomain).
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// registryHost is a registry's host name or IP address, with an optional
// port; go-containerregistry lets through characters no registry has, and
// no policy tool would accept.
var registryHost = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?$`)

// checkText refuses identity text that a YAML document or a policy tool
// could not carry faithfully.
func checkText(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\uFEFF' {
			return fmt.Errorf("%s %q contains a control character", what, s)
		}
	}
	return nil
}

func prepare(in Input) (*prepared, error) {
	p := &prepared{name: in.Name, namespace: in.FluxNamespace}
	if p.name == "" {
		p.name = DefaultName
	}
	if p.namespace == "" {
		p.namespace = DefaultFluxNamespace
	}
	var errs []error
	// The TrustRoot and Secret names add a suffix; keep room for it.
	if len(p.name) > 200 || !dns1123.MatchString(p.name) {
		errs = append(errs, fmt.Errorf("name %q is not a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 200 characters)", p.name))
	}
	if len(p.namespace) > 63 || !dns1123.MatchString(p.namespace) || strings.Contains(p.namespace, ".") {
		errs = append(errs, fmt.Errorf("flux namespace %q is not a Kubernetes namespace name", p.namespace))
	}

	if len(in.Identities) == 0 {
		errs = append(errs, errors.New("no signing identity: the policies pin the identity that signed"))
	}
	seen := map[artifact.Requirement]bool{}
	for _, id := range in.Identities {
		if id.IssuerRegexp != "" || id.SourceRepositoryURI != "" || id.SourceRepositoryRef != "" || id.RunnerEnvironment != "" || id.AnyIdentityUnsafe {
			errs = append(errs, fmt.Errorf("identity %s: the policies pin a subject (exactly or by regexp) and an exact issuer, nothing else", id))
			continue
		}
		if err := errors.Join(checkText("certificate identity (subject)", id.Subject), checkText("certificate OIDC issuer", id.Issuer)); err != nil {
			errs = append(errs, err)
			continue
		}
		if id.SubjectRegexp != "" {
			if err := checkText("certificate identity regexp", id.SubjectRegexp); err != nil {
				errs = append(errs, err)
				continue
			}
			if _, err := regexp.Compile(id.SubjectRegexp); err != nil || !strings.HasPrefix(id.SubjectRegexp, "^") || !strings.HasSuffix(id.SubjectRegexp, "$") {
				errs = append(errs, fmt.Errorf("certificate identity regexp %q: want an anchored (^...$) RE2 regexp", id.SubjectRegexp))
				continue
			}
		}
		if !seen[id] {
			seen[id] = true
			p.identities = append(p.identities, id)
		}
	}
	slices.SortFunc(p.identities, func(a, b artifact.Requirement) int {
		return cmp.Or(strings.Compare(a.Issuer, b.Issuer), strings.Compare(a.Subject, b.Subject), strings.Compare(a.SubjectRegexp, b.SubjectRegexp))
	})
	if in.Provenance {
		for _, id := range p.identities {
			src, err := gitHubSource(id.Subject)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !slices.Contains(p.sources, src) {
				p.sources = append(p.sources, src)
			}
		}
		slices.SortFunc(p.sources, func(a, b source) int {
			return cmp.Or(strings.Compare(a.repository, b.repository), strings.Compare(a.workflow, b.workflow))
		})
	}

	if len(in.Images) == 0 {
		errs = append(errs, errors.New("no signed image: the policies cover the repositories that were signed"))
	}
	byName := map[string]*repo{}
	for _, img := range in.Images {
		r, err := name.NewRepository(img.Repository)
		if err != nil || !registryHost.MatchString(r.RegistryStr()) {
			errs = append(errs, fmt.Errorf("repository %q: want a repository such as ghcr.io/org/app, without tag or digest", img.Repository))
			continue
		}
		n := r.Name()
		e := byName[n]
		if e == nil {
			e = &repo{name: n}
			byName[n] = e
		}
		if img.Tag != "" {
			if _, err := name.NewTag(n + ":" + img.Tag); err != nil {
				errs = append(errs, fmt.Errorf("image %s: tag %q: %w", n, img.Tag, err))
			} else if e.tag == "" || tagBefore(img.Tag, e.tag) {
				e.tag = img.Tag
			}
		}
		if img.Digest != "" {
			if _, err := name.NewDigest(n + "@" + img.Digest); err != nil {
				errs = append(errs, fmt.Errorf("image %s: digest %q: %w", n, img.Digest, err))
			} else if e.dig == "" || img.Digest < e.dig {
				e.dig = img.Digest
			}
		}
	}
	for _, e := range byName {
		p.repos = append(p.repos, *e)
	}
	slices.SortFunc(p.repos, func(a, b repo) int { return strings.Compare(a.name, b.name) })

	if in.TrustedRoot != nil {
		tm, err := trustFrom(in.TrustedRoot, in.RekorURL)
		if err != nil {
			errs = append(errs, err)
		}
		p.trust = tm
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("generating policies: %w", err)
	}
	return p, nil
}

// tagBefore orders the tags a repository was signed under, for the one
// Flux follows: a release tag before "latest", then by name.
func tagBefore(a, b string) bool {
	if (a == "latest") != (b == "latest") {
		return b == "latest"
	}
	return a < b
}

// Generate returns the policy files for in, in the order of the *File
// constants; the TrustRoot file only for a private Sigstore (a non-nil
// TrustedRoot).
func Generate(in Input) ([]File, error) {
	p, err := prepare(in)
	if err != nil {
		return nil, err
	}
	type gen struct {
		file string
		f    func(*prepared) (header string, docs []any)
	}
	gens := []gen{
		{KyvernoFile, kyverno},
		{ClusterImagePolicyFile, clusterImagePolicy},
		{TrustRootFile, trustRoot},
		{FluxFile, flux},
	}
	var files []File
	for _, g := range gens {
		header, docs := g.f(p)
		if len(docs) == 0 {
			continue
		}
		b, err := encode(header, docs)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", g.file, err)
		}
		files = append(files, File{Name: g.file, Data: b})
	}
	return files, nil
}

// Write generates the policy files for in and writes them into dir,
// creating it if needed and replacing files of the same names. It returns
// the paths written. A TrustRoot file left from an earlier private-Sigstore
// run is removed when in has no trusted root, so the directory never holds
// a TrustRoot the other files do not name.
func Write(dir string, in Input) ([]string, error) {
	files, err := Generate(in)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the policies directory: %w", err)
	}
	var paths []string
	wrote := map[string]bool{}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		if err := writeFileAtomic(path, f.Data); err != nil {
			return paths, err
		}
		wrote[f.Name] = true
		paths = append(paths, path)
	}
	if !wrote[TrustRootFile] {
		if err := os.Remove(filepath.Join(dir, TrustRootFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return paths, fmt.Errorf("removing a stale %s: %w", TrustRootFile, err)
		}
	}
	return paths, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// encode writes the header comment, then each document, separated by
// "---" lines. The header is text of this package's own, never a value
// from the input.
func encode(header string, docs []any) ([]byte, error) {
	var buf bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		buf.WriteString(strings.TrimRight("# "+line, " "))
		buf.WriteByte('\n')
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
