package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/policy"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/sign"
)

// spdxDoc is a minimal SPDX 2.3 JSON SBOM naming pkg.
func spdxDoc(pkg string) string {
	return fmt.Sprintf(`{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":%q,
"documentNamespace":"https://example.com/spdx/%s","creationInfo":{"created":"2026-11-30T00:00:00Z","creators":["Tool: test"]},
"packages":[{"name":%q,"SPDXID":"SPDXRef-Package","downloadLocation":"NOASSERTION"}]}`, pkg, pkg, pkg)
}

// TestReleaseAttestations is a release as the Flux team's: one sign step
// signs and attests three images (one multi-platform) on every registry
// kind and two release files, with provenance and one SPDX SBOM per image,
// from one token and one certificate. Then every verifier a consumer runs
// accepts what it wrote: cosign 3's verify-attestation (bundle referrers),
// cosign 2's (legacy .att), the generated Kyverno and policy-controller
// policies with the real tools, cosign 3's verify-blob-attestation for the
// files, and sigil verify requiring provenance and SPDX.
func TestReleaseAttestations(t *testing.T) {
	t.Parallel()
	e := tbenv.Load(t)
	tl := findTools(t)
	r := newRunner(t, e)
	claims := tbenv.Claims{"repository": {"sigil-dev/demo"}, "workflow_path": {".github/workflows/release.yml"}, "ref": {"refs/tags/v1.0.0"}, "run_id": {tbenv.UniqueRunID(t)}}
	identity := tbenv.Identity("sigil-dev/demo", ".github/workflows/release.yml", "refs/tags/v1.0.0")

	work := t.TempDir()
	base := tbenv.UniqueRepo(t)
	var refs, sbomLines []string
	for _, app := range []string{"controller", "cli", "multi"} {
		repo := base + "-" + app
		push := e.PushRandomImage
		if app == "multi" {
			push = e.PushRandomIndex
		}
		for _, d := range push(t, repo, "v1.0.0") {
			refs = append(refs, d.Context().Tag("v1.0.0").String())
		}
		doc := filepath.Join(work, app+".spdx.json")
		if err := os.WriteFile(doc, []byte(spdxDoc(app)), 0o644); err != nil {
			t.Fatal(err)
		}
		// One line names the image on every registry.
		sbomLines = append(sbomLines, "*/"+repo+":v1.0.0="+doc)
	}
	dist := filepath.Join(work, "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"flux_linux_amd64.tar.gz", "flux_darwin_arm64.tar.gz"} {
		if err := os.WriteFile(filepath.Join(dist, f), []byte("release archive "+f+" "+base), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policies := filepath.Join(work, "policies")

	var tokens, certs atomic.Int32
	token := e.IDToken(t, "sigstore", claims)
	env := Env{
		IDToken: func(context.Context) (string, error) { tokens.Add(1); return token, nil },
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/signingCert") {
				certs.Add(1)
			}
			return http.DefaultTransport.RoundTrip(r)
		}),
	}
	getenv := func(k string) string {
		if k == EnvDockerConfig {
			return e.DockerConfig(t)
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	code := CLI(t.Context(), []string{"sign", "--json",
		"--images", strings.Join(refs, ","), "--files", filepath.Join(dist, "*.tar.gz"),
		"--provenance", "--sboms", strings.Join(sbomLines, "\n"),
		"--signing-config", e.SigningConfig, "--trusted-root", e.TrustedRoot, "--policies-dir", policies,
	}, &stdout, &stderr, getenv, env)
	if code != 0 {
		t.Fatalf("sigil sign: exit %d\n%s", code, stderr.String())
	}
	var res sign.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("the --json output: %v\n%s", err, stdout.String())
	}
	if n, c := tokens.Load(), certs.Load(); n != 1 || c != 1 {
		t.Errorf("%d identity tokens and %d certificates requested, want 1 of each", n, c)
	}

	// Every manifest on every registry: its signature, provenance and (for
	// what a reference names, not an index's platforms) its SBOM, in both
	// formats, each pushed.
	var manifests, named []name.Digest
	for _, img := range res.Images {
		d, err := name.NewDigest(img.Repository + "@" + img.Digest)
		if err != nil {
			t.Fatal(err)
		}
		manifests = append(manifests, d)
		want := map[string]int{"": 2, provenance.PredicateType: 2}
		if img.Index == "" {
			named = append(named, d)
			want[attestation.SPDXPredicateType] = 2
		}
		got := map[string]int{}
		for _, s := range append(append([]sign.Signature(nil), img.Signatures...), img.Attestations...) {
			if s.Error != "" || s.Location == "" {
				t.Errorf("%s: %s %s not in the registry: %s", d, s.Format, s.PredicateType, s.Error)
			}
			got[s.PredicateType]++
		}
		for typ, n := range want {
			if got[typ] != n {
				t.Errorf("%s: %d signatures of type %q, want %d (one per format)", d, got[typ], typ, n)
			}
		}
	}
	if len(named) != 3*len(e.Registries()) || len(manifests) <= len(named) {
		t.Fatalf("signed %d manifests, %d of them named by a reference; want 3 references on %d registries and platform manifests", len(manifests), len(named), len(e.Registries()))
	}
	if len(res.FileAttestations) != 1 || res.FileAttestations[0].PredicateType != provenance.PredicateType || len(res.FileAttestations[0].Files) != 2 ||
		filepath.Base(res.FileAttestations[0].Bundle) != sign.ProvenanceBundle {
		t.Fatalf("file attestations: %+v, want one provenance of both files in %s", res.FileAttestations, sign.ProvenanceBundle)
	}

	check := func(what string, out string, code int) {
		t.Helper()
		if code != 0 {
			t.Errorf("%s: exit %d\n%s", what, code, out)
		}
	}
	legacyTrust := append(r.env[:len(r.env):len(r.env)], "SIGSTORE_ROOT_FILE="+e.FulcioRoot, "SIGSTORE_REKOR_PUBLIC_KEY="+e.RekorPubKey, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="+e.CTLogPubKey)
	cosign2 := &runner{env: legacyTrust}
	for _, d := range manifests {
		types := []string{"slsaprovenance1"}
		if !strings.Contains(fmt.Sprint(named), d.String()) {
			types = types[:1]
		} else {
			types = append(types, "spdxjson")
		}
		for _, typ := range types {
			out, code := r.run(t, e.Cosign3, "verify-attestation", "--type="+typ, "--trusted-root="+e.TrustedRoot,
				"--certificate-identity="+identity, "--certificate-oidc-issuer="+e.Issuer, d.String())
			check("cosign v3 verify-attestation --type "+typ+" "+d.String(), out, code)
			// cosign 2.6 reads the bundle referrer when there is one
			// (the .att of a legacy-only run is checked below).
			out, code = r.run(t, e.Cosign2, "verify-attestation", "--type="+typ, "--trusted-root="+e.TrustedRoot,
				"--certificate-identity="+identity, "--certificate-oidc-issuer="+e.Issuer, d.String())
			check("cosign v2 verify-attestation --type "+typ+" "+d.String(), out, code)
		}
	}
	for _, d := range named {
		image := d.Context().Tag("v1.0.0").String()
		v := kyvernoApply(t, r, tl, policies, image)
		check("kyverno apply "+image, v.out, v.code)
		if !strings.Contains(mustRead(t, filepath.Join(policies, policy.KyvernoFile)), "verify-provenance") {
			t.Errorf("the Kyverno policy has no provenance rule")
		}
		v = policyTest(t, r, tl, policies, image)
		check("policy-tester "+image, v.out, v.code)
	}
	fa := res.FileAttestations[0]
	for _, f := range fa.Files {
		out, code := r.run(t, e.Cosign3, "verify-blob-attestation", "--bundle="+fa.Bundle, "--type=slsaprovenance1", "--trusted-root="+e.TrustedRoot,
			"--certificate-identity="+identity, "--certificate-oidc-issuer="+e.Issuer, f)
		check("cosign v3 verify-blob-attestation "+f, out, code)
	}

	// A re-run by the same workflow run finds every signature and
	// attestation of the images there and writes none again.
	stdout.Reset()
	stderr.Reset()
	if code := CLI(t.Context(), []string{"sign", "--json", "--images", strings.Join(refs, ","), "--provenance", "--sboms", strings.Join(sbomLines, "\n"),
		"--signing-config", e.SigningConfig, "--trusted-root", e.TrustedRoot,
	}, &stdout, &stderr, getenv, env); code != 0 {
		t.Fatalf("re-run: exit %d\n%s", code, stderr.String())
	}
	var again sign.Result
	if err := json.Unmarshal(stdout.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	for _, img := range again.Images {
		for _, s := range append(append([]sign.Signature(nil), img.Signatures...), img.Attestations...) {
			if !s.AlreadySigned {
				t.Errorf("re-run: %s@%s %s %s written again (log index %d)", img.Repository, img.Digest, s.Format, s.PredicateType, s.Log.Index)
			}
		}
	}

	// cosign 2's legacy .att, alone: an image signed in the legacy format
	// only, as a release for pre-2.6 cosign and Kyverno's Cosign attestor.
	legacyOnly := e.PushRandomImage(t, base+"-legacy", "v1.0.0")[0]
	stdout.Reset()
	stderr.Reset()
	if code := CLI(t.Context(), []string{"sign", "--json", "--images", legacyOnly.String(), "--format", "legacy", "--provenance",
		"--signing-config", e.SigningConfig, "--trusted-root", e.TrustedRoot,
	}, &stdout, &stderr, getenv, env); code != 0 {
		t.Fatalf("sigil sign --format legacy --provenance: exit %d\n%s", code, stderr.String())
	}
	out, code := cosign2.run(t, e.Cosign2, "verify-attestation", "--type=slsaprovenance1", "--rekor-url="+e.RekorURL,
		"--certificate-identity="+identity, "--certificate-oidc-issuer="+e.Issuer, legacyOnly.String())
	check("cosign v2 verify-attestation (legacy .att) "+legacyOnly.String(), out, code)

	// sigil verify, requiring the attestations.
	var vout, verr bytes.Buffer
	var namedRefs []string
	for _, d := range named {
		namedRefs = append(namedRefs, d.String())
	}
	vcode := CLI(t.Context(), []string{"verify", "--images", strings.Join(namedRefs, ","), "--files", filepath.Join(dist, "*.tar.gz"),
		"--attestations", "provenance", "--repository", "sigil-dev/demo", "--certificate-oidc-issuer", e.Issuer, "--trusted-root", e.TrustedRoot,
	}, &vout, &verr, getenv, Env{})
	if vcode != 0 {
		t.Errorf("sigil verify --attestations provenance: exit %d\n%s\n%s", vcode, vout.String(), verr.String())
	}
	vout.Reset()
	verr.Reset()
	vcode = CLI(t.Context(), []string{"verify", "--images", strings.Join(namedRefs, ","),
		"--attestations", "provenance,spdx", "--repository", "sigil-dev/demo", "--certificate-oidc-issuer", e.Issuer, "--trusted-root", e.TrustedRoot,
	}, &vout, &verr, getenv, Env{})
	if vcode != 0 {
		t.Errorf("sigil verify --attestations provenance,spdx: exit %d\n%s\n%s", vcode, vout.String(), verr.String())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
