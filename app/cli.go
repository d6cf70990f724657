package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/sigstore/sigstore/pkg/oauthflow"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/verify"
)

// publicOIDCIssuer is the public Sigstore OIDC issuer used for interactive
// sign-in when no token is given.
const publicOIDCIssuer = "https://oauth2.sigstore.dev/auth"

// Exit codes of the CLI.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	usagePrefix = "Run 'sigil --help' for usage."
)

// usageError is a command line that cobra or sigil could not make sense
// of: exit code 2, as flag parsers do.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// CLI runs sigil as a command-line tool and returns the exit code: 0 on
// success, 1 when the run failed, 2 for a command line it cannot parse.
// getenv reads the variables of environ.go.
func CLI(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, env Env) int {
	root := newRootCommand(stdout, stderr, getenv, env)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "sigil: %v\n%s\n", err, usagePrefix)
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	return exitFailed
}

// cliFlags is the CLI's front end: settings are flags of the command.
type cliFlags struct {
	mode   Mode
	flags  *pflag.FlagSet
	getenv func(string) string
}

// raw is the flag's value when given (repeated flags joined by newlines),
// else the input's environment variable when set, else the flag's default.
func (c cliFlags) raw(name string) (string, bool) {
	f := c.flags.Lookup(name)
	in := input(name)
	if f != nil && f.Changed {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			return strings.Join(sv.GetSlice(), "\n"), true
		}
		return f.Value.String(), true
	}
	if in.Env != "" {
		if v := c.getenv(in.Env); v != "" {
			return v, true
		}
	}
	return in.flagDefault(c.mode), true
}

func (c cliFlags) name(s setting.Setting) string { return "--" + string(s) }

func (c cliFlags) assign(s setting.Setting, v string) string { return "--" + string(s) + " " + v }

func (c cliFlags) env(key string) string { return c.getenv(key) }

// addFlags declares mode's flags from the input table.
func addFlags(fs *pflag.FlagSet, mode Mode) {
	for _, in := range Inputs {
		if in.ActionOnly || !in.in(mode) {
			continue
		}
		usage := in.Usage
		if in.Env != "" {
			usage += " (default $" + in.Env + ")"
		}
		switch in.kind {
		case kindBool:
			fs.Bool(in.Name, in.flagDefault(mode) == "true", usage)
		case kindList, kindKeyValues, kindCredentials, kindAssignments:
			fs.StringArray(in.Name, nil, usage)
		default:
			fs.String(in.Name, in.flagDefault(mode), usage)
		}
	}
}

// cliCommand declares one mode's command.
type cliCommand struct {
	mode    Mode
	use     string
	short   string
	example string
	// positional names the input positional arguments add to.
	positional string
	run        func(cmd *cobra.Command, fe cliFlags, env Env) error
}

func newRootCommand(stdout, stderr io.Writer, getenv func(string) string, env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sigil",
		Short: "Keyless Sigstore signing and verification of container images and release files",
		Long: `sigil signs container images and release files keylessly with Sigstore, and
verifies them. Flags are named like the GitHub action's inputs; list flags
repeat, or take comma-separated values.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if env.Progress == nil {
		env.Progress = func(s string) { fmt.Fprintln(stderr, s) }
	}
	if env.Warn == nil {
		env.Warn = func(s string) { fmt.Fprintln(stderr, "warning:", s) }
	}

	commands := []cliCommand{
		{
			mode: ModeSign, use: "sign [flags] [IMAGE...]", positional: "images",
			short: "Sign images and files under one certificate, and attach the signatures",
			example: `  # in a workflow step with id-token: write, or after a browser sign-in
  sigil sign ghcr.io/org/app:v1.2.3 docker.io/org/app:v1.2.3 --files 'dist/*'

  # a private Sigstore
  sigil sign IMAGE --signing-config signing_config.json --trusted-root trusted_root.json`,
			run: func(cmd *cobra.Command, fe cliFlags, env Env) error {
				cfg, err := readSign(fe)
				if err != nil {
					return err
				}
				if env.IDToken == nil {
					tok, _ := fe.raw("identity-token")
					env.IDToken = cliTokenSource(tok, getenv, stderr)
				}
				res, err := RunSign(cmd.Context(), cfg, env)
				if err != nil {
					return err
				}
				if asJSON(fe) {
					return writeJSON(stdout, res.Result)
				}
				fmt.Fprint(stdout, SignSummary(res))
				return nil
			},
		},
		{
			mode: ModeVerify, use: "verify [flags] [IMAGE...]", positional: "images",
			short: "Verify the signatures of images and files against an identity policy",
			example: `  # a GitHub workflow's release, by preset
  sigil verify ghcr.io/org/app:v1.2.3 --repository org/app --workflow release.yml --ref 'refs/tags/v*'

  # a file, by exact identity
  sigil verify --files dist/app.tar.gz \
    --certificate-identity https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3`,
			run: func(cmd *cobra.Command, fe cliFlags, env Env) error {
				cfg, err := readVerify(fe)
				if err != nil {
					return err
				}
				report, err := RunVerify(cmd.Context(), cfg, env)
				if report != nil {
					if asJSON(fe) {
						if jerr := writeJSON(stdout, report); jerr != nil && err == nil {
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
			},
		},
		{
			mode: ModeMerge, use: "merge [flags] SIGNATURES.json...", positional: "reports",
			short:   "Merge the signatures outputs of several sign runs into one summary and one set of policies",
			example: `  sigil merge --policies-dir policies/ signatures-*.json`,
			run: func(_ *cobra.Command, fe cliFlags, _ Env) error {
				cfg, err := readMerge(fe)
				if err != nil {
					return err
				}
				m, err := RunMerge(cfg)
				if m != nil {
					for _, w := range m.Warnings {
						fmt.Fprintln(stderr, "warning:", w)
					}
					if asJSON(fe) {
						return errors.Join(err, writeJSON(stdout, m.Combined))
					}
					fmt.Fprint(stdout, MergeSummary(m))
				}
				return err
			},
		},
	}
	for _, c := range commands {
		root.AddCommand(c.command(getenv, env))
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print sigil's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(stdout, "sigil", version())
			return nil
		},
	})
	return root
}

func (c cliCommand) command(getenv func(string) string, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: c.use, Short: c.short, Example: c.example}
	addFlags(cmd.Flags(), c.mode)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fe := cliFlags{mode: c.mode, flags: cmd.Flags(), getenv: getenv}
		for _, a := range args {
			if err := cmd.Flags().Set(c.positional, a); err != nil {
				return usageError{err}
			}
		}
		e := env
		e.Name = fe.name
		return explain(fe, c.run(cmd, fe, e))
	}
	return cmd
}

func asJSON(fe cliFlags) bool {
	v, _ := fe.raw("json")
	return v == "true"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// version is the module version sigil was built at, or its VCS revision.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
			v = s.Value
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
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
				return "", fmt.Errorf("--identity-token: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		case flagValue != "":
			return flagValue, nil
		case getenv(EnvIDTokenURL) != "":
			rt, err := ghaction.New(ghaction.WithGetenv(getenv), ghaction.WithStdout(io.Discard))
			if err != nil {
				return "", err
			}
			return rt.IDToken(ctx, "sigstore")
		}
		fmt.Fprintln(stderr, "No identity token given: opening a browser to sign in to Sigstore.")
		tok, err := oauthflow.OIDConnect(publicOIDCIssuer, "sigstore", "", "", oauthflow.DefaultIDTokenGetter)
		if err != nil {
			return "", fmt.Errorf("interactive sign-in: %w (pass --identity-token in a non-interactive job)", err)
		}
		return tok.RawString, nil
	}
}
