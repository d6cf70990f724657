package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/verify"
)

// Action runs sigil as a GitHub container action: the mode input chooses
// sign or verify. It returns the process exit code; every failure is also
// written as an ::error:: annotation.
func Action(ctx context.Context, rt *ghaction.Runtime, getenv func(string) string, env Env) int {
	mode := rt.Input("mode")
	var err error
	switch mode {
	case "", "sign":
		err = actionSign(ctx, rt, getenv, env)
	case "verify":
		err = actionVerify(ctx, rt, getenv, env)
	case "merge":
		err = actionMerge(rt)
	default:
		err = fmt.Errorf("mode %q: want sign, verify or merge", mode)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			_ = rt.Errorf("%s", line)
		}
		return 1
	}
	return 0
}

// signInputs reads and validates the sign inputs; nothing is contacted.
func signInputs(rt *ghaction.Runtime, getenv func(string) string) (SignConfig, error) {
	var errs []error
	cfg := SignConfig{
		Images:        rt.InputList("images"),
		Files:         rt.InputList("files"),
		SigningConfig: rt.Input("signing-config"),
		FulcioURL:     rt.Input("fulcio-url"),
		RekorURL:      rt.Input("rekor-url"),
		TSAURL:        rt.Input("tsa-url"),
		TrustedRoot:   rt.Input("trusted-root"),
		PolicyDir:     rt.Input("policies-dir"),
	}
	if cfg.PolicyDir == "" {
		cfg.PolicyDir = DefaultPolicyDir
	}
	var err error
	if cfg.RegistryConfig, err = registryInputs(rt, getenv); err != nil {
		errs = append(errs, err)
	}
	if cfg.Recursive, err = rt.InputBool("recursive", true); err != nil {
		errs = append(errs, err)
	}
	if cfg.AllowPublicLog, err = rt.InputBool("allow-public-log", false); err != nil {
		errs = append(errs, err)
	}
	if cfg.Format, err = sign.ParseFormat(rt.Input("format")); err != nil {
		errs = append(errs, err)
	}
	if cfg.Annotations, err = rt.InputKeyValues("annotations"); err != nil {
		errs = append(errs, err)
	}
	if cfg.PolicyRefs, err = parsePolicyRefs(rt.Input("policy-refs")); err != nil {
		errs = append(errs, err)
	}
	if cfg.Concurrency, err = concurrencyInput(rt); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

func actionSign(ctx context.Context, rt *ghaction.Runtime, getenv func(string) string, env Env) error {
	cfg, err := signInputs(rt, getenv)
	if err != nil {
		return err
	}
	if env.IDToken == nil {
		// Without the token variables nothing can be signed: say so before
		// any registry is contacted.
		for _, v := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
			if getenv(v) == "" {
				return fmt.Errorf("%w (%s is not set)", ghaction.ErrNoIDTokenPermission, v)
			}
		}
		env.IDToken = func(ctx context.Context) (string, error) { return rt.IDToken(ctx, "sigstore") }
	}
	if env.Progress == nil {
		env.Progress = func(s string) { _ = rt.Logf("%s", s) }
	}
	env.GHCRHost = ghcrHost(env, getenv)
	res, err := RunSign(ctx, cfg, env)
	if res != nil {
		if werr := writeSignOutputs(rt, res); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// writeSignOutputs writes the outputs, the per-image log groups and the
// step summary.
func writeSignOutputs(rt *ghaction.Runtime, s *Signed) error {
	for _, w := range s.Warnings {
		_ = rt.Warningf("%s", w)
	}
	for _, img := range s.Result.Images {
		if err := rt.Group(img.Repository + "@" + img.Digest); err != nil {
			return err
		}
		for _, sg := range img.Signatures {
			_ = rt.Logf("%s signature: %s (Rekor v%d log index %d; read back via %s)", sg.Format, sg.Location, sg.Log.Version, sg.Log.Index, sg.ReadBack)
		}
		if err := rt.EndGroup(); err != nil {
			return err
		}
	}
	js, err := json.Marshal(s.Result)
	if err != nil {
		return err
	}
	var bundles []string
	for _, f := range s.Result.Files {
		bundles = append(bundles, f.Bundle)
	}
	return publish(rt, SignSummary(s),
		output{"signatures", string(js)},
		output{"bundles", strings.Join(bundles, "\n")},
		output{"certificate-identity", s.Result.Identity.Subject},
		output{"certificate-oidc-issuer", s.Result.Identity.Issuer},
		output{"policies", s.PolicyDir},
	)
}

// output is one step output.
type output struct{ name, value string }

// publish writes the step's outputs, in order, then appends its job
// summary. Running outside a runner (no GITHUB_OUTPUT) is not an error.
func publish(rt *ghaction.Runtime, summary string, outputs ...output) error {
	var errs []error
	for _, o := range outputs {
		if err := rt.SetOutput(o.name, o.value); err != nil && !errors.Is(err, ghaction.ErrNoOutputFile) {
			errs = append(errs, err)
		}
	}
	if err := rt.AppendSummary(summary); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// verifyInputs reads and validates the verify inputs; nothing is contacted.
func verifyInputs(rt *ghaction.Runtime, getenv func(string) string) (VerifyConfig, error) {
	var errs []error
	cfg := VerifyConfig{
		Images:                    rt.InputList("images"),
		Files:                     rt.InputList("files"),
		Bundle:                    rt.Input("bundle"),
		CertificateIdentity:       rt.Input("certificate-identity"),
		CertificateIdentityRegexp: rt.Input("certificate-identity-regexp"),
		Issuer:                    rt.Input("certificate-oidc-issuer"),
		IssuerRegexp:              rt.Input("certificate-oidc-issuer-regexp"),
		Repository:                rt.Input("repository"),
		Workflow:                  rt.Input("workflow"),
		Ref:                       rt.Input("ref"),
		RunnerEnvironment:         rt.Input("runner-environment"),
		TrustedRoot:               rt.Input("trusted-root"),
	}
	var err error
	if cfg.RegistryConfig, err = registryInputs(rt, getenv); err != nil {
		errs = append(errs, err)
	}
	if cfg.AnyIdentityUnsafe, err = rt.InputBool("any-identity-unsafe", false); err != nil {
		errs = append(errs, err)
	}
	if cfg.Recursive, err = rt.InputBool("recursive", false); err != nil {
		errs = append(errs, err)
	}
	if cfg.Format, err = verify.ParseFormat(rt.Input("format")); err != nil {
		errs = append(errs, err)
	}
	if cfg.Concurrency, err = concurrencyInput(rt); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	_, err = cfg.policy()
	return cfg, err
}

func actionVerify(ctx context.Context, rt *ghaction.Runtime, getenv func(string) string, env Env) error {
	cfg, err := verifyInputs(rt, getenv)
	if err != nil {
		return err
	}
	env.GHCRHost = ghcrHost(env, getenv)
	report, err := RunVerify(ctx, cfg, env)
	if report != nil {
		if werr := writeVerifyOutputs(rt, report); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// writeVerifyOutputs writes the report to the log, the outputs and the step
// summary.
func writeVerifyOutputs(rt *ghaction.Runtime, r *verify.Report) error {
	_ = rt.Logf("%s", r.Text())
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return publish(rt, VerifySummary(r), output{"report", string(js)}, output{"verified", strconv.FormatBool(r.Verified)})
}

func actionMerge(rt *ghaction.Runtime) error {
	m, err := RunMerge(MergeConfig{
		Reports:     rt.InputList("reports"),
		TrustedRoot: rt.Input("trusted-root"),
		PolicyDir:   rt.Input("policies-dir"),
		PolicyRefs:  rt.Input("policy-refs"),
	})
	if m == nil {
		return err
	}
	for _, w := range m.Warnings {
		_ = rt.Warningf("%s", w)
	}
	js, jerr := json.Marshal(m.Combined)
	if jerr != nil {
		return jerr
	}
	return errors.Join(err, publish(rt, MergeSummary(m), output{"signatures", string(js)}, output{"policies", m.PolicyDir}))
}
