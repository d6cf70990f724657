package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/verify"
)

// Action runs sigil as a GitHub container action: the mode input chooses
// sign, verify or merge. It returns the process exit code; every failure is
// also written as an ::error:: annotation. getenv reads the variables of
// environ.go that are sigil's own (GitHub's come through rt).
func Action(ctx context.Context, rt *ghaction.Runtime, getenv func(string) string, env Env) int {
	fe := actionInputs{rt: rt, getenv: getenv}
	env.Name = fe.name
	if env.Warn == nil {
		env.Warn = func(s string) { _ = rt.Warningf("%s", s) }
	}
	if env.TUFCache == "" {
		// The container's own file system, gone with the container: never
		// a root-owned file in the runner's workspace or home.
		dir, err := os.MkdirTemp("", "sigil-tuf-")
		if err != nil {
			_ = rt.Errorf("creating a directory for the TUF cache: %v", err)
			return 1
		}
		defer os.RemoveAll(dir)
		env.TUFCache = dir
	}
	var err error
	switch mode := rt.Input("mode"); Mode(mode) {
	case "", ModeSign:
		err = actionSign(ctx, rt, fe, env)
	case ModeVerify:
		err = actionVerify(ctx, rt, fe, env)
	case ModeMerge:
		err = actionMerge(rt, fe)
	default:
		err = fmt.Errorf("%s %q: want sign, verify or merge", fe.name("mode"), mode)
	}
	if err != nil {
		for _, line := range strings.Split(explain(fe, err).Error(), "\n") {
			_ = rt.Errorf("%s", line)
		}
		return 1
	}
	return 0
}

// actionInputs is the action's front end: settings are inputs.
type actionInputs struct {
	rt     *ghaction.Runtime
	getenv func(string) string
}

func (a actionInputs) raw(name string) (string, bool) {
	v := a.rt.Input(name)
	return v, v != ""
}

func (a actionInputs) name(s setting.Setting) string { return "input " + string(s) }

func (a actionInputs) assign(s setting.Setting, v string) string { return string(s) + ": " + v }

func (a actionInputs) env(key string) string {
	switch key {
	case EnvGitHubActor:
		return a.rt.Context().Actor
	case EnvGitHubServerURL:
		return a.rt.Context().ServerURL
	case EnvDockerConfig:
		c := a.rt.Context()
		return c.InContainer(c.DockerConfig)
	case EnvGHCRHost:
		return a.getenv(key)
	}
	return ""
}

// readMasked reads a mode's settings with read, then masks the secrets
// among them in the log (even when reading failed) before anything can
// print them.
func readMasked[C interface{ secrets() []string }](rt *ghaction.Runtime, fe actionInputs, read func(frontEnd) (C, error)) (C, error) {
	cfg, err := read(fe)
	for _, s := range cfg.secrets() {
		if s == "" {
			continue
		}
		if merr := rt.AddMask(s); merr != nil {
			return cfg, merr
		}
	}
	return cfg, err
}

func actionSign(ctx context.Context, rt *ghaction.Runtime, fe actionInputs, env Env) error {
	cfg, err := readMasked(rt, fe, readSign)
	if err != nil {
		return err
	}
	if env.IDToken == nil {
		// Without the token variables nothing can be signed: say so before
		// any registry is contacted.
		if err := rt.IDTokenAvailable(); err != nil {
			return err
		}
		env.IDToken = func(ctx context.Context) (string, error) { return rt.IDToken(ctx, "sigstore") }
	}
	if env.Progress == nil {
		env.Progress = func(s string) { _ = rt.Logf("%s", s) }
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
	for _, w := range s.Warnings {
		_ = rt.Warningf("%s", w)
	}
	for _, img := range s.Result.Images {
		if err := rt.Group(img.Repository + "@" + img.Digest); err != nil {
			return err
		}
		for _, sg := range img.Signatures {
			switch {
			case sg.Error != "":
				_ = rt.Logf("%s signature: logged (Rekor v%d log index %d) but not in the registry: %s", sg.Format, sg.Log.Version, sg.Log.Index, sg.Error)
			case sg.AlreadySigned:
				_ = rt.Logf("%s signature: already signed by this identity: %s (Rekor v%d log index %d)", sg.Format, sg.Location, sg.Log.Version, sg.Log.Index)
			default:
				_ = rt.Logf("%s signature: %s (Rekor v%d log index %d; read back via %s)", sg.Format, sg.Location, sg.Log.Version, sg.Log.Index, sg.ReadBack)
			}
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
		if !slices.ContainsFunc(Outputs, func(d Output) bool { return d.Name == o.name }) {
			errs = append(errs, fmt.Errorf("output %s is not declared in Outputs (nor in action.yml)", o.name))
			continue
		}
		if err := rt.SetOutput(o.name, o.value); err != nil && !errors.Is(err, ghaction.ErrNoOutputFile) {
			errs = append(errs, err)
		}
	}
	if err := rt.AppendSummary(summary); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func actionVerify(ctx context.Context, rt *ghaction.Runtime, fe actionInputs, env Env) error {
	cfg, err := readMasked(rt, fe, readVerify)
	if err != nil {
		return err
	}
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

func actionMerge(rt *ghaction.Runtime, fe actionInputs) error {
	cfg, err := readMerge(fe)
	if err != nil {
		return err
	}
	m, err := RunMerge(cfg)
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
