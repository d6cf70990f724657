package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrmutate "github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// The acceptance tests below run on the real test bed (Fulcio, Rekor v1
// and v2, the TSA, two registries; `make testbed`) against signatures made
// by cosign v2.6.5, cosign v3.1.3 and sigil's own sign package. Without a
// bed they skip, unless SIGIL_TESTBED=required, when they fail.

// The workflow the bed's signatures come from.
const (
	bedRepo     = "sigil-dev/verify-bed"
	bedWorkflow = ".github/workflows/release.yml"
	bedRef      = "refs/tags/v1.2.3"
)

// bed is the loaded test bed and what every test derives from it.
type bed struct {
	e    *tbenv.Env
	tr   *root.TrustedRoot
	auth registry.Auth
	ropt []remote.Option
}

func loadBed(t *testing.T) *bed {
	t.Helper()
	e := tbenv.Load(t)
	tr, err := trust.LoadTrustedRoot(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{e: e, tr: tr, auth: e.Auth()}
	kc, err := b.auth.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	b.ropt = registry.RemoteOptions(kc, nil, "sigil-verify-test")
	return b
}

// claims are the token claims of a workflow run; empty fields keep the
// bed signer's.
func claims(t *testing.T, repo, workflow, ref string) tbenv.Claims {
	c := tbenv.Claims{"repository": {bedRepo}, "workflow_path": {bedWorkflow}, "ref": {bedRef}, "run_id": {tbenv.UniqueRunID(t)}}
	for k, v := range map[string]string{"repository": repo, "workflow_path": workflow, "ref": ref} {
		if v != "" {
			c[k] = []string{v}
		}
	}
	return c
}

// presetPolicy pins the bed signer with the GitHub presets, exactPolicy with
// the exact identity.
func (b *bed) presetPolicy() []PolicyOption {
	return []PolicyOption{WithRepository(bedRepo), WithWorkflow(bedWorkflow), WithRef("refs/tags/v*"), WithRunnerEnvironment(RunnerGitHubHosted), WithIssuer(b.e.Issuer)}
}

func (b *bed) exactPolicy() []PolicyOption {
	return []PolicyOption{WithCertificateIdentity(tbenv.Identity(bedRepo, bedWorkflow, bedRef)), WithIssuer(b.e.Issuer)}
}

func (b *bed) verifier(t *testing.T, tm root.TrustedMaterial, policy []PolicyOption, opts ...Option) *Verifier {
	t.Helper()
	if tm == nil {
		tm = b.tr
	}
	return mustVerifier(t, tm, mustPolicy(t, policy...), append([]Option{WithRegistry(b.auth, b.ropt...)}, opts...)...)
}

// cosign runs a cosign binary with its own HOME and the registries'
// credentials, and fails t if it fails.
func (b *bed) cosign(t *testing.T, bin string, args ...string) string {
	t.Helper()
	return b.cosignEnv(t, nil, bin, args...)
}

// cosignEnv is cosign with more environment variables.
func (b *bed) cosignEnv(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	// ToolEnv fails the test if cosign tries to leave the machine.
	cmd.Env = append(b.e.ToolEnv(t), env...)
	cmd.Dir = home
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args[:1], " "), err, out)
	}
	return string(out)
}

// signer signs an image on the bed as the workflow c describes.
type signer func(t *testing.T, b *bed, d name.Digest, c tbenv.Claims)

// cosign2 signs the legacy way: a .sig tag, Rekor v1. It checks the
// certificate's SCT against the trusted root first.
func cosign2(t *testing.T, b *bed, d name.Digest, c tbenv.Claims) {
	b.cosign(t, b.e.Cosign2, "sign", "--yes", "--identity-token="+b.e.IDToken(t, "sigstore", c),
		"--fulcio-url="+b.e.FulcioURL, "--rekor-url="+b.e.RekorURL, "--trusted-root="+b.e.TrustedRoot, d.String())
}

// cosign2TSA signs the legacy way with an RFC 3161 timestamp too.
func cosign2TSA(t *testing.T, b *bed, d name.Digest, c tbenv.Claims) {
	b.cosign(t, b.e.Cosign2, "sign", "--yes", "--identity-token="+b.e.IDToken(t, "sigstore", c),
		"--fulcio-url="+b.e.FulcioURL, "--rekor-url="+b.e.RekorURL, "--timestamp-server-url="+b.e.TSAURL+"/api/v1/timestamp",
		"--trusted-root="+b.e.TrustedRoot, d.String())
}

// cosign3 signs a Sigstore bundle referrer, Rekor v2 and the TSA.
func cosign3(t *testing.T, b *bed, d name.Digest, c tbenv.Claims) {
	b.cosign(t, b.e.Cosign3, "sign", "--yes", "--identity-token="+b.e.IDToken(t, "sigstore", c),
		"--signing-config="+b.e.SigningConfigV2, "--trusted-root="+b.e.TrustedRoot, d.String())
}

// sigil signs with sigil's sign package: both formats on Rekor v1 (config)
// or the bundle on Rekor v2 with the TSA (configV2).
func sigil(v2 bool) signer {
	return func(t *testing.T, b *bed, d name.Digest, c tbenv.Claims) {
		t.Helper()
		b.sigilSigner(t, c, v2).sign(t, d.String())
	}
}

type sigilSigner struct{ *sign.Signer }

func (s sigilSigner) sign(t *testing.T, refs ...string) {
	t.Helper()
	if _, err := s.SignImages(t.Context(), refs); err != nil {
		t.Fatalf("sigil signing %v: %v", refs, err)
	}
}

func (b *bed) sigilSigner(t *testing.T, c tbenv.Claims, v2 bool) sigilSigner {
	t.Helper()
	cfg, format := b.e.SigningConfig, artifact.FormatBoth
	if v2 {
		cfg, format = b.e.SigningConfigV2, artifact.FormatBundle
	}
	s := b.e.Signer(t, cfg, c, sign.WithFormat(format))
	return sigilSigner{s}
}

// TestBedAcceptImages: signatures by cosign 2 (legacy, Rekor v1), cosign 3
// (bundle, Rekor v2 and TSA) and sigil (both formats on Rekor v1; bundle on
// Rekor v2) pass on both registries, with the GitHub presets and with the
// exact identity.
func TestBedAcceptImages(t *testing.T) {
	t.Parallel()
	b := loadBed(t)
	signers := []struct {
		name string
		sign signer
		// want are the formats and Rekor versions of the passing
		// signatures, and the timestamp source of the first.
		want   []string
		source string
	}{
		{"cosign v2.6.5", cosign2, []string{"legacy/1"}, SourceTransparencyLog},
		{"cosign v2.6.5 with TSA", cosign2TSA, []string{"legacy/1"}, SourceTimestampAuthority},
		{"cosign v3.1.3", cosign3, []string{"bundle/2"}, SourceTimestampAuthority},
		{"sigil Rekor v1", sigil(false), []string{"bundle/1", "legacy/1"}, SourceTransparencyLog},
		{"sigil Rekor v2", sigil(true), []string{"bundle/2"}, SourceTimestampAuthority},
	}
	for _, sg := range signers {
		for _, reg := range b.e.Registries() {
			t.Run(sg.name+"/"+reg.Name, func(t *testing.T) {
				t.Parallel()
				d := reg.PushImage(t, tbenv.UniqueRepo(t), "v1", tbenv.RandomImage(t))
				sg.sign(t, b, d, claims(t, "", "", ""))
				for _, policy := range []struct {
					name string
					opts []PolicyOption
				}{{"preset", b.presetPolicy()}, {"exact", b.exactPolicy()}} {
					rep, err := b.verifier(t, nil, policy.opts).VerifyImages(t.Context(), []string{d.String()})
					if err != nil {
						t.Fatalf("%s policy: %v\n%s", policy.name, err, rep.Text())
					}
					checkPassed(t, rep)
					var got []string
					for _, s := range rep.Artifacts[0].Signatures {
						if s.Passed {
							got = append(got, fmt.Sprintf("%s/%d", s.Format, s.Log.Version))
						}
					}
					slices.Sort(got)
					if !slices.Equal(got, sg.want) {
						t.Errorf("%s policy: passed signatures %v, want %v", policy.name, got, sg.want)
					}
					if src := rep.Artifacts[0].Signatures[0].TimestampSource; !strings.Contains(src, sg.source) {
						t.Errorf("timestamp source %q, want %q", src, sg.source)
					}
					checkSCTVerified(t, rep)
				}
			})
		}
	}
}

// checkSCTVerified checks that each passing signature's certificate had its
// SCT checked: the bed's trusted root lists a CT log, and Fulcio embeds
// that log's SCT.
func checkSCTVerified(t *testing.T, rep Report) {
	t.Helper()
	for _, a := range rep.Artifacts {
		for _, s := range a.Signatures {
			if !s.Passed {
				continue
			}
			for _, c := range s.Checks {
				if c.Name == CheckCertificateChain && !strings.Contains(c.Reason, "certificate transparency timestamp verified") {
					t.Errorf("%s: the %s check passed without the SCT: %s", a.Reference, c.Name, c.Reason)
				}
			}
		}
	}
}

// TestBedAcceptIndex: sigil signs an index and its platform manifests; a
// recursive verification checks all three.
func TestBedAcceptIndex(t *testing.T) {
	t.Parallel()
	b := loadBed(t)
	refs := b.e.PushRandomIndex(t, tbenv.UniqueRepo(t), "v1")
	var in []string
	for _, r := range refs {
		in = append(in, r.String())
	}
	b.sigilSigner(t, claims(t, "", "", ""), false).sign(t, in...)
	rep, err := b.verifier(t, nil, b.presetPolicy(), WithRecursive(true)).VerifyImages(t.Context(), in)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Text())
	}
	if len(rep.Artifacts) != 6 {
		t.Errorf("got %d artifacts, want an index and two platform manifests on each registry", len(rep.Artifacts))
	}
}

// TestBedAcceptFiles: bundles from cosign v3.1.3 sign-blob (Rekor v2, TSA),
// cosign v2.6.5 sign-blob (its own bundle JSON, Rekor v1) and sigil (both
// logs) pass with the presets and the exact identity.
func TestBedAcceptFiles(t *testing.T) {
	t.Parallel()
	b := loadBed(t)
	for _, sg := range []struct {
		name string
		sign func(t *testing.T, file, bundle string)
	}{
		{"cosign v3.1.3", func(t *testing.T, file, bundle string) { cosign3Blob(t, b, file, bundle, claims(t, "", "", "")) }},
		{"cosign v2.6.5", func(t *testing.T, file, bundle string) {
			b.cosign(t, b.e.Cosign2, "sign-blob", "--yes", "--identity-token="+b.e.IDToken(t, "sigstore", claims(t, "", "", "")),
				"--fulcio-url="+b.e.FulcioURL, "--rekor-url="+b.e.RekorURL, "--trusted-root="+b.e.TrustedRoot,
				"--bundle="+bundle, file)
		}},
		{"sigil Rekor v1", func(t *testing.T, file, _ string) { sigilFile(t, b, file, false) }},
		{"sigil Rekor v2", func(t *testing.T, file, _ string) { sigilFile(t, b, file, true) }},
	} {
		t.Run(sg.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "checksums.txt", tbenv.UniqueRepo(t)+"\n")
			sg.sign(t, file, file+artifact.BundleSuffix)
			for _, policy := range [][]PolicyOption{b.presetPolicy(), b.exactPolicy()} {
				rep, err := b.verifier(t, nil, policy).VerifyFiles(t.Context(), []FileSpec{{Path: file}})
				if err != nil {
					t.Fatalf("%v\n%s", err, rep.Text())
				}
				checkPassed(t, rep)
			}
		})
	}
}

func cosign3Blob(t *testing.T, b *bed, file, bundle string, c tbenv.Claims) {
	t.Helper()
	b.cosign(t, b.e.Cosign3, "sign-blob", "--yes", "--identity-token="+b.e.IDToken(t, "sigstore", c),
		"--signing-config="+b.e.SigningConfigV2, "--trusted-root="+b.e.TrustedRoot, "--bundle="+bundle, file)
}

func sigilFile(t *testing.T, b *bed, file string, v2 bool) {
	t.Helper()
	if _, err := b.sigilSigner(t, claims(t, "", "", ""), v2).SignFiles(t.Context(), []string{file}); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// outcome is what a reject case verified.
type outcome struct {
	rep Report
	err error
}

// TestBedReject: each case makes a signature that must be refused, and
// names the check that refuses it.
func TestBedReject(t *testing.T) {
	t.Parallel()
	b := loadBed(t)
	ghcr, hub := b.e.GHCR, b.e.DockerHub
	image := func(t *testing.T, reg tbenv.Registry) name.Digest {
		return reg.PushImage(t, tbenv.UniqueRepo(t), "v1", tbenv.RandomImage(t))
	}
	verifyImage := func(t *testing.T, d name.Digest, tm root.TrustedMaterial, policy []PolicyOption, opts ...Option) outcome {
		rep, err := b.verifier(t, tm, policy, opts...).VerifyImages(t.Context(), []string{d.String()})
		return outcome{rep, err}
	}
	verifyFile := func(t *testing.T, f FileSpec) outcome {
		rep, err := b.verifier(t, nil, b.presetPolicy()).VerifyFiles(t.Context(), []FileSpec{f})
		return outcome{rep, err}
	}
	tests := []struct {
		name       string
		run        func(t *testing.T) outcome
		wantFailed []string
		wantError  string
		wantReason string
	}{{
		name:      "unsigned image on ghcr",
		run:       func(t *testing.T) outcome { return verifyImage(t, image(t, ghcr), nil, b.presetPolicy()) },
		wantError: "no signatures found",
	}, {
		name:      "unsigned image on docker hub",
		run:       func(t *testing.T) outcome { return verifyImage(t, image(t, hub), nil, b.exactPolicy()) },
		wantError: "no signatures found",
	}, {
		name: "another workflow (cosign 3)",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign3(t, b, d, claims(t, "", ".github/workflows/nightly.yml", ""))
			return verifyImage(t, d, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckIdentity},
		wantReason: "found subject https://github.com/sigil-dev/verify-bed/.github/workflows/nightly.yml@refs/tags/v1.2.3",
	}, {
		name: "another repository (cosign 2)",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign2(t, b, d, claims(t, "other/repo", "", ""))
			return verifyImage(t, d, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckIdentity},
		wantReason: "found subject https://github.com/other/repo/",
	}, {
		name: "another repository, exact identity (cosign 3)",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign3(t, b, d, claims(t, "other/repo", "", ""))
			return verifyImage(t, d, nil, b.exactPolicy())
		},
		wantFailed: []string{CheckIdentity},
		wantReason: "expected subject https://github.com/sigil-dev/verify-bed/",
	}, {
		name: "another issuer",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign2(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, nil, []PolicyOption{WithRepository(bedRepo)})
		},
		wantFailed: []string{CheckIdentity},
		wantReason: "issuer " + GitHubIssuer,
	}, {
		name: "issuer regexp mismatch",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign3(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, nil, []PolicyOption{WithCertificateIdentity(tbenv.Identity(bedRepo, bedWorkflow, bedRef)), WithIssuerRegexp(`^https://token\.actions\.githubusercontent\.com$`)})
		},
		wantFailed: []string{CheckIdentity},
		wantReason: "issuer matching",
	}, {
		name: "ref outside the glob",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign3(t, b, d, claims(t, "", "", "refs/heads/main"))
			return verifyImage(t, d, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckIdentity},
		wantReason: "@refs/heads/main",
	}, {
		name: "legacy payload altered after signing",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign2(t, b, d, claims(t, "", "", ""))
			rewriteLegacy(t, b, d, d, func(p []byte, ann map[string]string) []byte { return alter(p) })
			return verifyImage(t, d, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckSignature, CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "bundle statement altered after signing",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign3(t, b, d, claims(t, "", "", ""))
			moved := b.transplant(t, d)
			b.attachBundle(t, moved, b.alterBundle(t, b.bundleOf(t, d), func(pb *protobundle.Bundle) {
				env := pb.GetDsseEnvelope()
				env.Payload = bytes.Replace(env.Payload, []byte(`"subject"`), []byte(`"subject" `), 1)
			}))
			return verifyImage(t, moved, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckSignature, CheckTransparencyLog},
	}, {
		name: "legacy signature copied from another image",
		run: func(t *testing.T) outcome {
			src, dst := image(t, ghcr), image(t, ghcr)
			cosign2(t, b, src, claims(t, "", "", ""))
			rewriteLegacy(t, b, src, dst, nil)
			return verifyImage(t, dst, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckClaims},
		wantReason: "the signature was made for another image",
	}, {
		name: "bundle copied from another image",
		run: func(t *testing.T) outcome {
			src, dst := image(t, hub), image(t, hub)
			cosign3(t, b, src, claims(t, "", "", ""))
			b.attachBundle(t, dst, b.bundleOf(t, src))
			return verifyImage(t, dst, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckClaims},
		wantReason: "expected the statement's subject to name",
	}, {
		name: "certificate from a CA outside the trusted root (legacy)",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign2(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, b.otherFulcioRoot(t), b.presetPolicy())
		},
		wantFailed: []string{CheckCertificateChain},
		wantReason: "does not chain to a Fulcio CA of the trusted root",
	}, {
		name: "certificate from a CA outside the trusted root (bundle)",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign3(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, b.otherFulcioRoot(t), b.presetPolicy())
		},
		wantFailed: []string{CheckCertificateChain},
		wantReason: "does not chain to a Fulcio CA of the trusted root",
	}, {
		// The trusted root lists a CT log, but another than the one that
		// signed the certificate's SCT: as a certificate of a Fulcio whose
		// log the verifier does not trust.
		name: "SCT of a CT log the trusted root does not list (legacy)",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign2(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, b.e.TrustedRootWith(t, tbenv.AnotherCTLogKey(t, false)), b.presetPolicy())
		},
		wantFailed: []string{CheckCertificateChain},
		wantReason: "its certificate transparency timestamp does not verify",
	}, {
		// The trusted root lists the bed's CT log by its ID with another
		// key: the SCT's signature does not verify.
		name: "SCT not signed by the listed CT log's key (bundle)",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign3(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, b.e.TrustedRootWith(t, tbenv.AnotherCTLogKey(t, true)), b.presetPolicy())
		},
		wantFailed: []string{CheckCertificateChain},
		wantReason: "its certificate transparency timestamp does not verify",
	}, {
		name: "Rekor v1 entry removed",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign2(t, b, d, claims(t, "", "", ""))
			moved := b.transplant(t, d)
			rewriteLegacy(t, b, d, moved, func(p []byte, ann map[string]string) []byte { delete(ann, annotationBundle); return p })
			return verifyImage(t, moved, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
		wantReason: "carries no transparency log entry",
	}, {
		name: "Rekor v1 entry altered",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign2(t, b, d, claims(t, "", "", ""))
			moved := b.transplant(t, d)
			rewriteLegacy(t, b, d, moved, func(p []byte, ann map[string]string) []byte {
				ann[annotationBundle] = strings.Replace(ann[annotationBundle], `"integratedTime":`, `"integratedTime":1`, 1)
				return p
			})
			return verifyImage(t, moved, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "Rekor v2 inclusion proof altered",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign3(t, b, d, claims(t, "", "", ""))
			moved := b.transplant(t, d)
			b.attachBundle(t, moved, b.alterBundle(t, b.bundleOf(t, d), func(pb *protobundle.Bundle) {
				p := pb.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionProof()
				if len(p.Hashes) > 0 {
					p.Hashes[0][0] ^= 1
				} else {
					p.RootHash[0] ^= 1
				}
			}))
			return verifyImage(t, moved, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckTransparencyLog},
	}, {
		name: "Rekor v2 entry removed",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			cosign3(t, b, d, claims(t, "", "", ""))
			moved := b.transplant(t, d)
			b.attachBundle(t, moved, b.alterBundle(t, b.bundleOf(t, d), func(pb *protobundle.Bundle) {
				pb.VerificationMaterial.TlogEntries = nil
			}))
			return verifyImage(t, moved, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckTransparencyLog},
		wantReason: "carries no transparency log entry",
	}, {
		name: "certificate without a log or TSA time",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign3(t, b, d, claims(t, "", "", ""))
			moved := b.transplant(t, d)
			// Rekor v2 records no time: without the TSA's timestamp nothing
			// says when the short-lived certificate was used.
			b.attachBundle(t, moved, b.alterBundle(t, b.bundleOf(t, d), func(pb *protobundle.Bundle) {
				pb.VerificationMaterial.TimestampVerificationData = nil
			}))
			return verifyImage(t, moved, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckTimestamp, CheckCertificateChain},
		wantReason: "no trusted time",
	}, {
		name: "garbled bundle referrer",
		run: func(t *testing.T) outcome {
			d := image(t, hub)
			b.attachBundle(t, d, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verif`))
			return verifyImage(t, d, nil, b.presetPolicy())
		},
		wantFailed: []string{CheckFormat},
		wantReason: "truncated or garbled",
	}, {
		name: "format bundle required, only legacy",
		run: func(t *testing.T) outcome {
			d := image(t, ghcr)
			cosign2(t, b, d, claims(t, "", "", ""))
			return verifyImage(t, d, nil, b.presetPolicy(), WithFormat(artifact.FormatBundle))
		},
		wantFailed: []string{CheckFormat},
		wantReason: "format bundle is required; this is a legacy signature",
	}, {
		name: "file changed after signing",
		run: func(t *testing.T) outcome {
			f := writeFile(t, "app.tar.gz", "release\n")
			cosign3Blob(t, b, f, f+artifact.BundleSuffix, claims(t, "", "", ""))
			if err := os.WriteFile(f, []byte("tampered\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return verifyFile(t, FileSpec{Path: f})
		},
		wantFailed: []string{CheckClaims, CheckSignature},
		wantReason: "the file changed after signing",
	}, {
		name: "bundle for another file",
		run: func(t *testing.T) outcome {
			f, other := writeFile(t, "app.tar.gz", "release\n"), writeFile(t, "other.tar.gz", "other\n")
			cosign3Blob(t, b, other, other+artifact.BundleSuffix, claims(t, "", "", ""))
			return verifyFile(t, FileSpec{Path: f, BundlePath: other + artifact.BundleSuffix})
		},
		wantFailed: []string{CheckClaims, CheckSignature},
	}, {
		name: "file signed by another workflow",
		run: func(t *testing.T) outcome {
			f := writeFile(t, "app.tar.gz", "release\n")
			cosign3Blob(t, b, f, f+artifact.BundleSuffix, claims(t, "", ".github/workflows/pr.yml", ""))
			return verifyFile(t, FileSpec{Path: f})
		},
		wantFailed: []string{CheckIdentity},
	}, {
		name: "truncated bundle JSON",
		run: func(t *testing.T) outcome {
			f := writeFile(t, "app.tar.gz", "release\n")
			cosign3Blob(t, b, f, f+artifact.BundleSuffix, claims(t, "", "", ""))
			raw, err := os.ReadFile(f + artifact.BundleSuffix)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f+artifact.BundleSuffix, raw[:len(raw)*2/3], 0o644); err != nil {
				t.Fatal(err)
			}
			return verifyFile(t, FileSpec{Path: f})
		},
		wantFailed: []string{CheckFormat},
		wantReason: "truncated or garbled",
	}, {
		name: "garbled bundle JSON",
		run: func(t *testing.T) outcome {
			f := writeFile(t, "app.tar.gz", "release\n")
			if err := os.WriteFile(f+artifact.BundleSuffix, []byte("\x1f\x8b\x08 not json"), 0o644); err != nil {
				t.Fatal(err)
			}
			return verifyFile(t, FileSpec{Path: f})
		},
		wantFailed: []string{CheckFormat},
		wantReason: "truncated or garbled",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.run(t)
			if o.err == nil || o.rep.Verified {
				t.Fatalf("accepted:\n%s", o.rep.Text())
			}
			if len(o.rep.Artifacts) != 1 {
				t.Fatalf("got %d artifacts, want 1", len(o.rep.Artifacts))
			}
			a := o.rep.Artifacts[0]
			if tc.wantError != "" && !strings.Contains(a.Error, tc.wantError) {
				t.Errorf("artifact error %q, want it to contain %q", a.Error, tc.wantError)
			}
			if tc.wantFailed == nil {
				return
			}
			if got := failedChecks(a); !slices.Equal(got, tc.wantFailed) {
				t.Errorf("failed checks %v, want %v\n%s", got, tc.wantFailed, o.rep.Text())
			}
			first, ok := a.Signatures[0].Failed()
			if !ok {
				t.Fatal("no failed check")
			}
			if !strings.Contains(first.Reason, tc.wantReason) {
				t.Errorf("%s reason %q, want it to contain %q", first.Name, first.Reason, tc.wantReason)
			}
			if !strings.Contains(o.err.Error(), first.Name+" failed: ") {
				t.Errorf("the error does not name the failed check:\n%v", o.err)
			}
			t.Logf("refused: %s failed: %s", first.Name, first.Reason)
		})
	}
}

// transplant copies d's image to a new repository of the same registry,
// without its signatures: the digest is the same, so signatures made for d
// are valid there too, and tests can attach altered ones alone.
func (b *bed) transplant(t *testing.T, d name.Digest) name.Digest {
	t.Helper()
	img, err := remote.Image(d, b.ropt...)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(d.RegistryStr() + "/" + tbenv.UniqueRepo(t) + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img, b.ropt...); err != nil {
		t.Fatal(err)
	}
	return dst.Context().Digest(d.DigestStr())
}

// rewriteLegacy writes src's legacy signature layers as dst's .sig image,
// each payload and annotations passed through edit when given.
func rewriteLegacy(t *testing.T, b *bed, src, dst name.Digest, edit func(payload []byte, ann map[string]string) []byte) {
	t.Helper()
	srcTag, _ := ociremote.SignatureTag(src)
	dstTag, _ := ociremote.SignatureTag(dst)
	img, err := remote.Image(srcTag, b.ropt...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := empty.Image
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		p, err := readLayer(l, maxPayloadSize)
		if err != nil {
			t.Fatal(err)
		}
		ann := map[string]string{}
		for k, v := range desc.Annotations {
			ann[k] = v
		}
		if edit != nil {
			p = edit(p, ann)
		}
		out, err = ggcrmutate.Append(out, ggcrmutate.Addendum{Layer: ggcrstatic.NewLayer(p, desc.MediaType), Annotations: ann})
		if err != nil {
			t.Fatal(err)
		}
	}
	out = ggcrmutate.ConfigMediaType(ggcrmutate.MediaType(out, types.OCIManifestSchema1), types.OCIConfigJSON)
	if err := remote.Write(dstTag, out, b.ropt...); err != nil {
		t.Fatal(err)
	}
}

// bundleOf reads the bundle of d's one bundle referrer.
func (b *bed) bundleOf(t *testing.T, d name.Digest) []byte {
	t.Helper()
	idx, err := ociremote.Referrers(d, "", ociremote.WithRemoteOptions(b.ropt...))
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range idx.Manifests {
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()), b.ropt...)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			continue
		}
		raw, err := readLayer(ls[0], maxBundleSize)
		if err != nil {
			t.Fatal(err)
		}
		if json.Valid(raw) {
			return raw
		}
	}
	t.Fatalf("%s has no bundle referrer", d)
	return nil
}

func (b *bed) attachBundle(t *testing.T, d name.Digest, raw []byte) {
	t.Helper()
	if err := ociremote.WriteAttestationNewBundleFormat(d, raw, artifact.CosignSignPredicateType, ociremote.WithRemoteOptions(b.ropt...)); err != nil {
		t.Fatal(err)
	}
}

// alterBundle returns the bundle JSON raw after edit, without validating it.
func (b *bed) alterBundle(t *testing.T, raw []byte, edit func(*protobundle.Bundle)) []byte {
	t.Helper()
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		t.Fatal(err)
	}
	edit(&pb)
	out, err := protojson.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// otherFulcioRoot is the bed's trusted root with its Fulcio CA replaced by
// a CA of another Sigstore: the logs and TSA still vouch for the
// signatures, but no certificate chains.
func (b *bed) otherFulcioRoot(t *testing.T) root.TrustedMaterial {
	t.Helper()
	other, _, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	return b.e.TrustedRootWith(t, func(pb *prototrustroot.TrustedRoot) {
		for _, c := range pb.GetCertificateAuthorities() {
			for _, cert := range c.GetCertChain().GetCertificates() {
				cert.RawBytes = other.Raw
			}
		}
	})
}

// TestBedKeyed: signatures made with a key, not keylessly (cosign sign
// --key, sign-blob --key): accepted with WithPublicKey of that key, which
// the report names; refused with another key, and by an identity policy
// (no certificate).
func TestBedKeyed(t *testing.T) {
	t.Parallel()
	b := loadBed(t)
	dir := t.TempDir()
	pass := []string{"COSIGN_PASSWORD=bed"}
	keyPair := func(name string) (string, []byte) {
		prefix := filepath.Join(dir, name)
		b.cosignEnv(t, pass, b.e.Cosign2, "generate-key-pair", "--output-key-prefix="+prefix)
		pub, err := os.ReadFile(prefix + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		return prefix + ".key", pub
	}
	key, pub := keyPair("release")
	_, otherPub := keyPair("other")
	policyFor := func(pemKey []byte) []PolicyOption {
		k, err := ParsePublicKey(pemKey)
		if err != nil {
			t.Fatal(err)
		}
		return []PolicyOption{WithPublicKey(k)}
	}

	var images []string
	for _, reg := range b.e.Registries() {
		d := reg.PushImage(t, tbenv.UniqueRepo(t), "v1", tbenv.RandomImage(t))
		b.cosignEnv(t, pass, b.e.Cosign2, "sign", "--yes", "--key="+key, "--rekor-url="+b.e.RekorURL, "--trusted-root="+b.e.TrustedRoot, d.String())
		images = append(images, d.String())
	}
	file := filepath.Join(dir, "app.tar.gz")
	if err := os.WriteFile(file, []byte("keyed release"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.cosignEnv(t, pass, b.e.Cosign2, "sign-blob", "--yes", "--key="+key, "--rekor-url="+b.e.RekorURL, "--bundle="+file+artifact.BundleSuffix, file)

	rep, err := b.verifier(t, nil, policyFor(pub)).VerifyImages(t.Context(), images)
	if err != nil {
		t.Fatalf("images with their key: %v\n%s", err, rep.Text())
	}
	frep, err := b.verifier(t, nil, policyFor(pub)).VerifyFiles(t.Context(), []FileSpec{{Path: file}})
	if err != nil {
		t.Fatalf("file with its key: %v\n%s", err, frep.Text())
	}
	for _, a := range append(rep.Artifacts, frep.Artifacts...) {
		s := a.Signatures[0]
		if !s.Passed || s.Key == "" || s.Key != rep.Policy.PublicKey || s.Identity != "" || !slices.ContainsFunc(s.Checks, func(c Check) bool { return c.Name == CheckKey && c.Passed }) {
			t.Errorf("%s: signature %+v, want one checked against the key %s", a.Reference, s, rep.Policy.PublicKey)
		}
	}
	if !strings.Contains(rep.Text(), "verified against the specified public key") {
		t.Errorf("the report does not say a key was checked:\n%s", rep.Text())
	}

	rep, err = b.verifier(t, nil, policyFor(otherPub)).VerifyImages(t.Context(), images[:1])
	if err == nil || !slices.Contains(failedChecks(rep.Artifacts[0]), CheckSignature) {
		t.Errorf("another key: %v, failed %v", err, failedChecks(rep.Artifacts[0]))
	}
	rep, err = b.verifier(t, nil, b.exactPolicy()).VerifyImages(t.Context(), images[:1])
	if err == nil || !strings.Contains(rep.Text(), "made with a key") {
		t.Errorf("an identity policy accepted a key-signed image (%v):\n%s", err, rep.Text())
	}
}
