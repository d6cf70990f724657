package app

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
	"github.com/sigil-dev/sigil/verify"
)

// Signed is the outcome of RunSign.
type Signed struct {
	Result sign.Result
	// CertificateRequests is how many certificates Fulcio issued this run.
	CertificateRequests int
	// TrustedRoot is the trusted root path used ("" for the public one).
	TrustedRoot string
	// PolicyDir holds the generated consumer policies ("" if no image was
	// signed).
	PolicyDir string
	// Warnings are for the log.
	Warnings []string
}

// RunSign signs cfg's images and files. Every setting is checked, every
// file found and every reference resolved before anything is signed.
func RunSign(ctx context.Context, cfg SignConfig, env Env) (*Signed, error) {
	env.defaults(cfg.RequestTimeout, cfg.GHCRHost)
	if len(cfg.Images) == 0 && len(cfg.Files) == 0 {
		return nil, errors.New("nothing to sign: give images (references, one a line) and/or files (globs)")
	}
	files, err := ExpandFiles(cfg.Files)
	if err != nil {
		return nil, err
	}
	preds, err := readPredicates(cfg, files)
	if err != nil {
		return nil, err
	}
	if cfg.RekorV2 && cfg.SigningConfig != "" {
		return nil, (&setting.Error{Setting: setting.RekorV2, Err: errors.New("picks the TUF repository's Rekor v2 signing config, and a signing config is given: give one or the other")}).WithFix(setting.Assign{Setting: setting.RekorV2, Value: "false"})
	}
	// Refuse bad settings before anything is contacted.
	if err := sign.CheckOptions(signOptions(cfg, env)...); err != nil {
		return nil, err
	}
	if _, err := trust.SelectServices(trust.ServiceOptions{SigningConfigPath: cfg.SigningConfig, FulcioURL: cfg.FulcioURL, RekorURL: cfg.RekorURL, TSAURL: cfg.TSAURL}, env.Now()); err != nil {
		return nil, err
	}
	// The signing config comes from TUF unless one is given, or URLs name
	// every service.
	wantConfig := cfg.SigningConfig == "" && (cfg.FulcioURL == "" || cfg.RekorURL == "")
	d, err := setUp(ctx, cfg.Artifacts, wantConfig, cfg.RekorV2, env)
	if err != nil {
		return nil, err
	}
	services, err := trust.SelectServices(trust.ServiceOptions{
		SigningConfigPath: cfg.SigningConfig, SigningConfig: d.signingConfig, FulcioURL: cfg.FulcioURL, RekorURL: cfg.RekorURL, TSAURL: cfg.TSAURL,
	}, env.Now())
	if err != nil {
		return nil, err
	}
	if env.IDToken == nil {
		return nil, errors.New("no identity token source")
	}
	opts := append(signOptions(cfg, env),
		sign.WithServices(services),
		sign.WithTrustedRoot(d.trustedRoot),
		sign.WithIdentityToken(guardPublicLog(env.IDToken, services, cfg.AllowPublicLog, env.Name)),
		sign.WithRegistry(d.auth, d.remote...),
		sign.WithPushes(d.pushes),
		sign.WithPredicates(preds...),
	)
	if cfg.Provenance {
		opts = append(opts, sign.WithProvenance(cfg.ServerURL))
	}
	if cfg.SkipSigned {
		opts = append(opts, sign.WithSkipSigned(alreadySigned(d, cfg.Format, cfg.Concurrency, cfg.Provenance || len(preds) > 0)))
	}
	s, err := sign.New(opts...)
	if err != nil {
		return nil, err
	}
	if err := s.CheckFiles(files); err != nil {
		return nil, err
	}
	out := &Signed{TrustedRoot: cfg.TrustedRoot}
	defer func() { out.CertificateRequests = s.CertificateRequests() }()
	if out.Result.Images, err = s.SignImages(ctx, cfg.Images); err != nil {
		return out, err
	}
	if out.Result.Files, err = s.SignFiles(ctx, files); err != nil {
		return out, err
	}
	if out.Result.FileAttestations, err = s.AttestFiles(ctx, out.Result.Files); err != nil {
		return out, err
	}
	if out.Result.Identity, err = s.Identity(ctx); err != nil {
		return out, err
	}
	if dir := cfg.PolicyDir; dir != "" && len(out.Result.Images) > 0 {
		if out.Warnings, err = writePolicies(dir, d.policyRoot, cfg.PolicyRefs, out.Result); err != nil {
			return out, err
		}
		if hasLegacy(out.Result) {
			out.PolicyDir = dir
		}
	}
	return out, nil
}

// alreadySigned is the run's sign.Finder: the signatures (and, with
// attestations, the attestations) of a target that pass verification
// against the run's trusted root and name the identity the run's
// certificate names (verify.WithSameIdentityAs). Only the formats the run
// writes are looked up: a legacy-only run reads no referrers.
func alreadySigned(d *deployment, format artifact.Format, concurrency int, attestations bool) sign.Finder {
	if format == artifact.FormatBoth {
		format = artifact.FormatAny
	}
	var (
		once sync.Once
		v    *verify.Verifier
		verr error
	)
	return func(ctx context.Context, t registry.Target, leaf func(context.Context) (*x509.Certificate, error)) (sign.Existing, error) {
		// Read while the run's certificate is requested; check once it
		// is there.
		found, err := verify.Lookup(ctx, t, attestations, verify.WithRegistry(d.auth, d.remote...), verify.WithOnlyFormat(format))
		cert, lerr := leaf(ctx)
		if lerr != nil {
			return sign.Existing{}, lerr
		}
		once.Do(func() {
			pol, err := verify.NewPolicy(verify.WithSameIdentityAs(cert))
			if err != nil {
				verr = err
				return
			}
			v, verr = verify.New(d.trustedRoot, pol, verify.WithRegistry(d.auth, d.remote...), verify.WithConcurrency(concurrency), verify.WithOnlyFormat(format), verify.WithBriefPass(), verify.WithBundleBytes())
		})
		if verr != nil {
			return sign.Existing{}, verr
		}
		sigs, atts := v.Check(found)
		var ex sign.Existing
		for _, s := range sigs {
			if !s.Passed || s.Log == nil {
				continue
			}
			found := &sign.Signature{Format: s.Format, Location: s.Location, Log: *s.Log}
			switch {
			case s.Format == artifact.FormatBundle && ex.Bundle == nil:
				found.ReadBack = sign.ReadBackReferrers
				ex.Bundle, ex.BundleJSON = found, s.BundleJSON
			case s.Format == artifact.FormatLegacy && ex.Legacy == nil:
				found.ReadBack = sign.ReadBackLegacyTag
				ex.Legacy = found
			}
		}
		for _, a := range atts {
			if !a.Passed || a.Log == nil {
				continue
			}
			rb := sign.ReadBackReferrers
			if a.Format == artifact.FormatLegacy {
				rb = sign.ReadBackAttestationTag
			}
			ex.Attestations = append(ex.Attestations, sign.ExistingAttestation{
				Signature:     sign.Signature{Format: a.Format, PredicateType: a.PredicateType, Location: a.Location, ReadBack: rb, Log: *a.Log},
				PredicateType: a.PredicateType, PredicateDigest: sign.PredicateDigest(a.Predicate), BundleJSON: a.BundleJSON,
			})
		}
		return ex, err
	}
}

// signOptions are the signer options that need no service.
func signOptions(cfg SignConfig, env Env) []sign.Option {
	return []sign.Option{
		sign.WithTransport(env.Transport),
		sign.WithFormat(cfg.Format),
		sign.WithRecursive(cfg.Recursive),
		sign.WithAnnotations(cfg.Annotations),
		sign.WithConcurrency(cfg.Concurrency),
		sign.WithClock(env.Now),
		sign.WithProgress(env.Progress),
	}
}

// publicRekorHosts are the public instance's logs, where a private
// repository's name would become public.
var publicRekorHosts = map[string]bool{"rekor.sigstore.dev": true, "log2025-1.rekor.sigstore.dev": true}

// guardPublicLog refuses, before any certificate is requested, a token
// whose repository is private when a log is the public one, unless the
// user opted in: the certificate in each log entry names the repository.
func guardPublicLog(token func(context.Context) (string, error), s trust.Services, allow bool, name func(setting.Setting) string) func(context.Context) (string, error) {
	if allow {
		return token
	}
	public := ""
	for _, u := range []string{s.RekorURL, s.LegacyRekorURL} {
		if p, err := url.Parse(u); err == nil && (publicRekorHosts[p.Hostname()] || strings.HasSuffix(p.Hostname(), ".rekor.sigstore.dev")) {
			public = u
		}
	}
	if public == "" {
		return token
	}
	return func(ctx context.Context) (string, error) {
		t, err := token(ctx)
		if err != nil {
			return "", err
		}
		if visibility(t) == "private" {
			return "", fmt.Errorf("this repository is private, and signing would write its name to the public transparency log at %s: set %s to accept that, or use a private Sigstore (%s, %s)", public, name(setting.AllowPublicLog), name(setting.SigningConfig), name(setting.TrustedRoot))
		}
		return t, nil
	}
}

// visibility reads the repository_visibility claim of a GitHub token,
// unverified (Fulcio verifies the token; this only decides whether to ask).
func visibility(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Visibility string `json:"repository_visibility"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.Visibility
}
