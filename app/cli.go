package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/oauthflow"

	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/ghaction/inputlist"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/verify"
)

const cliUsage = `sigil signs container images and release files keylessly with Sigstore,
and verifies them.

Usage:
  sigil sign   [flags] [IMAGE...]
  sigil verify [flags] [IMAGE...]
  sigil merge  [flags] SIGNATURES.json...

Run "sigil sign --help" or "sigil verify --help" for the flags. Flags are
named like the action's inputs; list flags take one value per use or
comma-separated values.
`

// PublicOIDCIssuer is the public Sigstore OIDC issuer used for interactive
// sign-in when no token is given.
const PublicOIDCIssuer = "https://oauth2.sigstore.dev/auth"

// CLI runs sigil as a command-line tool and returns the exit code.
func CLI(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, cliUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "sign":
		err = cliSign(ctx, args[1:], stdout, stderr, getenv, env)
	case "verify":
		err = cliVerify(ctx, args[1:], stdout, stderr, getenv, env)
	case "merge":
		err = cliMerge(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, cliUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "sigil: unknown command %q\n\n%s", args[0], cliUsage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sigil %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// listFlag collects a repeatable flag whose values may be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, inputlist.ParseList(v)...)
	return nil
}

// linesFlag collects a repeatable flag, one value per use.
type linesFlag []string

func (l *linesFlag) String() string     { return strings.Join(*l, "\n") }
func (l *linesFlag) Set(v string) error { *l = append(*l, v); return nil }

func cliSign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, env Env) error {
	fs := flag.NewFlagSet("sigil sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		images, files  listFlag
		annotations    linesFlag
		format         = fs.String("format", "both", "signature formats for images: both, bundle or legacy")
		recursive      = fs.Bool("recursive", true, "also sign each platform manifest of a multi-arch index")
		signingConfig  = fs.String("signing-config", "", "Sigstore signing config JSON (Fulcio, Rekor, TSA URLs)")
		fulcioURL      = fs.String("fulcio-url", "", "Fulcio URL (overrides the signing config)")
		rekorURL       = fs.String("rekor-url", "", "Rekor v1 URL (overrides the signing config)")
		tsaURL         = fs.String("tsa-url", "", "timestamp authority URL, full path (overrides the signing config)")
		trustedRoot    = fs.String("trusted-root", "", "trusted root JSON; default: the public instance's, through TUF")
		concurrency    = fs.Int("concurrency", DefaultConcurrency, "artifacts signed and pushed at once")
		allowPublicLog = fs.Bool("allow-public-log", false, "let a private repository write its name to the public Rekor log")
		identityToken  = fs.String("identity-token", "", "OIDC identity token, or @FILE to read it; default: GitHub's token endpoint, else interactive sign-in")
		jsonOut        = fs.Bool("json", false, "print the signatures JSON instead of the summary")
		policiesDir    = fs.String("policies-dir", "", "write generated consumer policies into this directory")
		policyRefs     = fs.String("policy-refs", PolicyRefsTags, "refs the generated policies admit: tags (the signing workflow at any tag) or exact")
	)
	fs.Var(&images, "images", "image references to sign (tags or digests)")
	fs.Var(&files, "files", "globs of files to sign; each gets FILE.sigstore.json")
	fs.Var(&annotations, "annotations", "key=value annotation signed into the legacy payload (repeatable)")
	regFlags := addRegistryFlags(fs)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	images = append(images, rest...)
	cfg := SignConfig{
		Images: images, Files: files, Recursive: *recursive,
		SigningConfig: *signingConfig, FulcioURL: *fulcioURL, RekorURL: *rekorURL, TSAURL: *tsaURL, TrustedRoot: *trustedRoot,
		Concurrency: *concurrency, AllowPublicLog: *allowPublicLog, PolicyDir: *policiesDir,
	}
	var errs []error
	if cfg.RegistryConfig, err = regFlags.config(getenv); err != nil {
		errs = append(errs, err)
	}
	if cfg.Format, err = sign.ParseFormat(*format); err != nil {
		errs = append(errs, err)
	}
	if cfg.PolicyRefs, err = parsePolicyRefs(*policyRefs); err != nil {
		errs = append(errs, err)
	}
	if cfg.Annotations, err = inputlist.ParseKeyValues(strings.Join(annotations, "\n")); err != nil {
		errs = append(errs, fmt.Errorf("annotations: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if env.IDToken == nil {
		env.IDToken = cliTokenSource(*identityToken, getenv, stderr)
	}
	if env.Progress == nil {
		env.Progress = func(s string) { fmt.Fprintln(stderr, s) }
	}
	env.GHCRHost = ghcrHost(env, getenv)
	res, err := RunSign(ctx, cfg, env)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.Result)
	}
	fmt.Fprint(stdout, SignSummary(res))
	return nil
}

// cliTokenSource picks the identity token: the flag (a token or @FILE),
// GitHub's token endpoint when running in a workflow, or an interactive
// sign-in through sigstore's oauthflow.
func cliTokenSource(flagValue string, getenv func(string) string, stderr io.Writer) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		switch {
		case strings.HasPrefix(flagValue, "@"):
			b, err := os.ReadFile(flagValue[1:])
			if err != nil {
				return "", fmt.Errorf("identity-token: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		case flagValue != "":
			return flagValue, nil
		case getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "":
			rt, err := ghaction.New(ghaction.WithGetenv(getenv), ghaction.WithStdout(io.Discard))
			if err != nil {
				return "", err
			}
			return rt.IDToken(ctx, "sigstore")
		}
		fmt.Fprintln(stderr, "No identity token given: opening a browser to sign in to Sigstore.")
		tok, err := oauthflow.OIDConnect(PublicOIDCIssuer, "sigstore", "", "", oauthflow.DefaultIDTokenGetter)
		if err != nil {
			return "", fmt.Errorf("interactive sign-in: %w (pass --identity-token in a non-interactive job)", err)
		}
		return tok.RawString, nil
	}
}

func cliVerify(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, env Env) error {
	fs := flag.NewFlagSet("sigil verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var images, files listFlag
	fs.Var(&images, "images", "image references to verify (tags or digests)")
	fs.Var(&files, "files", "globs of files to verify; each against FILE.sigstore.json")
	var cfg VerifyConfig
	fs.StringVar(&cfg.Bundle, "bundle", "", "the bundle of a single file (default FILE.sigstore.json)")
	fs.StringVar(&cfg.CertificateIdentity, "certificate-identity", "", "exact certificate identity (SAN), e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0")
	fs.StringVar(&cfg.CertificateIdentityRegexp, "certificate-identity-regexp", "", "certificate identity as a regexp")
	fs.StringVar(&cfg.Issuer, "certificate-oidc-issuer", "", "exact OIDC issuer (default "+verify.GitHubIssuer+")")
	fs.StringVar(&cfg.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "OIDC issuer as a regexp")
	fs.StringVar(&cfg.Repository, "repository", "", "GitHub preset: the signing repository, OWNER/NAME")
	fs.StringVar(&cfg.Workflow, "workflow", "", "GitHub preset: the signing workflow's path, e.g. .github/workflows/release.yml")
	fs.StringVar(&cfg.Ref, "ref", "", "GitHub preset: the signing ref, a glob such as refs/tags/v*")
	fs.StringVar(&cfg.RunnerEnvironment, "runner-environment", "", "GitHub preset: github-hosted or self-hosted")
	fs.BoolVar(&cfg.AnyIdentityUnsafe, "any-identity-unsafe", false, "accept a signature by anyone the trusted root certifies (no identity check)")
	fs.StringVar(&cfg.TrustedRoot, "trusted-root", "", "trusted root JSON; default: the public instance's, through TUF")
	format := fs.String("format", "any", "required image signature format: any, bundle or legacy")
	fs.BoolVar(&cfg.Recursive, "recursive", false, "also verify each platform manifest of a multi-arch index")
	fs.IntVar(&cfg.Concurrency, "concurrency", DefaultConcurrency, "artifacts verified at once")
	jsonOut := fs.Bool("json", false, "print the report as JSON instead of text")
	regFlags := addRegistryFlags(fs)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg.Images, cfg.Files = append(images, rest...), files
	if cfg.Format, err = verify.ParseFormat(*format); err != nil {
		return err
	}
	if cfg.RegistryConfig, err = regFlags.config(getenv); err != nil {
		return err
	}
	env.GHCRHost = ghcrHost(env, getenv)
	report, err := RunVerify(ctx, cfg, env)
	if report != nil {
		if *jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(report); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			report.WriteText(stdout)
		}
	}
	var ve *verify.Error
	if errors.As(err, &ve) {
		// The report above already says which checks failed and why.
		return fmt.Errorf("%d artifact(s) failed verification", len(ve.Failed))
	}
	return err
}

// registryFlags are the registry flags shared by sign and verify.
type registryFlags struct {
	githubToken *string
	creds       linesFlag
}

func addRegistryFlags(fs *flag.FlagSet) *registryFlags {
	r := &registryFlags{githubToken: fs.String("github-token", "", "token for ghcr.io (default $GITHUB_TOKEN)")}
	fs.Var(&r.creds, "registry-credentials", "host=username:password (repeatable); DOCKER_CONFIG is read too")
	return r
}

func (r *registryFlags) config(getenv func(string) string) (RegistryConfig, error) {
	c := RegistryConfig{GitHubToken: *r.githubToken, GitHubActor: getenv("GITHUB_ACTOR"), DockerConfigDir: getenv("DOCKER_CONFIG")}
	if c.GitHubToken == "" {
		c.GitHubToken = getenv("GITHUB_TOKEN")
	}
	var err error
	if c.Credentials, err = inputlist.ParseCredentials(strings.Join(r.creds, "\n")); err != nil {
		return c, fmt.Errorf("registry-credentials: %w", err)
	}
	return c, nil
}

// ghcrHost is the registry github-token is for: ghcr.io unless
// SIGIL_GHCR_HOST names another (GitHub Enterprise Server's, or the test
// bed's).
func ghcrHost(env Env, getenv func(string) string) string {
	if env.GHCRHost != "" {
		return env.GHCRHost
	}
	return getenv("SIGIL_GHCR_HOST")
}

// parseInterspersed parses flags wherever they stand among the positional
// arguments (the flag package stops at the first positional one), so that
// "sigil verify IMAGE --files F" means what it says. After "--" everything
// is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func cliMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sigil merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg MergeConfig
	fs.StringVar(&cfg.TrustedRoot, "trusted-root", "", "private Sigstore trusted root to write into the policies")
	fs.StringVar(&cfg.PolicyDir, "policies-dir", DefaultPolicyDir, "directory for the merged consumer policies")
	fs.StringVar(&cfg.PolicyRefs, "policy-refs", PolicyRefsTags, "refs the policies admit: tags (the signing workflow at any tag) or exact")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg.Reports = rest
	m, err := RunMerge(cfg)
	if m != nil {
		for _, w := range m.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		fmt.Fprint(stdout, MergeSummary(m))
	}
	return err
}
