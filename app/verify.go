package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/verify"
)

// VerifyConfig is a verify request, from action inputs or flags (see
// Inputs).
type VerifyConfig struct {
	Artifacts
	// Digests are sha256:HEX digests of artifacts held as a digest, not a
	// file, each with its bundle after '=' (or Bundle, for the only one).
	Digests []string
	// Key is a PEM public key file: signatures made with that key are
	// verified, in place of a certificate identity.
	Key string
	// Bundle overrides the bundle path of a single file or digest.
	Bundle string

	CertificateIdentity       string
	CertificateIdentityRegexp string
	Issuer                    string
	IssuerRegexp              string
	Repository                string
	Workflow                  string
	Ref                       string
	RunnerEnvironment         string
	AnyIdentityUnsafe         bool
	// Attestations are the predicate types every artifact must have an
	// attestation of (names expanded: provenance is
	// https://slsa.dev/provenance/v1).
	Attestations []string
}

// policy builds the identity policy the inputs ask for.
func (c *VerifyConfig) policy() (*verify.Policy, error) {
	var opts []verify.PolicyOption
	add := func(v string, f func(string) verify.PolicyOption) {
		if v != "" {
			opts = append(opts, f(v))
		}
	}
	add(c.CertificateIdentity, verify.WithCertificateIdentity)
	add(c.CertificateIdentityRegexp, verify.WithCertificateIdentityRegexp)
	add(c.Issuer, verify.WithIssuer)
	add(c.IssuerRegexp, verify.WithIssuerRegexp)
	add(c.Repository, verify.WithRepository)
	add(c.Workflow, verify.WithWorkflow)
	add(c.Ref, verify.WithRef)
	add(c.RunnerEnvironment, verify.WithRunnerEnvironment)
	if c.AnyIdentityUnsafe {
		opts = append(opts, verify.WithAnyIdentityUnsafe())
	}
	if c.Key != "" {
		b, err := os.ReadFile(c.Key)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		pub, err := verify.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", c.Key, err)
		}
		opts = append(opts, verify.WithPublicKey(pub))
	}
	return verify.NewPolicy(opts...)
}

// blobs are the files and digests to verify, each with its bundle.
func (c *VerifyConfig) blobs(name func(setting.Setting) string) ([]verify.FileSpec, error) {
	files, err := ExpandFiles(c.Files)
	if err != nil {
		return nil, err
	}
	var specs []verify.FileSpec
	for _, f := range files {
		specs = append(specs, verify.FileSpec{Path: f})
	}
	var errs []error
	for _, d := range c.Digests {
		digest, bundle, _ := strings.Cut(d, "=")
		if _, _, err := verify.ParseDigest(digest); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name("digests"), err))
		}
		specs = append(specs, verify.FileSpec{Digest: digest, BundlePath: bundle})
	}
	if c.Bundle != "" {
		if len(specs) != 1 || specs[0].BundlePath != "" {
			errs = append(errs, fmt.Errorf("%s names the bundle of one file or digest, and %s and %s give %d: leave it out to use FILE%s for each file and DIGEST=BUNDLE for each digest",
				name("bundle"), name("files"), name("digests"), len(specs), artifact.BundleSuffix))
		} else {
			specs[0].BundlePath = c.Bundle
		}
	}
	for _, s := range specs {
		if s.Digest != "" && s.BundlePath == "" {
			errs = append(errs, fmt.Errorf("%s: %s has no bundle: write %s=BUNDLE, or give %s for the only one", name("digests"), s.Digest, s.Digest, name("bundle")))
		}
	}
	return specs, errors.Join(errs...)
}

// RunVerify validates cfg, then verifies its images and files. The report
// covers every artifact; the error is non-nil when any failed (a
// *verify.Error) or nothing could be checked.
func RunVerify(ctx context.Context, cfg VerifyConfig, env Env) (*verify.Report, error) {
	env.defaults(cfg.RequestTimeout, cfg.GHCRHost)
	if len(cfg.Images) == 0 && len(cfg.Files) == 0 && len(cfg.Digests) == 0 {
		return nil, errors.New("nothing to verify: give images (references, one a line), files (globs) and/or digests")
	}
	pol, err := cfg.policy()
	if err != nil {
		return nil, err
	}
	blobs, err := cfg.blobs(env.Name)
	if err != nil {
		return nil, err
	}
	d, err := setUp(ctx, cfg.Artifacts, false, false, env)
	if err != nil {
		return nil, err
	}
	v, err := verify.New(d.trustedRoot, pol,
		verify.WithRegistry(d.auth, d.remote...),
		verify.WithFormat(cfg.Format),
		verify.WithRecursive(cfg.Recursive),
		verify.WithConcurrency(cfg.Concurrency),
		verify.WithAttestations(cfg.Attestations...),
	)
	if err != nil {
		return nil, err
	}
	report := &verify.Report{Verified: true}
	var errs []error
	if len(cfg.Images) > 0 {
		r, err := v.VerifyImages(ctx, cfg.Images)
		merge(report, r)
		errs = append(errs, err)
	}
	if len(blobs) > 0 {
		r, err := v.VerifyFiles(ctx, blobs)
		merge(report, r)
		errs = append(errs, err)
	}
	return report, joinVerifyErrors(errs)
}

func merge(into *verify.Report, r verify.Report) {
	into.Verified = into.Verified && r.Verified
	into.Policy, into.Format = r.Policy, r.Format
	into.Artifacts = append(into.Artifacts, r.Artifacts...)
}

// joinVerifyErrors joins the images' and files' failures into one
// *verify.Error, so the message lists every failed artifact once.
func joinVerifyErrors(errs []error) error {
	var failed []verify.Artifact
	var other []error
	for _, err := range errs {
		var ve *verify.Error
		switch {
		case err == nil:
		case errors.As(err, &ve):
			failed = append(failed, ve.Failed...)
		default:
			other = append(other, err)
		}
	}
	if len(other) > 0 {
		return errors.Join(other...)
	}
	if len(failed) > 0 {
		return &verify.Error{Failed: failed}
	}
	return nil
}

// VerifySummary renders the job summary of a verification run.
func VerifySummary(r *verify.Report) string {
	var b strings.Builder
	b.WriteString("## sigil verify\n\n")
	result := "✅ verified"
	if !r.Verified {
		result = "❌ failed"
	}
	fmt.Fprintf(&b, "%s — required identity: `%s`\n\n", result, mdCode(r.Policy.String()))
	b.WriteString("| Artifact | Digest | Result | Format | Identity | Log index | Time from |\n|---|---|---|---|---|---|---|\n")
	for _, a := range r.Artifacts {
		name := a.Reference
		if a.Platform != "" {
			name += " (" + a.Platform + ")"
		}
		res, format, identity, logIndex, timeFrom := "❌ "+mdCell(firstFailure(a)), "—", "—", "—", "—"
		if a.Passed {
			res = "✅"
		}
		for _, s := range a.Signatures {
			if s.Passed || !a.Passed {
				format = string(s.Format)
				if s.Identity != "" {
					identity = "`" + mdCode(s.Identity) + "`"
				}
				if s.Log != nil {
					logIndex = fmt.Sprint(s.Log.Index)
				}
				if s.TimestampSource != "" {
					timeFrom = s.TimestampSource
				}
				if s.Passed {
					break
				}
			}
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s | %s |\n", mdCode(name), mdCode(a.Digest), res, format, identity, logIndex, timeFrom)
	}
	return b.String()
}

// firstFailure names the first failed check of an artifact, for the summary.
func firstFailure(a verify.Artifact) string {
	if a.Error != "" {
		return a.Error
	}
	for _, s := range a.Signatures {
		if c, ok := s.Failed(); ok {
			return c.Name + ": " + c.Reason
		}
	}
	return "no signature found"
}
