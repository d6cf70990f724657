package sign

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// SignImages signs every reference in refs (tags or digests). All references
// are parsed and resolved before anything is signed; a reference that cannot
// be resolved fails the run and nothing is written. The same digest listed
// twice in one repository is signed once.
func (s *Signer) SignImages(ctx context.Context, refs []string) ([]Image, error) {
	targets, err := s.plan(ctx, refs)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, nil
	}
	// Fail on the token or Fulcio before anything reaches a log.
	if _, err := s.certs.Chain(ctx); err != nil {
		return nil, err
	}
	results := make([]Image, len(targets))
	var bundles onceMap[*signed]
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.o.concurrency)
	for i, t := range targets {
		g.Go(func() error {
			img, err := s.signTarget(gctx, t, &bundles)
			if err != nil {
				return fmt.Errorf("%s: %w", t.Ref, err)
			}
			results[i] = img
			s.o.progress(fmt.Sprintf("signed %s (%s)", t.Ref, strings.Join(formats(img), ", ")))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return results, err
	}
	return results, nil
}

func formats(img Image) []string {
	var f []string
	for _, s := range img.Signatures {
		f = append(f, string(s.Format))
	}
	return f
}

// plan resolves refs into the manifests that will be signed, without
// signing anything; any reference that fails fails the plan.
func (s *Signer) plan(ctx context.Context, refs []string) ([]registry.Target, error) {
	var errs []error
	seen := map[string]bool{}
	var targets []registry.Target
	for _, r := range registry.ResolveAll(ctx, refs, s.o.auth, s.o.recursive, s.o.concurrency, s.o.remote...) {
		if r.Err != nil {
			errs = append(errs, r.Err)
			continue
		}
		for _, t := range r.Targets {
			if !seen[t.Ref.String()] {
				seen[t.Ref.String()] = true
				targets = append(targets, t)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return targets, nil
}

func (s *Signer) ropts(ctx context.Context) ociremote.Option {
	return ociremote.WithRemoteOptions(append(append([]remote.Option{}, s.o.remote...), remote.WithContext(ctx))...)
}

func (s *Signer) signTarget(ctx context.Context, t registry.Target, bundles *onceMap[*signed]) (Image, error) {
	img := Image{Target: t.Target}
	if s.o.format.Includes(artifact.FormatBundle) {
		// One statement per digest: it names no repository.
		sb, err := bundles.do(t.Digest, func() (*signed, error) { return s.signStatement(ctx, t.Ref) })
		if err != nil {
			return img, err
		}
		sig, err := s.pushBundle(ctx, t.Ref, sb)
		if err != nil {
			return img, err
		}
		img.Signatures = append(img.Signatures, sig)
	}
	if s.o.format.Includes(artifact.FormatLegacy) {
		sig, err := s.signLegacy(ctx, t.Ref)
		if err != nil {
			return img, err
		}
		img.Signatures = append(img.Signatures, sig)
	}
	return img, nil
}
