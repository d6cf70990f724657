package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/artifact"
)

// SignFiles signs each file and writes its Sigstore bundle next to it as
// <file>.sigstore.json, the bundle `cosign sign-blob --bundle` writes. Every
// file is read before anything is signed, so a missing file changes nothing.
func (s *Signer) SignFiles(ctx context.Context, paths []string) ([]File, error) {
	contents := make([][]byte, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		contents[i] = b
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
			sum := sha256.Sum256(contents[i])
			sb, err := s.sign(gctx, &sgsign.PlainData{Data: contents[i]}, s.tlog, s.tsas)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out := p + artifact.BundleSuffix
			if err := os.WriteFile(out, sb.json, 0o644); err != nil {
				return fmt.Errorf("writing the bundle of %s: %w", p, err)
			}
			results[i] = File{Path: p, SHA256: hex.EncodeToString(sum[:]), Bundle: out, Log: sb.entry}
			s.o.progress(fmt.Sprintf("signed %s (bundle %s)", p, out))
			return nil
		})
	}
	return results, g.Wait()
}
