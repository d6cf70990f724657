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
	default:
		err = fmt.Errorf("mode %q: want sign or verify", mode)
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
		GitHubToken:   rt.Input("github-token"),
		GitHubActor:   getenv("GITHUB_ACTOR"),
		PolicyDir:     rt.Input("policies-dir"),
	}
	if cfg.GitHubToken != "" {
		if err := rt.AddMask(cfg.GitHubToken); err != nil {
			return cfg, err
		}
	}
	var err error
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
	if cfg.Credentials, err = rt.InputCredentials("registry-credentials"); err != nil {
		errs = append(errs, err)
	}
	cfg.Concurrency = DefaultConcurrency
	if c := rt.Input("concurrency"); c != "" {
		if cfg.Concurrency, err = strconv.Atoi(c); err != nil {
			errs = append(errs, fmt.Errorf("concurrency %q: want a whole number", c))
		}
	}
	cfg.DockerConfigDir = getenv("DOCKER_CONFIG")
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
	if h := getenv("SIGIL_GHCR_HOST"); h != "" && env.GHCRHost == "" {
		env.GHCRHost = h
	}
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
	outputs := []struct{ name, value string }{
		{"signatures", string(js)},
		{"bundles", strings.Join(bundles, "\n")},
		{"certificate-identity", s.Result.Identity.Subject},
		{"certificate-oidc-issuer", s.Result.Identity.Issuer},
	}
	var errs []error
	for _, o := range outputs {
		if err := rt.SetOutput(o.name, o.value); err != nil && !errors.Is(err, ghaction.ErrNoOutputFile) {
			errs = append(errs, err)
		}
	}
	if err := rt.AppendSummary(SignSummary(s)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func actionVerify(ctx context.Context, rt *ghaction.Runtime, getenv func(string) string, env Env) error {
	return errors.New("verify mode is not wired yet")
}
