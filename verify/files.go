package verify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigil-dev/sigil/artifact"
)

// FileSpec names a file to verify, or only its digest, and its bundle.
type FileSpec struct {
	// Path is the file.
	Path string
	// Digest, in place of Path, is the artifact's digest, sha256:<hex>
	// (or sha384:, sha512:),
	// for a caller who holds the digest and not the file. A message
	// signature must then be over that digest, a DSSE statement must
	// name it; BundlePath is required.
	Digest string
	// BundlePath is its Sigstore bundle. The default is Path +
	// artifact.BundleSuffix.
	BundlePath string
	// Attestations are bundles holding attestations of the file, read
	// when attestations are required (WithAttestations), besides
	// BundlePath. The default is every *.intoto.sigstore.json
	// (AttestationBundleSuffix) in Path's directory.
	Attestations []string
}

// VerifyFiles verifies each file against its bundle: a Sigstore bundle (as
// `cosign sign-blob --bundle` writes with cosign 3, or with cosign 2 and
// --new-bundle-format) or the older cosign signature bundle that cosign 2
// wrote by default. The signature must be over the file's bytes (or, for a
// DSSE bundle, its statement must name the file's SHA-256 digest).
//
// The error is nil only when every file passed; otherwise it is an *Error.
func (v *Verifier) VerifyFiles(ctx context.Context, files []FileSpec) (Report, error) {
	arts := make([]Artifact, len(files))
	forEach(len(files), v.o.concurrency, func(i int) { arts[i] = v.verifyFile(ctx, files[i]) })
	return v.finish(ctx, arts)
}

func (v *Verifier) verifyFile(ctx context.Context, f FileSpec) Artifact {
	bp := f.BundlePath
	if bp == "" && f.Digest == "" {
		bp = f.Path + artifact.BundleSuffix
	}
	a := Artifact{Kind: "file", Target: artifact.Target{Reference: f.Path}, Bundle: bp}
	if f.Digest != "" {
		a.Reference = f.Digest
	}
	if err := ctx.Err(); err != nil {
		a.Error = err.Error()
		return a
	}
	var digest []byte
	alg := "sha256"
	var err error
	switch {
	case f.Digest != "" && bp == "":
		a.Error = fmt.Sprintf("digest %s: name its bundle (a digest has no file to find FILE%s beside)", f.Digest, artifact.BundleSuffix)
		return a
	case f.Digest != "":
		alg, digest, err = ParseDigest(f.Digest)
	default:
		digest, err = fileDigest(f.Path)
	}
	if err != nil {
		a.Error = err.Error()
		return a
	}
	a.Digest = alg + ":" + hex.EncodeToString(digest)
	raw, err := readFileLimited(bp, maxBundleSize)
	if errors.Is(err, fs.ErrNotExist) {
		if len(v.o.attestations) > 0 {
			// The attestations may stand in for the signature.
			a.Attestations, a.Provenance = v.checkAttestations(v.fileAttestations(f, digest, alg))
			a.Passed = allPassed(a.Attestations)
			return a
		}
		a.Error = fmt.Sprintf("no signature found: the bundle %s does not exist (sign the file with `cosign sign-blob --bundle %s`, or name its bundle)", bp, bp)
		return a
	}
	c := candidate{location: bp, digest: digest, alg: alg, kind: "file", format: artifact.FormatBundle}
	if f.Digest == "" {
		c.signed = func() (io.ReadCloser, error) { return os.Open(f.Path) }
	}
	if err != nil {
		c.err = fmt.Errorf("reading the bundle: %w", err)
	} else {
		b, format, err := parseBundleJSON(raw, digest, v.policy.key != nil)
		if format != "" {
			c.format = format
		}
		if err != nil {
			c.err = fmt.Errorf("%s: %w", bp, err)
		} else {
			c.entity = b
			if overDigest(b, alg, digest) {
				// The file was read once, for its digest: the signature is
				// checked over that, not over the file read twice more.
				c.signed = nil
			}
		}
	}
	// Files have one bundle, in whichever format: the format option is
	// about images.
	s := v.evaluateFile(c)
	a.Signatures = []Signature{s}
	a.Passed = s.Passed
	if len(v.o.attestations) > 0 {
		atts := v.fileAttestations(f, digest, alg)
		// The file's own bundle is an attestation when its statement is
		// of another type than a cosign signature.
		if c.entity != nil {
			if st, err := statementOf(c.entity); err == nil && st.PredicateType != artifact.CosignSignPredicateType {
				c.attestation, c.statement, c.signed = true, st, nil
				atts = append([]candidate{c}, atts...)
			}
		}
		a.Attestations, a.Provenance = v.checkAttestations(atts)
		a.Passed = allPassed(a.Attestations)
	}
	return a
}

// overDigest reports whether e's message signature can be checked over
// the file's digest alone, as it would be over the file: the bundle names
// the same SHA-256 digest and the certificate's key signs digests (an
// Ed25519 signature is over the whole message). Otherwise the file is read
// again.
func overDigest(e sgverify.SignedEntity, alg string, digest []byte) bool {
	sc, err := e.SignatureContent()
	if err != nil || sc.MessageSignatureContent() == nil || alg != "sha256" {
		return false
	}
	m := sc.MessageSignatureContent()
	if m.DigestAlgorithm() != "SHA2_256" || !bytes.Equal(m.Digest(), digest) {
		return false
	}
	vc, err := e.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return false
	}
	switch vc.Certificate().PublicKey.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return true
	}
	return false
}

// allPassed reports whether every required attestation passed.
func allPassed(as []Attestation) bool {
	for _, a := range as {
		if !a.Passed {
			return false
		}
	}
	return true
}

// evaluateFile checks a file's signature whatever the image format option
// says.
func (v *Verifier) evaluateFile(c candidate) Signature {
	w := *v
	w.o.format = artifact.FormatAny
	return w.evaluate(c)
}

func fileDigest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("reading the file: %w", err)
	}
	return h.Sum(nil), nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a bundle may have", path, st.Size(), limit)
	}
	return readLimited(f, limit)
}

// digestSizes are the digests an artifact may be given as, by algorithm.
var digestSizes = map[string]int{"sha256": sha256.Size, "sha384": sha512.Size384, "sha512": sha512.Size}

// ParseDigest reads an artifact's digest, ALG:HEX with ALG sha256, sha384
// or sha512 (npm's provenance subjects are sha512).
func ParseDigest(s string) (alg string, digest []byte, err error) {
	alg, hx, ok := strings.Cut(s, ":")
	d, err := hex.DecodeString(hx)
	if size, known := digestSizes[alg]; !ok || !known || err != nil || len(d) != size {
		return "", nil, fmt.Errorf("digest %q: want sha256:, sha384: or sha512: and the digest in hex", s)
	}
	return alg, d, nil
}
