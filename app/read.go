package app

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/inputlist"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
)

// frontEnd is where a run's settings come from and how messages name them:
// the action (inputs) or the CLI (flags).
type frontEnd interface {
	// raw returns the text of the input name, and false when the front end
	// leaves it to the input's default in the mode (the action, for an
	// empty input); the CLI applies its flag defaults itself.
	raw(name string) (string, bool)
	// name renders a setting as the user knows it ("input format",
	// "--format").
	name(s setting.Setting) string
	// assign renders a setting given a value ("format: bundle",
	// "--format bundle").
	assign(s setting.Setting, value string) string
	// env reads one of the environment variables of environ.go.
	env(key string) string
}

// explain renders err for the front end: every *setting.Error in it names
// its settings as inputs or flags.
func explain(fe frontEnd, err error) error {
	if err == nil {
		return nil
	}
	var se *setting.Error
	if !errors.As(err, &se) {
		return err
	}
	return errors.New(setting.Render(err, fe.name, fe.assign))
}

// reader reads a mode's inputs from a front end, each as the table says,
// collecting every error so the user sees them all at once.
type reader struct {
	fe   frontEnd
	mode Mode
	errs []error
}

// text returns an input's text, or its default in the mode.
func (r *reader) text(name string) string {
	in := input(name)
	if !in.in(r.mode) {
		panic("app: input " + name + " is not read in mode " + string(r.mode))
	}
	if v, ok := r.fe.raw(name); ok {
		return strings.TrimSpace(v)
	}
	return in.defaultFor(r.mode)
}

func (r *reader) fail(name string, err error) {
	r.errs = append(r.errs, fmt.Errorf("%s: %w", r.fe.name(setting.Setting(name)), err))
}

func (r *reader) str(name string) string { return r.text(name) }

func (r *reader) list(name string) []string { return inputlist.ParseList(r.text(name)) }

func (r *reader) bool(name string) bool {
	b, err := inputlist.ParseBool(r.text(name), false)
	if err != nil {
		r.fail(name, err)
	}
	return b
}

func (r *reader) int(name string) int {
	t := r.text(name)
	n, err := strconv.Atoi(t)
	if err != nil {
		r.fail(name, fmt.Errorf("%q: want a whole number", t))
	}
	return n
}

// Bounds of a request's timeout.
const (
	minRequestTimeout = time.Second
	maxRequestTimeout = 10 * time.Minute
)

func (r *reader) duration(name string) time.Duration {
	t := r.text(name)
	d, err := time.ParseDuration(t)
	switch {
	case err != nil:
		r.fail(name, fmt.Errorf("%q: want a duration such as 30s or 2m", t))
	case d < minRequestTimeout || d > maxRequestTimeout:
		r.fail(name, fmt.Errorf("%v: want %v to %v", d, minRequestTimeout, maxRequestTimeout))
	}
	return d
}

func (r *reader) keyValues(name string) map[string]string {
	kv, err := inputlist.ParseKeyValues(r.text(name))
	if err != nil {
		r.fail(name, err)
	}
	return kv
}

func (r *reader) credentials(name string) []registry.Credential {
	c, err := registry.ParseCredentials(r.text(name))
	if err != nil {
		r.fail(name, err)
	}
	return c
}

func (r *reader) assignments(name string) []attestation.Assignment {
	as, err := attestation.ParseAssignments(r.text(name))
	if err != nil {
		r.fail(name, err)
	}
	return as
}

func (r *reader) format(name string, choices ...artifact.Format) artifact.Format {
	f, err := artifact.ParseFormat(r.text(name), "", choices...)
	if err != nil {
		r.fail(name, err)
	}
	return f
}

func (r *reader) oneOf(name string, choices ...string) string {
	v := r.text(name)
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	r.fail(name, fmt.Errorf("%q: want %s", v, strings.Join(choices, " or ")))
	return ""
}

// predicateTypes reads a list of predicate types or their names
// (attestation.ExpandPredicateType), each once.
func (r *reader) predicateTypes(name string) []string {
	var out []string
	for _, s := range r.list(name) {
		t, err := attestation.ExpandPredicateType(s)
		if err != nil {
			r.fail(name, err)
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (r *reader) err() error { return errors.Join(r.errs...) }

// artifacts reads the settings sign and verify share; formats are the
// mode's format choices.
func (r *reader) artifacts(formats ...artifact.Format) Artifacts {
	return Artifacts{
		Images:      r.list("images"),
		Files:       r.list("files"),
		Recursive:   r.bool("recursive"),
		Format:      r.format("format", formats...),
		TrustedRoot: r.str("trusted-root"),
		TUFMirror:   r.str("tuf-mirror"),
		TUFRoot:     r.str("tuf-root"),
		RegistryConfig: RegistryConfig{
			GitHubToken:     r.str("github-token"),
			Credentials:     r.credentials("registry-credentials"),
			GitHubActor:     r.fe.env(EnvGitHubActor),
			DockerConfigDir: r.fe.env(EnvDockerConfig),
			GHCRHost:        r.fe.env(EnvGHCRHost),
		},
		Concurrency:    r.int("concurrency"),
		RequestTimeout: r.duration("request-timeout"),
	}
}

// readSign reads and checks a sign run's settings; nothing is contacted.
func readSign(fe frontEnd) (SignConfig, error) {
	r := &reader{fe: fe, mode: ModeSign}
	cfg := SignConfig{
		Artifacts:      r.artifacts(artifact.FormatBoth, artifact.FormatBundle, artifact.FormatLegacy),
		Annotations:    r.keyValues("annotations"),
		SigningConfig:  r.str("signing-config"),
		FulcioURL:      r.str("fulcio-url"),
		RekorURL:       r.str("rekor-url"),
		TSAURL:         r.str("tsa-url"),
		RekorV2:        r.bool("rekor-v2"),
		AllowPublicLog: r.bool("allow-public-log"),
		SkipSigned:     r.bool("skip-signed"),
		PolicyRefs:     r.oneOf("policy-refs", PolicyRefsTags, PolicyRefsExact),
		PolicyDir:      r.str("policies-dir"),
		Provenance:     r.bool("provenance"),
		ServerURL:      r.fe.env(EnvGitHubServerURL),
		SBOMs:          r.assignments("sboms"),
		PredicateType:  r.str("predicate-type"),
		Predicates:     r.assignments("predicates"),
	}
	switch {
	case len(cfg.Predicates) > 0 && cfg.PredicateType == "":
		r.fail("predicate-type", fmt.Errorf("%s gives custom predicates without their type: give the predicate type URI", r.fe.name("predicates")))
	case len(cfg.Predicates) == 0 && cfg.PredicateType != "":
		r.fail("predicates", fmt.Errorf("%s is given but no predicate: give IMAGE_OR_FILE=PATH lines", r.fe.name("predicate-type")))
	case cfg.PredicateType != "":
		if err := attestation.CheckPredicateType(cfg.PredicateType); err != nil {
			r.fail("predicate-type", err)
		}
	}
	return cfg, r.err()
}

// readVerify reads and checks a verify run's settings, the identity policy
// included; nothing is contacted.
func readVerify(fe frontEnd) (VerifyConfig, error) {
	r := &reader{fe: fe, mode: ModeVerify}
	cfg := VerifyConfig{
		Artifacts:                 r.artifacts(artifact.FormatAny, artifact.FormatBundle, artifact.FormatLegacy),
		Digests:                   r.list("digests"),
		Key:                       r.str("key"),
		Bundle:                    r.str("bundle"),
		CertificateIdentity:       r.str("certificate-identity"),
		CertificateIdentityRegexp: r.str("certificate-identity-regexp"),
		Issuer:                    r.str("certificate-oidc-issuer"),
		IssuerRegexp:              r.str("certificate-oidc-issuer-regexp"),
		Repository:                r.str("repository"),
		Workflow:                  r.str("workflow"),
		Ref:                       r.str("ref"),
		RunnerEnvironment:         r.str("runner-environment"),
		AnyIdentityUnsafe:         r.bool("any-identity-unsafe"),
		Attestations:              r.predicateTypes("attestations"),
	}
	if err := r.err(); err != nil {
		return cfg, err
	}
	_, err := cfg.policy()
	return cfg, err
}

// readMerge reads a merge run's settings.
func readMerge(fe frontEnd) (MergeConfig, error) {
	r := &reader{fe: fe, mode: ModeMerge}
	cfg := MergeConfig{
		Reports:     r.list("reports"),
		TrustedRoot: r.str("trusted-root"),
		PolicyDir:   r.str("policies-dir"),
		PolicyRefs:  r.oneOf("policy-refs", PolicyRefsTags, PolicyRefsExact),
	}
	return cfg, r.err()
}
