package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
)

// TestTrustFromTUF runs sign and verify with no trust input at all: the
// trusted root and the signing config come from the bed's TUF repository,
// as from the public instance's by default (only its mirror and initial
// root are given, as a private deployment would give them). The default
// signing config is Rekor v1 with a timestamp authority; rekor-v2 picks
// the Rekor v2 one, whose legacy signatures still go to Rekor v1.
func TestTrustFromTUF(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	for _, tc := range []struct {
		name    string
		rekorV2 bool
		// bundleLog is the Rekor version of the bundle's entry.
		bundleLog int
	}{
		{name: "rekor-v1", bundleLog: 1},
		{name: "rekor-v2", rekorV2: true, bundleLog: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refs := e.PushRandomImage(t, tbenv.UniqueRepo(t), "v1")
			var images []string
			for _, r := range refs {
				images = append(images, r.String())
			}
			trustInputs := map[string]string{"tuf-mirror": e.TUFURL, "tuf-root": e.TUFRoot}
			s := &step{
				inputs: with(trustInputs, map[string]string{
					"images":               strings.Join(images, "\n"),
					"rekor-v2":             map[bool]string{true: "true", false: "false"}[tc.rekorV2],
					"registry-credentials": credentials(e),
				}),
				env: append(e.ToolEnv(t), e.ActionsEnv(tbenv.Claims{"run_id": {tbenv.UniqueRunID(t)}})...),
			}
			runAction(t, s)
			if s.code != 0 {
				t.Fatalf("sign with trust from TUF exited %d:\n%s", s.code, s.stdout)
			}
			var res sign.Result
			if err := json.Unmarshal([]byte(s.outputs["signatures"]), &res); err != nil {
				t.Fatal(err)
			}
			for _, img := range res.Images {
				for _, sg := range img.Signatures {
					want := tc.bundleLog
					if sg.Format == artifact.FormatLegacy {
						want = 1
					}
					if sg.Log.Version != want {
						t.Errorf("%s: %s signature in Rekor v%d, want v%d", img.Repository, sg.Format, sg.Log.Version, want)
					}
				}
			}
			v := &step{
				inputs: with(trustInputs, map[string]string{
					"mode":                    "verify",
					"images":                  strings.Join(images, "\n"),
					"repository":              "sigil-dev/demo",
					"certificate-oidc-issuer": e.Issuer,
					"registry-credentials":    credentials(e),
				}),
				env: e.ToolEnv(t),
			}
			runAction(t, v)
			if v.code != 0 || v.outputs["verified"] != "true" {
				t.Fatalf("verify with trust from TUF: exit %d, verified=%q:\n%s", v.code, v.outputs["verified"], v.stdout)
			}
		})
	}
}

// TestTrustFromTUFRefused: a TUF repository whose metadata expired, or is
// not signed by the keys its root names, stops the step before anything is
// signed, saying which.
func TestTrustFromTUFRefused(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	for _, tc := range []struct {
		name, mirror, want string
	}{
		{"expired", e.TUFExpiredURL, "expired"},
		{"badly signed", e.TUFBadSigURL, "not signed by the keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refs := e.PushRandomImage(t, tbenv.UniqueRepo(t), "v1")
			runID := tbenv.UniqueRunID(t)
			s := &step{
				inputs: map[string]string{
					"images":               refs[0].String(),
					"tuf-mirror":           tc.mirror,
					"tuf-root":             e.TUFRoot,
					"registry-credentials": credentials(e),
				},
				env: append(e.ToolEnv(t), e.ActionsEnv(tbenv.Claims{"run_id": {runID}})...),
			}
			runAction(t, s)
			if s.code != 1 || !strings.Contains(s.stdout, "::error::") || !strings.Contains(s.stdout, tc.mirror) || !strings.Contains(s.stdout, tc.want) {
				t.Fatalf("exit %d; want 1 and an ::error:: naming the TUF mirror and saying %q:\n%s", s.code, tc.want, s.stdout)
			}
			if n := e.TokensMinted(t, runID); n != 0 {
				t.Errorf("the refused run requested %d identity tokens", n)
			}
		})
	}
}

// with returns a copy of base with more inputs.
func with(base, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}
