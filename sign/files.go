package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/artifact"
)

// SignFiles signs each file and writes its Sigstore bundle next to it as
// <file>.sigstore.json, the bundle `cosign sign-blob --bundle` writes. Every
// file is read before anything is signed, so a missing file changes
// nothing. A file is streamed through SHA-256 and its digest signed, so
// its size costs no memory (unless WithKeypair gave a key pair that is not
// a DigestSigner: then each file is read whole when it is signed).
func (s *Signer) SignFiles(ctx context.Context, paths []string) ([]File, error) {
	digests := make([][]byte, len(paths))
	for i, p := range paths {
		d, err := fileSHA256(p)
		if err != nil {
			return nil, err
		}
		digests[i] = d
	}
	if len(paths) == 0 {
		return nil, nil
	}
	if _, err := s.certs.Chain(ctx); err != nil {
		return nil, err
	}
	results := make([]File, len(paths))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.o.concurrency)
	for i, p := range paths {
		g.Go(func() error {
			sb, err := s.signFile(gctx, p, digests[i])
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out := p + artifact.BundleSuffix
			if err := os.WriteFile(out, sb.json, 0o644); err != nil {
				return fmt.Errorf("writing the bundle of %s: %w", p, err)
			}
			results[i] = File{Path: p, SHA256: hex.EncodeToString(digests[i]), Bundle: out, Log: sb.entry}
			s.progress(fmt.Sprintf("signed %s (bundle %s)", p, out))
			return nil
		})
	}
	return results, g.Wait()
}

// signFile signs the file at p whose SHA-256 is digest.
func (s *Signer) signFile(ctx context.Context, p string, digest []byte) (*signed, error) {
	if kp, ok := s.keypair.(DigestSigner); ok {
		return s.signDigest(ctx, kp, digest, s.tlog, s.tsas)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hex.EncodeToString(digest) {
		return nil, fmt.Errorf("%s changed while the run was signing", p)
	}
	return s.sign(ctx, &sgsign.PlainData{Data: b}, s.tlog, s.tsas)
}

// fileSHA256 streams the file at p through SHA-256.
func fileSHA256(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return h.Sum(nil), nil
}
