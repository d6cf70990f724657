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
)

const cliUsage = `sigil signs container images and release files keylessly with Sigstore,
and verifies them.

Usage:
  sigil sign   [flags] [IMAGE...]
  sigil verify [flags] [IMAGE...]

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
		images, files      listFlag
		annotations, creds linesFlag
		format             = fs.String("format", "both", "signature formats for images: both, bundle or legacy")
		recursive          = fs.Bool("recursive", true, "also sign each platform manifest of a multi-arch index")
		signingConfig      = fs.String("signing-config", "", "Sigstore signing config JSON (Fulcio, Rekor, TSA URLs)")
		fulcioURL          = fs.String("fulcio-url", "", "Fulcio URL (overrides the signing config)")
		rekorURL           = fs.String("rekor-url", "", "Rekor v1 URL (overrides the signing config)")
		tsaURL             = fs.String("tsa-url", "", "timestamp authority URL, full path (overrides the signing config)")
		trustedRoot        = fs.String("trusted-root", "", "trusted root JSON; default: the public instance's, through TUF")
		githubToken        = fs.String("github-token", "", "token for ghcr.io (default $GITHUB_TOKEN)")
		concurrency        = fs.Int("concurrency", DefaultConcurrency, "artifacts signed and pushed at once")
		allowPublicLog     = fs.Bool("allow-public-log", false, "let a private repository write its name to the public Rekor log")
		identityToken      = fs.String("identity-token", "", "OIDC identity token, or @FILE to read it; default: GitHub's token endpoint, else interactive sign-in")
		jsonOut            = fs.Bool("json", false, "print the signatures JSON instead of the summary")
		policiesDir        = fs.String("policies-dir", "", "write generated consumer policies into this directory")
	)
	fs.Var(&images, "images", "image references to sign (tags or digests)")
	fs.Var(&files, "files", "globs of files to sign; each gets FILE.sigstore.json")
	fs.Var(&annotations, "annotations", "key=value annotation signed into the legacy payload (repeatable)")
	fs.Var(&creds, "registry-credentials", "host=username:password (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	images = append(images, fs.Args()...)
	cfg := SignConfig{
		Images: images, Files: files, Recursive: *recursive,
		SigningConfig: *signingConfig, FulcioURL: *fulcioURL, RekorURL: *rekorURL, TSAURL: *tsaURL, TrustedRoot: *trustedRoot,
		GitHubToken: *githubToken, Concurrency: *concurrency, AllowPublicLog: *allowPublicLog, PolicyDir: *policiesDir,
		DockerConfigDir: getenv("DOCKER_CONFIG"),
	}
	if cfg.GitHubToken == "" {
		cfg.GitHubToken = getenv("GITHUB_TOKEN")
	}
	var errs []error
	var err error
	if cfg.Format, err = sign.ParseFormat(*format); err != nil {
		errs = append(errs, err)
	}
	if cfg.Annotations, err = inputlist.ParseKeyValues(strings.Join(annotations, "\n")); err != nil {
		errs = append(errs, fmt.Errorf("annotations: %w", err))
	}
	if cfg.Credentials, err = inputlist.ParseCredentials(strings.Join(creds, "\n")); err != nil {
		errs = append(errs, fmt.Errorf("registry-credentials: %w", err))
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
	if h := getenv("SIGIL_GHCR_HOST"); h != "" && env.GHCRHost == "" {
		env.GHCRHost = h
	}
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
	return errors.New("verify is not wired yet")
}
