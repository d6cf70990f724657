package sign

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/registry"
)

// A write is one signature to put in a registry and to find there again,
// as a verifier will.
//
// Registries hold some signatures in a tag that every writer reads,
// changes and writes back — cosign's sha256-<digest>.sig tag, and the
// referrers fallback tag where a registry has no referrers API — with no
// lock and no conditional write (go-containerregistry's own TODO in
// remote/write.go). Two runs signing one digest at once can therefore lose
// each other's signature: each reads the tag, adds its own, writes, and the
// later write drops the earlier one. So a write is not done when the
// registry accepts it, but when it is still there after every writer that
// could have overwritten it has written: confirm waits that long, reads
// each signature back, writes again what went missing (merging with what
// is there now), and repeats, a bounded number of times.
type write struct {
	target registry.Target
	// sig is the signature in the run's result; Location, ReadBack and
	// Error are filled in as it goes.
	sig *Signature
	// push writes the signature, merging with what the registry holds.
	push func(ctx context.Context) error
	// find reads the registry as a verifier does and returns where the
	// signature is, or "" when it is not there.
	find func(ctx context.Context) (string, error)
	// readBack names the path find reads.
	readBack string

	pushed time.Duration
	err    error
}

// Bounds of confirming writes.
const (
	// confirmRounds is how many times a lost signature is written again.
	confirmRounds = 6
	// minSettle and maxSettle bound the wait before reading back.
	minSettle = 100 * time.Millisecond
	maxSettle = 10 * time.Second
)

// pushOnce runs the first push of w, timing it.
func (w *write) pushOnce(ctx context.Context) {
	start := time.Now()
	w.err = w.push(ctx)
	w.pushed = time.Since(start)
}

// confirm reads back every pushed write after the registries settle, and
// writes again those another writer dropped, until all are there or the
// rounds run out. A write that fails keeps its error; confirm returns the
// writes' errors joined.
//
// The wait is twice the longest push of the run: a writer that read a tag
// before this run wrote it takes about as long to write it back, so after
// that wait, a signature still there stays there (unless yet another
// writer starts; the next round catches that too).
func (s *Signer) confirm(ctx context.Context, writes []*write) {
	var longest time.Duration
	var open []*write
	for _, w := range writes {
		if w.err == nil {
			open = append(open, w)
			longest = max(longest, w.pushed)
		}
	}
	settle := min(max(2*longest, minSettle), maxSettle)
	for round := 1; len(open) > 0; round++ {
		if err := sleep(ctx, settle); err != nil {
			for _, w := range open {
				w.err = fmt.Errorf("confirming %s: %w", w.target.Ref, err)
			}
			return
		}
		var mu sync.Mutex
		var lost []*write
		g := new(errgroup.Group)
		g.SetLimit(s.o.concurrency)
		for _, w := range open {
			g.Go(func() error {
				loc, err := w.find(ctx)
				switch {
				case err != nil:
					w.err = err
				case loc != "":
					w.sig.Location, w.sig.ReadBack = loc, w.readBack
				default:
					mu.Lock()
					lost = append(lost, w)
					mu.Unlock()
				}
				return nil
			})
		}
		_ = g.Wait()
		if len(lost) == 0 {
			return
		}
		if round == confirmRounds {
			for _, w := range lost {
				w.err = fmt.Errorf("the registry accepted it but did not hold it when read back, %d times (another writer kept replacing the tag, or the registry does not list what it stores): re-run the job; what is signed is kept", round)
			}
			return
		}
		s.progress(fmt.Sprintf("%d signature(s) were dropped by another writer of the same tag; writing them again", len(lost)))
		again := new(errgroup.Group)
		again.SetLimit(s.o.concurrency)
		for _, w := range lost {
			again.Go(func() error { w.pushOnce(ctx); return nil })
		}
		_ = again.Wait()
		open = open[:0]
		for _, w := range lost {
			if w.err == nil {
				open = append(open, w)
				settle = min(max(settle, 2*w.pushed), maxSettle)
			}
		}
	}
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
