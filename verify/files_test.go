package verify

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/artifact"
)

func TestVerifyFiles(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	content := []byte("sha256  sigil_1.0.0_linux_amd64.tar.gz\n")
	// cosignV2Bundle is the JSON cosign 2's sign-blob --bundle wrote.
	cosignV2Bundle := func(t *testing.T, blob []byte) []byte {
		l := signMessage(t, vs, testIdentity, testIssuer, blob, soon())
		b, err := json.Marshal(map[string]any{
			"base64Signature": l.b64sig,
			"cert":            base64.StdEncoding.EncodeToString(l.cert),
			"rekorBundle":     l.rekor,
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		// bundle returns the bundle's bytes, or nil to write none.
		bundle func(t *testing.T) []byte
		// change replaces the file's contents after signing.
		change     []byte
		named      bool
		wantFailed []string
		wantError  string
		wantReason string
	}{{
		name: "bundle",
		bundle: func(t *testing.T) []byte {
			return bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, content, soon()))
		},
	}, {
		name:  "bundle at a named path",
		named: true,
		bundle: func(t *testing.T) []byte {
			return bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, content, soon()))
		},
	}, {
		name:   "cosign 2 signature bundle",
		bundle: func(t *testing.T) []byte { return cosignV2Bundle(t, content) },
	}, {
		name: "file changed after signing",
		bundle: func(t *testing.T) []byte {
			return bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, content, soon()))
		},
		change:     []byte("sha256  evil.tar.gz\n"),
		wantFailed: []string{CheckClaims, CheckSignature},
	}, {
		name: "bundle for another file",
		bundle: func(t *testing.T) []byte {
			return bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, []byte("other"), soon()))
		},
		wantFailed: []string{CheckClaims, CheckSignature},
	}, {
		name:       "cosign 2 bundle for another file",
		bundle:     func(t *testing.T) []byte { return cosignV2Bundle(t, []byte("other")) },
		wantFailed: []string{CheckSignature, CheckTransparencyLog, CheckTimestamp, CheckCertificateChain},
	}, {
		name: "another identity",
		bundle: func(t *testing.T) []byte {
			return bundleJSON(t, signBlobBundle(t, vs, "https://github.com/evil/x/.github/workflows/x.yml@refs/heads/main", testIssuer, content, soon()))
		},
		wantFailed: []string{CheckIdentity},
	}, {
		name: "truncated bundle",
		bundle: func(t *testing.T) []byte {
			b := bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, content, soon()))
			return b[:len(b)/2]
		},
		wantFailed: []string{CheckFormat},
		wantReason: "truncated or garbled",
	}, {
		name:       "garbled bundle",
		bundle:     func(t *testing.T) []byte { return []byte("\x00\xffnot json at all") },
		wantFailed: []string{CheckFormat},
		wantReason: "truncated or garbled",
	}, {
		name:       "JSON that is no bundle",
		bundle:     func(t *testing.T) []byte { return []byte(`{"hello":"world"}`) },
		wantFailed: []string{CheckFormat},
		wantReason: "no mediaType",
	}, {
		name: "bundle without its log entry",
		bundle: func(t *testing.T) []byte {
			b := signBlobBundle(t, vs, testIdentity, testIssuer, content, soon())
			b.VerificationMaterial.TlogEntries = nil
			return bundleJSON(t, b)
		},
		wantFailed: []string{CheckTransparencyLog},
	}, {
		name: "bundle whose log entry lost its inclusion proof",
		bundle: func(t *testing.T) []byte {
			b := signBlobBundle(t, vs, testIdentity, testIssuer, content, soon())
			b.VerificationMaterial.TlogEntries[0].InclusionProof = nil
			return bundleJSON(t, b)
		},
		wantFailed: []string{CheckTransparencyLog},
		wantReason: "inclusion proof missing",
	}, {
		name:      "no bundle",
		wantError: "no signature found",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			spec := FileSpec{Path: filepath.Join(dir, "checksums.txt")}
			if tc.named {
				spec.BundlePath = filepath.Join(dir, "sig.json")
			}
			if err := os.WriteFile(spec.Path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.bundle != nil {
				bp := spec.BundlePath
				if bp == "" {
					bp = spec.Path + artifact.BundleSuffix
				}
				if err := os.WriteFile(bp, tc.bundle(t), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.change != nil {
				if err := os.WriteFile(spec.Path, tc.change, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			v := mustVerifier(t, vs, mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)), WithFormat(artifact.FormatBundle))
			rep, err := v.VerifyFiles(context.Background(), []FileSpec{spec})
			pass := tc.wantFailed == nil && tc.wantError == ""
			if pass != (err == nil) || rep.Verified != pass {
				t.Fatalf("VerifyFiles: verified %v, error %v; want verified %v\n%s", rep.Verified, err, pass, rep.Text())
			}
			a := rep.Artifacts[0]
			if err != nil {
				var ve *Error
				if !errors.As(err, &ve) {
					t.Fatalf("error %T, want *Error", err)
				}
			}
			if tc.wantError != "" && !strings.Contains(a.Error, tc.wantError) {
				t.Errorf("artifact error %q, want %q", a.Error, tc.wantError)
			}
			if tc.wantFailed != nil {
				if diff := cmp.Diff(tc.wantFailed, failedChecks(a)); diff != "" {
					t.Errorf("failed checks (-want +got):\n%s\n%s", diff, rep.Text())
				}
				if first, _ := a.Signatures[0].Failed(); !strings.Contains(first.Reason, tc.wantReason) {
					t.Errorf("reason %q, want %q", first.Reason, tc.wantReason)
				}
			}
			if pass {
				checkPassed(t, rep)
			}
		})
	}
}

func TestVerifyFilesMissingFile(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	v := mustVerifier(t, vs, mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)))
	rep, err := v.VerifyFiles(context.Background(), []FileSpec{{Path: filepath.Join(t.TempDir(), "nope")}})
	if err == nil || !strings.Contains(rep.Artifacts[0].Error, "reading the file") {
		t.Fatalf("error %v, artifact error %q", err, rep.Artifacts[0].Error)
	}
	if _, err := v.VerifyFiles(context.Background(), nil); err == nil {
		t.Error("nothing to verify passed")
	}
}

// TestVerifyDigests: an artifact held as its digest, with its bundle: a
// message signature must be over that digest, a DSSE statement must name
// it as a subject.
func TestVerifyDigests(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	content := []byte("release contents")
	sum := sha256Sum(content)
	digest := "sha256:" + hexOf(sum)
	other := "sha256:" + hexOf(sha256Sum([]byte("other")))
	blob := bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, content, soon()))
	stmt := bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor(digest, "https://slsa.dev/provenance/v1"), soon()))
	tests := []struct {
		name       string
		digest     string
		bundle     []byte
		noBundle   bool
		wantFailed []string
		wantError  string
	}{
		{name: "message signature", digest: digest, bundle: blob},
		{name: "statement subject", digest: digest, bundle: stmt},
		{name: "message signature over another digest", digest: other, bundle: blob, wantFailed: []string{CheckClaims, CheckSignature}},
		{name: "statement for another subject", digest: other, bundle: stmt, wantFailed: []string{CheckClaims}},
		{name: "no bundle named", digest: digest, noBundle: true, wantError: "name its bundle"},
		{name: "a sha512 digest of a sha256 signature", digest: "sha512:" + hexOf(sha512Sum(content)), bundle: blob, wantFailed: []string{CheckClaims, CheckSignature}},
		{name: "not a digest", digest: "md5:" + hexOf(sum[:16]), bundle: blob, wantError: "want sha256:, sha384: or sha512:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := FileSpec{Digest: tc.digest}
			if !tc.noBundle {
				spec.BundlePath = filepath.Join(t.TempDir(), "bundle.json")
				if err := os.WriteFile(spec.BundlePath, tc.bundle, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			v := mustVerifier(t, vs, mustPolicy(t, WithCertificateIdentity(testIdentity), WithIssuer(testIssuer)))
			rep, err := v.VerifyFiles(t.Context(), []FileSpec{spec})
			pass := tc.wantFailed == nil && tc.wantError == ""
			if pass != (err == nil) {
				t.Fatalf("verified %v (%v), want %v\n%s", err == nil, err, pass, rep.Text())
			}
			a := rep.Artifacts[0]
			if a.Reference != tc.digest {
				t.Errorf("reported as %q, want the digest", a.Reference)
			}
			if tc.wantError != "" && !strings.Contains(a.Error, tc.wantError) {
				t.Errorf("error %q, want %q", a.Error, tc.wantError)
			}
			if tc.wantFailed != nil {
				if diff := cmp.Diff(tc.wantFailed, failedChecks(a)); diff != "" {
					t.Errorf("failed checks (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }

func sha512Sum(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}

// TestOverDigest: a file's message signature is checked over the digest
// already computed only when that is the same check as over the file.
func TestOverDigest(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	content := []byte("sigil_1.0.0_linux_amd64.tar.gz")
	sum := sha256.Sum256(content)
	other := sha256.Sum256([]byte("other"))
	msg := bundleJSON(t, signBlobBundle(t, vs, testIdentity, testIssuer, content, soon()))
	dsse := bundleJSON(t, signBundle(t, vs, testIdentity, testIssuer, statementFor("sha256:"+hex.EncodeToString(sum[:]), artifact.CosignSignPredicateType), soon()))
	tests := []struct {
		name   string
		bundle []byte
		alg    string
		digest []byte
		want   bool
	}{
		{"message signature over the file's SHA-256", msg, "sha256", sum[:], true},
		{"the bundle names another digest", msg, "sha256", other[:], false},
		{"the file's digest is not SHA-256", msg, "sha512", sum[:], false},
		{"a DSSE statement", dsse, "sha256", sum[:], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _, err := parseBundleJSON(tc.bundle, tc.digest, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := overDigest(e, tc.alg, tc.digest); got != tc.want {
				t.Errorf("overDigest = %v, want %v", got, tc.want)
			}
		})
	}
}
