package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
)

// SignImages signs every reference in refs (tags or digests). All references
// are parsed and resolved before anything is signed; a reference that cannot
// be resolved fails the run and nothing is written. The same digest listed
// twice in one repository is signed once.
//
// With WithSkipSigned, what the run's identity signed already is kept, not
// signed again. Every new signature is logged, then pushed, then confirmed
// in the registry (see write). A signature that was logged but could not
// be put in the registry stays in the result, with its log entry and its
// Error, and fails the run; the other targets are still signed.
func (s *Signer) SignImages(ctx context.Context, refs []string) ([]Image, error) {
	targets, from, err := s.plan(ctx, refs)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, nil
	}
	atts, err := s.planAttestations(ctx, refs, targets, from)
	if err != nil {
		return nil, err
	}
	// The certificate is requested while what is signed already is read
	// (one round trip to the token endpoint and one to Fulcio off a
	// re-run's path); the token's or Fulcio's failure fails the run before
	// anything reaches a log.
	chainOf := sync.OnceValues(func() ([]*x509.Certificate, error) { return s.certs.Chain(ctx) })
	go chainOf()
	existing, ferr := s.findExisting(ctx, targets, func(context.Context) (*x509.Certificate, error) {
		chain, err := chainOf()
		if err != nil {
			return nil, err
		}
		return chain[0], nil
	})
	if _, err := chainOf(); err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	// A bundle names only the digest: one found in any repository of a
	// digest serves them all.
	reuse := map[string]*Existing{}
	attReuse := map[string]*ExistingAttestation{}
	for i, t := range targets {
		if existing[i].Bundle != nil && existing[i].BundleJSON != nil {
			reuse[t.Digest] = &existing[i]
		}
		for _, pi := range atts.of[t.Ref.String()] {
			a, err := s.existingAttestation(ctx, existing[i], atts.preds[pi], artifact.FormatBundle)
			if err != nil {
				return nil, err
			}
			if a != nil && a.BundleJSON != nil {
				attReuse[fmt.Sprint(pi, t.Digest)] = a
			}
		}
	}

	order := signingOrder(targets, s.o.concurrency)
	warmed := s.warmPushes(ctx, targets, order, existing)
	defer warmed()

	results := make([]Image, len(targets))
	var (
		mu     sync.Mutex
		writes []*write
		errs   []error
	)
	var bundles, attBundles onceMap[*signed]
	c := s.newConfirmer()
	g := new(errgroup.Group)
	g.SetLimit(s.o.concurrency)
	// A target's slot is let go once its log entries are made: its pushes
	// run beside the next targets' entries, at most concurrency targets'
	// at once (a target whose pushes find no room waits, holding its
	// slot, so the goroutines stay bounded).
	pushing := make(chan struct{}, s.o.concurrency)
	var pushes sync.WaitGroup
	// A digest's bundles and statements are let go once its last target
	// has taken them (the writes hold what they push); signingOrder keeps
	// that soon after they are made.
	var left countdown
	// A repository's push session is let go once its last target's first
	// pushes are done (a rewrite while confirming authenticates again).
	var pushLeft countdown
	for _, t := range targets {
		left.add(t.Digest)
		pushLeft.add(t.Ref.Context().Name())
	}
	for _, i := range order {
		t := targets[i]
		g.Go(func() error {
			img, ws, err := s.signTarget(ctx, t, existing[i], reuse[t.Digest], &bundles)
			if err == nil {
				var aws []*write
				img.Attestations, aws, err = s.attestTarget(ctx, t, atts, existing[i], attReuse, &attBundles)
				ws = append(ws, aws...)
			}
			if left.done(t.Digest) {
				bundles.forget(t.Digest)
				attBundles.forget(t.Digest)
				atts.statements.forget(t.Digest)
			}
			pushing <- struct{}{}
			pushes.Go(func() {
				defer func() { <-pushing }()
				s.pushAll(ctx, ws, c)
				if pushLeft.done(t.Ref.Context().Name()) {
					s.o.pushes.Forget(t.Ref.Context())
				}
			})
			mu.Lock()
			defer mu.Unlock()
			results[i] = img
			writes = append(writes, ws...)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t.Ref, err))
			}
			return nil
		})
	}
	_ = g.Wait()
	pushes.Wait()
	c.wait()
	for _, w := range writes {
		if w.err != nil {
			w.sig.Error = "logged, not in the registry: " + w.err.Error()
			kind := " signature"
			if w.sig.PredicateType != "" {
				kind = " attestation"
			}
			errs = append(errs, fmt.Errorf("%s: %s logged as %s but not in the registry: %w", w.target.Ref, what(*w.sig)+kind, w.sig.Log, w.err))
		}
	}
	for _, img := range results {
		if img.Digest != "" && len(img.Signatures)+len(img.Attestations) > 0 {
			s.progress(fmt.Sprintf("%s@%s: %s", img.Repository, img.Digest, strings.Join(describe(img), ", ")))
		}
	}
	return results, errors.Join(errs...)
}

// countdown counts, per key, the targets not yet done.
type countdown struct {
	mu sync.Mutex
	n  map[string]int
}

// add counts one more target of key.
func (c *countdown) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
}

// done counts one target of key done, and reports whether it was the last.
func (c *countdown) done(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key]--
	return c.n[key] == 0
}

// signingOrder is the order in which targets are signed, as indexes into
// targets: digests in the order they first appear, taken concurrency at a
// time, and of each such round of digests, every digest's first target,
// then every digest's second, and so on. A digest's bundle is signed by
// its first target and attached by the others, so the others follow
// closely enough for it to be let go soon after (listed as workflows list
// them, all of one registry's references before the other's, every
// digest's bundle would be held until half the run is done: at 1,000
// images, a quarter of the live heap in both formats and over a third
// with provenance), yet far enough not to wait for it: by
// the time a slot is free for the next round, the round before has made
// its entries.
func signingOrder(targets []registry.Target, concurrency int) []int {
	var digests []string
	of := map[string][]int{}
	for i, t := range targets {
		if _, ok := of[t.Digest]; !ok {
			digests = append(digests, t.Digest)
		}
		of[t.Digest] = append(of[t.Digest], i)
	}
	order := make([]int, 0, len(targets))
	for len(digests) > 0 {
		round := digests[:min(concurrency, len(digests))]
		digests = digests[len(round):]
		for k := 0; ; k++ {
			n := len(order)
			for _, d := range round {
				if k < len(of[d]) {
					order = append(order, of[d][k])
				}
			}
			if len(order) == n {
				break
			}
		}
	}
	return order
}

// pushAll pushes a target's writes and hands each to c to confirm. Writes
// to one tag go one after another (each reads what the one before wrote);
// the referrers, the .sig tag and the .att tag are written side by side.
func (s *Signer) pushAll(ctx context.Context, ws []*write, c *confirmer) {
	byTag := map[string][]*write{}
	var order []string
	for _, w := range ws {
		if _, ok := byTag[w.readBack]; !ok {
			order = append(order, w.readBack)
		}
		byTag[w.readBack] = append(byTag[w.readBack], w)
	}
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Go(func() {
			for _, w := range byTag[k] {
				w.pushOnce(ctx)
				c.pushed(ctx, w)
			}
		})
	}
	wg.Wait()
}

// readsPerSign is how many references are resolved, or looked up for what
// is signed already, for each one signed at once: each is a round trip or
// two of reading (a HEAD, a GET), with none of a signature's log entry and
// uploads, so at the signing concurrency these phases, which every target
// waits for, took a fifth of a run of 100 images on two registries. Hosts'
// rate limits are kept by the transport's pacing, whatever the
// concurrency.
const readsPerSign = 4

// reads is how many reads before signing run at once.
func (s *Signer) reads() int { return min(readsPerSign*s.o.concurrency, setting.MaxConcurrency) }

// warmPushes authenticates for push (a ping and a token) to every
// repository a signature will be written to, while the first signatures
// are logged, rather than in each repository's first push: the push's
// time sets the settle before reading back (see confirmer). Repositories
// are taken in the order targets are signed (order). The returned
// function waits for it.
func (s *Signer) warmPushes(ctx context.Context, targets []registry.Target, order []int, existing []Existing) (wait func()) {
	seen := map[string]bool{}
	var repos []name.Repository
	for _, i := range order {
		t := targets[i]
		repo := t.Ref.Context()
		writes := s.o.format.Includes(artifact.FormatLegacy) && existing[i].Legacy == nil ||
			s.o.format.Includes(artifact.FormatBundle) && existing[i].Bundle == nil
		if writes && !seen[repo.Name()] {
			seen[repo.Name()] = true
			repos = append(repos, repo)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var g errgroup.Group
		g.SetLimit(s.reads())
		for _, repo := range repos {
			// A failure is not kept: the push authenticates again, and
			// reports it.
			g.Go(func() error { _, _ = s.o.pushes.Transport(ctx, repo); return nil })
		}
		_ = g.Wait()
	}()
	return func() { <-done }
}

// findExisting looks up what the run's identity signed already, for every
// target at once.
func (s *Signer) findExisting(ctx context.Context, targets []registry.Target, leaf func(context.Context) (*x509.Certificate, error)) ([]Existing, error) {
	existing := make([]Existing, len(targets))
	if s.o.existing == nil {
		return existing, nil
	}
	errs := make([]error, len(targets))
	// A bundle names only the digest: one repository's serves every other
	// repository of the digest that lacks it (SignImages' reuse), so only
	// the first found of each keeps its bytes. At 1,000 images on two
	// registries a re-run held 21 MB of them, one copy per repository.
	var mu sync.Mutex
	kept := map[string]bool{}
	keep := func(b *[]byte, key string) {
		if *b == nil {
			return
		}
		if kept[key] {
			*b = nil
		}
		kept[key] = true
	}
	g := new(errgroup.Group)
	g.SetLimit(s.reads())
	for i, t := range targets {
		g.Go(func() error {
			ex, err := s.o.existing(ctx, t, leaf)
			mu.Lock()
			keep(&ex.BundleJSON, t.Digest)
			for j := range ex.Attestations {
				a := &ex.Attestations[j]
				keep(&a.BundleJSON, fmt.Sprint(t.Digest, a.Signature.Format, a.PredicateType, a.PredicateDigest))
			}
			mu.Unlock()
			existing[i], errs[i] = ex, err
			return nil
		})
	}
	_ = g.Wait()
	return existing, errors.Join(errs...)
}

// describe says what happened to each of an image's signatures and
// attestations.
func describe(img Image) []string {
	var f []string
	for _, s := range append(append([]Signature(nil), img.Signatures...), img.Attestations...) {
		switch {
		case s.AlreadySigned:
			f = append(f, what(s)+" already signed")
		case s.Error != "":
			f = append(f, what(s)+" logged, not pushed")
		case s.PredicateType != "":
			f = append(f, what(s)+" attested")
		default:
			f = append(f, what(s)+" signed")
		}
	}
	return f
}

// what names a signature or attestation in progress lines: "bundle",
// "legacy https://slsa.dev/provenance/v1".
func what(s Signature) string {
	if s.PredicateType != "" {
		return string(s.Format) + " " + s.PredicateType
	}
	return string(s.Format)
}

// plan resolves refs into the manifests that will be signed, without
// signing anything; any reference that fails fails the plan. from lists,
// per target (by reference), the references it was resolved from.
func (s *Signer) plan(ctx context.Context, refs []string) (targets []registry.Target, from map[string][]string, err error) {
	var errs []error
	from = map[string][]string{}
	for i, r := range registry.ResolveAll(ctx, refs, s.o.auth, s.o.recursive, s.reads(), s.o.remote...) {
		if r.Err != nil {
			errs = append(errs, r.Err)
			continue
		}
		for _, t := range r.Targets {
			k := t.Ref.String()
			if _, seen := from[k]; !seen {
				targets = append(targets, t)
			}
			from[k] = append(from[k], refs[i])
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return targets, from, nil
}

func (s *Signer) ropts(ctx context.Context) ociremote.Option {
	return ociremote.WithRemoteOptions(s.remoteOpts(ctx)...)
}

// remoteOpts are the run's go-containerregistry options bound to ctx.
func (s *Signer) remoteOpts(ctx context.Context) []remote.Option {
	return append(append([]remote.Option{}, s.o.remote...), remote.WithContext(ctx))
}

// signTarget signs t in the formats asked for, but what ex holds already,
// and returns the writes that put the new signatures in the registry. A
// bundle is signed once per digest (bundles), or taken from reuse, a
// repository of the same digest that has it.
func (s *Signer) signTarget(ctx context.Context, t registry.Target, ex Existing, reuse *Existing, bundles *onceMap[*signed]) (Image, []*write, error) {
	img := Image{Target: t.Target}
	var formats []artifact.Format
	if s.o.format.Includes(artifact.FormatBundle) {
		formats = append(formats, artifact.FormatBundle)
	}
	if s.o.format.Includes(artifact.FormatLegacy) {
		formats = append(formats, artifact.FormatLegacy)
	}
	img.Signatures = make([]Signature, len(formats))
	var writes []*write
	for i, f := range formats {
		sig := &img.Signatures[i]
		switch {
		case f == artifact.FormatBundle && ex.Bundle != nil:
			*sig = *ex.Bundle
			sig.AlreadySigned = true
		case f == artifact.FormatLegacy && ex.Legacy != nil:
			*sig = *ex.Legacy
			sig.AlreadySigned = true
		case f == artifact.FormatBundle && reuse != nil:
			// Another repository of the digest has it: attach it here too,
			// with no new log entry.
			*sig = Signature{Format: f, Log: reuse.Bundle.Log}
			writes = append(writes, s.referrerWrite(t, sig, reuse.BundleJSON, artifact.CosignSignPredicateType))
		case f == artifact.FormatBundle:
			// One statement per digest: it names no repository.
			sb, err := bundles.do(t.Digest, "", func() (*signed, error) {
				sb, err := s.signStatement(ctx, t.Ref)
				if err != nil {
					return nil, err
				}
				// Kept for the run (other repositories of the digest):
				// its JSON and entry, not the parsed bundle beside them.
				return &signed{json: sb.json, entry: sb.entry}, nil
			})
			if err != nil {
				img.Signatures = img.Signatures[:i]
				return img, writes, err
			}
			*sig = Signature{Format: f, Log: sb.entry}
			writes = append(writes, s.referrerWrite(t, sig, sb.json, artifact.CosignSignPredicateType))
		default:
			w, err := s.signLegacy(ctx, t, sig)
			if err != nil {
				img.Signatures = img.Signatures[:i]
				return img, writes, err
			}
			writes = append(writes, w)
		}
	}
	return img, writes, nil
}
