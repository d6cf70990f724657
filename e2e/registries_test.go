package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/sign"
)

// TestRegistries signs a public image on each of the bed's registries as
// they behave in production, then verifies it with no credentials at all:
// ghcr.io has no referrers API (404, or a 303 to an HTML page on another
// host), so the bundle goes under the sha256-<hex> fallback tag; Docker
// Hub's token service gives anonymous pull tokens, and its registry serves
// the referrers API or, on the distribution registry, does not. On ghcr.io
// a refused or missing job token must not stop the verification of a
// public image.
func TestRegistries(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	for _, tc := range []struct {
		reg     tbenv.Registry
		wantTag bool // the bundle is listed under the fallback tag, not by the referrers API
		ghcr    bool
	}{
		{reg: e.GHCR, wantTag: true, ghcr: true},
		{reg: e.GHCRRedirect, wantTag: true, ghcr: true},
		{reg: e.DockerHub, wantTag: false},
		{reg: e.DockerHubNoReferrers, wantTag: true},
	} {
		t.Run(tc.reg.Name, func(t *testing.T) {
			t.Parallel()
			reg := tc.reg
			d := reg.PushImage(t, e.PublicRepo(t), "v1.0.0", tbenv.RandomImage(t))
			s := &step{
				inputs: map[string]string{
					"mode":                 "sign",
					"images":               reg.Tag(t, d.Context().RepositoryStr(), "v1.0.0").String(),
					"signing-config":       e.SigningConfig,
					"trusted-root":         e.TrustedRoot,
					"registry-credentials": reg.Host + "=" + reg.User + ":" + reg.Password,
				},
				env: append(e.ToolEnv(t), e.ActionsEnv(tbenv.Claims{"run_id": {tbenv.UniqueRunID(t)}})...),
			}
			runAction(t, s)
			if s.code != 0 {
				t.Fatalf("sign exited %d:\n%s", s.code, s.stdout)
			}
			var res sign.Result
			if err := json.Unmarshal([]byte(s.outputs["signatures"]), &res); err != nil {
				t.Fatalf("signatures output: %v", err)
			}
			var bundle *sign.Signature
			for i, sg := range res.Images[0].Signatures {
				if sg.Format == artifact.FormatBundle {
					bundle = &res.Images[0].Signatures[i]
				}
			}
			if len(res.Images) != 1 || bundle == nil || bundle.ReadBack != sign.ReadBackReferrers {
				t.Fatalf("signatures = %+v, want one image with a bundle read back through its referrers", res.Images)
			}
			checkBundleLocation(t, reg, d, bundle.Location, tc.wantTag)

			// cosign v3 verifies it with no credentials.
			id := []string{"--certificate-identity", tbenv.Identity("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.0.0"), "--certificate-oidc-issuer", e.Issuer}
			out, err := cosign(t, e, e.Cosign3, []string{"DOCKER_CONFIG=" + t.TempDir()},
				append(append([]string{"verify", "--trusted-root", e.TrustedRoot, "--insecure-ignore-sct", "--allow-http-registry"}, id...), d.String())...)
			if err != nil {
				t.Errorf("anonymous cosign v3 verify: %v\n%s", err, out)
			}

			// sigil verifies it with no credentials, and on ghcr.io with a
			// job token the registry refuses.
			tokens := []string{""}
			if tc.ghcr {
				tokens = append(tokens, "ghs_revokedjobtoken")
			}
			for _, token := range tokens {
				v := verifyStep(t, e, d.String(), reg.Host, token)
				runAction(t, v)
				if v.code != 0 || v.outputs["verified"] != "true" {
					t.Errorf("verify with github-token %q and no other credentials: exit %d, verified=%q:\n%s", token, v.code, v.outputs["verified"], v.stdout)
				}
			}
		})
	}
}

// TestRegistriesRefusePrivate verifies a private image with no credentials
// on each registry, and on ghcr.io with a job token it refuses: each run
// fails with an error that says the registry refused and what to give.
func TestRegistriesRefusePrivate(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	type attempt struct {
		reg   tbenv.Registry
		token string
		want  []string
	}
	var attempts []attempt
	for _, reg := range e.AllRegistries() {
		attempts = append(attempts, attempt{reg: reg, want: []string{"registry " + reg.Host + " refused anonymous access", "private", "registry-credentials"}})
	}
	for _, reg := range []tbenv.Registry{e.GHCR, e.GHCRRedirect} {
		attempts = append(attempts, attempt{reg: reg, token: "ghs_revokedjobtoken", want: []string{"registry " + reg.Host + " refused the credentials from github-token"}})
	}
	for _, a := range attempts {
		t.Run(a.reg.Name+map[bool]string{true: "/job-token", false: "/anonymous"}[a.token != ""], func(t *testing.T) {
			t.Parallel()
			d := a.reg.PushImage(t, tbenv.UniqueRepo(t), "v1", tbenv.RandomImage(t))
			v := verifyStep(t, e, d.String(), a.reg.Host, a.token)
			runAction(t, v)
			if v.code == 0 || v.outputs["verified"] != "false" {
				t.Fatalf("verify of a private image without credentials: exit %d, verified=%q:\n%s", v.code, v.outputs["verified"], v.stdout)
			}
			for _, w := range a.want {
				if !strings.Contains(v.stdout, w) {
					t.Errorf("the error does not say %q:\n%s", w, v.stdout)
				}
			}
			if a.token != "" && strings.Contains(unmasked(v.stdout), a.token) {
				t.Errorf("the job token reached the log")
			}
		})
	}
}

// verifyStep is a consumer's verify step for image with no registry
// credentials but token as github-token, ghcr being the GHCR host.
func verifyStep(t *testing.T, e *tbenv.Env, image, ghcr, token string) *step {
	t.Helper()
	inputs := map[string]string{
		"mode":                    "verify",
		"images":                  image,
		"repository":              "sigil-dev/demo",
		"workflow":                ".github/workflows/release.yml",
		"ref":                     "refs/tags/v*",
		"certificate-oidc-issuer": e.Issuer,
		"trusted-root":            e.TrustedRoot,
	}
	if token != "" {
		inputs["github-token"] = token
	}
	// ToolEnv's DOCKER_CONFIG, with every registry's credentials, is
	// replaced by none; its proxy still fails the test if sigil leaves the
	// machine.
	return &step{inputs: inputs, env: append(e.ToolEnv(t), "DOCKER_CONFIG=", "SIGIL_GHCR_HOST="+ghcr)}
}

// checkBundleLocation checks where the bundle referrer went: listed under
// the subject's fallback tag or by the referrers API, and found by plain
// go-containerregistry either way.
func checkBundleLocation(t *testing.T, reg tbenv.Registry, d name.Digest, location string, wantTag bool) {
	t.Helper()
	auth := remote.WithAuth(reg.Authenticator())
	loc, err := name.NewDigest(location)
	if err != nil {
		t.Fatalf("bundle location %q: %v", location, err)
	}
	tags, err := remote.List(d.Context(), auth)
	if err != nil {
		t.Fatal(err)
	}
	fallback := strings.Replace(d.DigestStr(), ":", "-", 1)
	if got := slices.Contains(tags, fallback); got != wantTag {
		t.Errorf("fallback tag %s present = %v, want %v (tags %v)", fallback, got, wantTag, tags)
	}
	if wantTag {
		idx, err := remote.Index(d.Context().Tag(fallback), auth)
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(m.Manifests, func(desc v1.Descriptor) bool { return desc.Digest.String() == loc.DigestStr() }) {
			t.Errorf("the fallback tag's index %+v does not list the bundle %s", m.Manifests, loc)
		}
	}
	idx, err := remote.Referrers(d, auth)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(m.Manifests, func(desc v1.Descriptor) bool { return desc.Digest.String() == loc.DigestStr() }) {
		t.Errorf("go-containerregistry lists referrers %+v, not the bundle %s", m.Manifests, loc)
	}
}
