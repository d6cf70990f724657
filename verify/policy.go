package verify

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sigil-dev/sigil/artifact"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions' identity tokens, the
// issuer a Policy expects unless told otherwise.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// gitHubURL prefixes what Fulcio writes for a GitHub workflow: the
// certificate's subject is gitHubURL + job_workflow_ref, and its source
// repository extension is gitHubURL + repository.
const gitHubURL = "https://github.com/"

// Runner environments a GitHub workflow can report.
const (
	RunnerGitHubHosted = "github-hosted"
	RunnerSelfHosted   = "self-hosted"
)

// Policy is the identity a signature's certificate must carry: its subject
// (for a GitHub workflow, https://github.com/OWNER/REPO/PATH@REF), the OIDC
// issuer that vouched for it, and optional Fulcio certificate extensions.
// Build one with NewPolicy; the zero Policy accepts nothing.
type Policy struct {
	identity sgverify.CertificateIdentity
	expected artifact.Requirement
	// key, when set, is the public key signatures must verify with, in
	// place of a certificate identity.
	key crypto.PublicKey
	// github holds the GitHub presets as given, which a provenance
	// predicate must agree with too.
	github gitHubPresets
}

// gitHubPresets are the GitHub presets of a policy; empty fields were not
// given.
type gitHubPresets struct {
	// repository is OWNER/NAME.
	repository string
	// workflow is the workflow file's path.
	workflow string
	// ref matches the whole ref, compiled from the ref glob.
	ref     *regexp.Regexp
	refGlob string
	runner  string
}

// PolicyOption is one constraint given to NewPolicy.
type PolicyOption func(*policyInput) error

type policyInput struct {
	identity, identityRegexp string
	issuer, issuerRegexp     string
	repository, workflow     string
	ref, runner              string
	anyIdentity              bool
	key                      crypto.PublicKey
	same                     *x509.Certificate
	set                      map[string]bool
}

// once records that the option named n was given, and refuses a second one:
// a repeated option would silently override the first.
func (in *policyInput) once(n string) error {
	if in.set[n] {
		return fmt.Errorf("%s given twice", n)
	}
	in.set[n] = true
	return nil
}

// WithCertificateIdentity requires the certificate's subject to be exactly
// id, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0.
// It conflicts with WithCertificateIdentityRegexp.
func WithCertificateIdentity(id string) PolicyOption {
	return func(in *policyInput) error { in.identity = id; return in.once("certificate-identity") }
}

// WithCertificateIdentityRegexp requires the certificate's subject to match
// the Go regular expression re. As in cosign, the expression is not anchored:
// write ^...$ to match the whole subject. It conflicts with
// WithCertificateIdentity and with the GitHub presets (WithRepository,
// WithWorkflow, WithRef), which build the subject expression themselves.
func WithCertificateIdentityRegexp(re string) PolicyOption {
	return func(in *policyInput) error { in.identityRegexp = re; return in.once("certificate-identity-regexp") }
}

// WithIssuer requires the certificate's OIDC issuer to be exactly issuer.
// The default, when neither WithIssuer nor WithIssuerRegexp is given, is
// GitHubIssuer.
func WithIssuer(issuer string) PolicyOption {
	return func(in *policyInput) error { in.issuer = issuer; return in.once("certificate-oidc-issuer") }
}

// WithIssuerRegexp requires the certificate's OIDC issuer to match the Go
// regular expression re (not anchored). It conflicts with WithIssuer.
func WithIssuerRegexp(re string) PolicyOption {
	return func(in *policyInput) error { in.issuerRegexp = re; return in.once("certificate-oidc-issuer-regexp") }
}

// WithRepository requires the signature to come from a GitHub workflow of
// repository OWNER/NAME: the subject must be a workflow of that repository
// and the certificate's source repository extension must be
// https://github.com/OWNER/NAME. Names are compared as GitHub wrote them in
// the token, case included.
func WithRepository(repo string) PolicyOption {
	return func(in *policyInput) error { in.repository = repo; return in.once("repository") }
}

// WithWorkflow requires the signing workflow to be the file path (such as
// .github/workflows/release.yml) in the repository given by WithRepository,
// which it needs. A bare file name means .github/workflows/NAME.
func WithWorkflow(path string) PolicyOption {
	return func(in *policyInput) error { in.workflow = path; return in.once("workflow") }
}

// WithRef requires the workflow to have run for a git ref matching glob, a
// full ref such as refs/tags/v* or refs/heads/main. In the glob, * matches
// any run of characters but '/', ** any run at all and ? one character but
// '/'; everything else is literal. It needs WithRepository. A glob without
// wildcards also pins the certificate's source ref extension.
func WithRef(glob string) PolicyOption {
	return func(in *policyInput) error { in.ref = glob; return in.once("ref") }
}

// WithRunnerEnvironment requires the certificate's runner environment
// extension to be env: RunnerGitHubHosted (refusing self-hosted runners) or
// RunnerSelfHosted.
func WithRunnerEnvironment(env string) PolicyOption {
	return func(in *policyInput) error { in.runner = env; return in.once("runner-environment") }
}

// WithPublicKey requires signatures made with the private key of pub (a
// signature made with a key, as `cosign sign --key` makes, rather than
// keylessly): the signature must verify with pub, and no certificate
// identity is checked. It conflicts with every identity option.
func WithPublicKey(pub crypto.PublicKey) PolicyOption {
	return func(in *policyInput) error { in.key = pub; return in.once("key") }
}

// WithSameIdentityAs requires the identity the certificate leaf names:
// the same subject and issuer, and the same source repository, commit,
// ref and workflow (Fulcio's source repository, source repository digest,
// source ref, build config and build signer digest extensions). Another
// run of the same workflow at the same commit and ref is the same
// identity; another tag or commit is not. It is how a signer finds what it
// signed already, and conflicts with every other option.
func WithSameIdentityAs(leaf *x509.Certificate) PolicyOption {
	return func(in *policyInput) error { in.same = leaf; return in.once("same-identity") }
}

// WithAnyIdentityUnsafe accepts a certificate whatever its subject. The
// issuer is still checked (GitHubIssuer unless WithIssuer or
// WithIssuerRegexp says otherwise), and so are the signature, the log entry
// and the certificate chain; but anyone who can obtain a certificate from
// that issuer passes. It conflicts with every subject constraint.
func WithAnyIdentityUnsafe() PolicyOption {
	return func(in *policyInput) error { in.anyIdentity = true; return in.once("any-identity-unsafe") }
}

// NewPolicy builds an identity policy. At least one subject constraint is
// required (WithCertificateIdentity, WithCertificateIdentityRegexp or
// WithRepository), or else the explicit WithAnyIdentityUnsafe. Options that
// contradict each other, repeat, or are malformed are errors, all reported
// at once.
func NewPolicy(opts ...PolicyOption) (*Policy, error) {
	in := &policyInput{set: map[string]bool{}}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(in); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p, err := in.build()
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (in *policyInput) build() (*Policy, error) {
	if in.set["key"] {
		return in.buildKey()
	}
	if in.set["same-identity"] {
		return in.buildSame()
	}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	var exp artifact.Requirement
	var ext certificate.Extensions

	if in.set["certificate-identity"] && in.set["certificate-identity-regexp"] {
		fail("certificate-identity and certificate-identity-regexp both given: give one")
	}
	if in.set["certificate-oidc-issuer"] && in.set["certificate-oidc-issuer-regexp"] {
		fail("certificate-oidc-issuer and certificate-oidc-issuer-regexp both given: give one")
	}
	if in.set["certificate-identity"] && in.identity == "" {
		fail("certificate-identity is empty")
	}
	if in.set["certificate-identity-regexp"] && in.identityRegexp == "" {
		fail("certificate-identity-regexp is empty")
	}
	if in.set["certificate-oidc-issuer"] && in.issuer == "" {
		fail("certificate-oidc-issuer is empty")
	}
	if in.set["certificate-oidc-issuer-regexp"] && in.issuerRegexp == "" {
		fail("certificate-oidc-issuer-regexp is empty")
	}
	presets := in.set["repository"] || in.set["workflow"] || in.set["ref"]
	if presets && in.set["certificate-identity-regexp"] {
		fail("certificate-identity-regexp and the repository/workflow/ref presets both constrain the subject: give one or the other")
	}
	if (in.set["workflow"] || in.set["ref"]) && !in.set["repository"] {
		fail("workflow and ref need repository (OWNER/NAME): without it any repository with that workflow or ref would pass")
	}
	subject := in.set["certificate-identity"] || in.set["certificate-identity-regexp"] || in.set["repository"]
	if in.anyIdentity && subject {
		fail("any-identity-unsafe conflicts with certificate-identity, certificate-identity-regexp and repository: drop one")
	}
	if !in.anyIdentity && !subject {
		fail("no identity to check: give certificate-identity, certificate-identity-regexp or repository (an issuer or runner environment alone lets anyone through); to accept any signer, say so explicitly with any-identity-unsafe: true")
	}

	exp.Subject = in.identity
	sanRegexp := in.identityRegexp
	if in.set["repository"] {
		re, err := gitHubSubjectRegexp(in.repository, in.workflow, in.ref, in.set["workflow"], in.set["ref"])
		if err != nil {
			errs = append(errs, err)
		}
		sanRegexp = re
		ext.SourceRepositoryURI = gitHubURL + in.repository
		if in.set["ref"] && !strings.ContainsAny(in.ref, "*?") {
			ext.SourceRepositoryRef = in.ref
		}
	}
	if in.anyIdentity {
		sanRegexp = ".*"
		exp.AnyIdentityUnsafe = true
	} else {
		exp.SubjectRegexp = sanRegexp
	}
	if in.set["runner-environment"] {
		if in.runner != RunnerGitHubHosted && in.runner != RunnerSelfHosted {
			fail("runner-environment %q: want %s or %s", in.runner, RunnerGitHubHosted, RunnerSelfHosted)
		}
		ext.RunnerEnvironment = in.runner
	}
	exp.Issuer, exp.IssuerRegexp = in.issuer, in.issuerRegexp
	if exp.Issuer == "" && exp.IssuerRegexp == "" {
		exp.Issuer = GitHubIssuer
	}
	exp.SourceRepositoryURI, exp.SourceRepositoryRef, exp.RunnerEnvironment = ext.SourceRepositoryURI, ext.SourceRepositoryRef, ext.RunnerEnvironment

	san, err := sgverify.NewSANMatcher(exp.Subject, sanRegexp)
	if err != nil {
		fail("certificate-identity-regexp %q: %w", sanRegexp, err)
	}
	iss, err := sgverify.NewIssuerMatcher(exp.Issuer, exp.IssuerRegexp)
	if err != nil {
		fail("certificate-oidc-issuer-regexp %q: %w", exp.IssuerRegexp, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	id, err := sgverify.NewCertificateIdentity(san, iss, ext)
	if err != nil {
		return nil, err
	}
	gh := gitHubPresets{repository: in.repository, runner: in.runner}
	if in.set["workflow"] {
		gh.workflow, _ = workflowPath(in.workflow)
	}
	if in.set["ref"] {
		re, _ := globRegexp(in.ref)
		gh.ref, gh.refGlob = regexp.MustCompile("^"+re+"$"), in.ref
	}
	return &Policy{identity: id, expected: exp, github: gh}, nil
}

// buildKey builds a policy that checks a public key, not an identity.
func (in *policyInput) buildKey() (*Policy, error) {
	var others []string
	for _, n := range []string{"certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer", "certificate-oidc-issuer-regexp",
		"repository", "workflow", "ref", "runner-environment", "any-identity-unsafe"} {
		if in.set[n] {
			others = append(others, n)
		}
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("key conflicts with %s: a signature made with a key carries no certificate identity to check; give one or the other", strings.Join(others, ", "))
	}
	fp, err := keyFingerprint(in.key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return &Policy{key: in.key, expected: artifact.Requirement{PublicKey: fp}}, nil
}

// buildSame builds the policy of WithSameIdentityAs.
func (in *policyInput) buildSame() (*Policy, error) {
	if len(in.set) > 1 {
		return nil, errors.New("same-identity conflicts with every other identity option")
	}
	sum, err := certificate.SummarizeCertificate(in.same)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate's identity: %w", err)
	}
	san, err := sgverify.NewSANMatcher(sum.SubjectAlternativeName, "")
	if err != nil {
		return nil, err
	}
	iss, err := sgverify.NewIssuerMatcher(sum.Issuer, "")
	if err != nil {
		return nil, err
	}
	ext := certificate.Extensions{
		SourceRepositoryURI:    sum.SourceRepositoryURI,
		SourceRepositoryDigest: sum.SourceRepositoryDigest,
		SourceRepositoryRef:    sum.SourceRepositoryRef,
		BuildConfigURI:         sum.BuildConfigURI,
		BuildSignerDigest:      sum.BuildSignerDigest,
	}
	id, err := sgverify.NewCertificateIdentity(san, iss, ext)
	if err != nil {
		return nil, err
	}
	return &Policy{identity: id, expected: artifact.Requirement{
		Subject: sum.SubjectAlternativeName, Issuer: sum.Issuer,
		SourceRepositoryURI: sum.SourceRepositoryURI, SourceRepositoryRef: sum.SourceRepositoryRef,
	}}, nil
}

// keyFingerprint is "sha256:" and the hex SHA-256 digest of the key's DER
// SubjectPublicKeyInfo, as the report names a key.
func keyFingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("not a public key sigil can use: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// ParsePublicKey reads a PEM public key (PKIX, as `cosign generate-key-pair`
// writes cosign.pub), for WithPublicKey.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("not a PEM public key: %w", err)
	}
	return pub, nil
}

// Expected returns the identity the policy requires, as shown in reports.
func (p *Policy) Expected() artifact.Requirement { return p.expected }

// String describes the policy in one line.
func (p *Policy) String() string { return p.expected.String() }

var (
	// repoPart is one GitHub owner or repository name.
	repoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// gitHubSubjectRegexp builds the anchored expression a GitHub workflow's
// certificate subject must match: https://github.com/OWNER/NAME/WORKFLOW@REF,
// with the workflow and ref left open when not given.
func gitHubSubjectRegexp(repo, workflow, ref string, haveWorkflow, haveRef bool) (string, error) {
	var errs []error
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !repoPart.MatchString(owner) || !repoPart.MatchString(name) || name == "." || name == ".." {
		errs = append(errs, fmt.Errorf("repository %q: want OWNER/NAME, such as sigil-dev/sigil", repo))
	}
	wf := `\.github/workflows/[^@]+`
	if haveWorkflow {
		w, err := workflowPath(workflow)
		if err != nil {
			errs = append(errs, err)
		}
		wf = regexp.QuoteMeta(w)
	}
	rf := `.+`
	if haveRef {
		r, err := globRegexp(ref)
		if err != nil {
			errs = append(errs, err)
		}
		rf = r
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return "^" + regexp.QuoteMeta(gitHubURL+owner+"/"+name+"/") + wf + "@" + rf + "$", nil
}

// workflowPath checks a workflow file path and expands a bare file name.
func workflowPath(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("workflow is empty: give the path of the workflow file, such as .github/workflows/release.yml")
	case strings.ContainsAny(p, "@\n\r") || strings.HasPrefix(p, "/") || strings.Contains(p, "//"):
		return "", fmt.Errorf("workflow %q: give the file's path in the repository, such as .github/workflows/release.yml, without '@' or a leading '/'", p)
	case !strings.Contains(p, "/"):
		return ".github/workflows/" + p, nil
	}
	return p, nil
}

// globRegexp turns a ref glob into a regular expression fragment (not
// anchored).
func globRegexp(glob string) (string, error) {
	if !strings.HasPrefix(glob, "refs/") || len(glob) == len("refs/") {
		return "", fmt.Errorf("ref %q: give a full ref or glob, such as refs/tags/v* or refs/heads/main", glob)
	}
	if strings.ContainsAny(glob, "\n\r") {
		return "", fmt.Errorf("ref %q contains a line break", glob)
	}
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			j := i
			for j < len(glob) && glob[j] != '*' && glob[j] != '?' {
				j++
			}
			b.WriteString(regexp.QuoteMeta(glob[i:j]))
			i = j - 1
		}
	}
	return b.String(), nil
}

// check matches a certificate summary against the policy; the error says
// what was expected and what was found.
func (p *Policy) check(s certificate.Summary) error {
	if err := p.identity.Verify(s); err != nil {
		return fmt.Errorf("expected %s; found subject %s, issuer %s%s (%w)", p.expected, s.SubjectAlternativeName, s.Issuer, foundExtensions(p.expected, s.Extensions), err)
	}
	return nil
}

// foundExtensions names the extensions the policy checks, as found.
func foundExtensions(exp artifact.Requirement, e certificate.Extensions) string {
	var b strings.Builder
	if exp.SourceRepositoryURI != "" {
		fmt.Fprintf(&b, ", source repository %s", orNone(e.SourceRepositoryURI))
	}
	if exp.SourceRepositoryRef != "" {
		fmt.Fprintf(&b, ", source ref %s", orNone(e.SourceRepositoryRef))
	}
	if exp.RunnerEnvironment != "" {
		fmt.Fprintf(&b, ", runner environment %s", orNone(e.RunnerEnvironment))
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
