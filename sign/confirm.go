package sign

import (
	"context"
	"fmt"
	"sync"
	"time"

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

	// readied is when the registry work the first push needed ran, begun
	// before it while the log entry was made (see legacyPrep): counted in
	// the push's time.
	readied span
	pushed  time.Duration
	err     error
}

// A span is when some work began and ended.
type span struct{ began, ended time.Time }

// before is how long s ran before t.
func (s span) before(t time.Time) time.Duration {
	end := s.ended
	if t.Before(end) {
		end = t
	}
	return max(end.Sub(s.began), 0)
}

// pushTime is the time of a push that ran from start to end, counting the
// work readied for it before it: the union of the two, not their sum. A
// push whose preparation was still running when the log entry came back
// waits for it, and that wait is the preparation's time, not more of the
// push's (counted twice, it made a push of 0.40 s count as 0.55 s, and
// the settle after it 0.45 s longer).
func pushTime(start, end time.Time, readied span) time.Duration {
	return end.Sub(start) + readied.before(start)
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
	w.readied = span{}
	w.err = w.push(ctx)
	w.pushed = pushTime(start, time.Now(), w.readied)
}

// confirmer reads back each pushed write once the registries have settled,
// and writes again what another writer dropped, until it is there or the
// rounds run out. Each write is confirmed on its own, as soon as it has
// settled, while the run's other targets are still being signed: the
// read-back costs no phase of its own.
//
// The wait is three times the longest of the run's last recentPushes
// pushes (and at least three times the write's own): a writer that read a
// tag before this run wrote it takes about as long to write it back — on a
// loaded runner, up to about three times as long, measured with eight
// writers on one tag — so after that wait a signature still there stays
// there (unless yet another writer starts; the next round catches that
// too).
type confirmer struct {
	s *Signer
	// sem bounds the requests (not the waits) of all confirmations.
	sem chan struct{}
	wg  sync.WaitGroup

	mu sync.Mutex
	// recent are the last pushes' times, a ring of recentPushes.
	recent    []time.Duration
	next      int
	rewritten int
}

// recentPushes is how many of the latest pushes the settle is taken from:
// the conditions a concurrent writer meets are today's, and the longest of
// a whole run grows with the run (at 1,000 images, the slowest of 2,000
// pushes, however early), stretching the wait of every write after it.
// Four rounds at the default concurrency.
const recentPushes = 64

// record adds a push's time to the recent ones. c.mu is held.
func (c *confirmer) record(d time.Duration) {
	if len(c.recent) < recentPushes {
		c.recent = append(c.recent, d)
		return
	}
	c.recent[c.next] = d
	c.next = (c.next + 1) % recentPushes
}

func (s *Signer) newConfirmer() *confirmer {
	return &confirmer{s: s, sem: make(chan struct{}, s.o.concurrency)}
}

// release lets go of what w's push and find hold (the signature's layers,
// its bundle and certificate) once w is done: the run keeps every write
// until its end to report errors, and at 1,000 images those held most of
// its memory.
func (w *write) release() { w.push, w.find = nil, nil }

// pushed records w's first push and starts confirming it; a write that
// failed keeps its error.
func (c *confirmer) pushed(ctx context.Context, w *write) {
	if w.err != nil {
		w.release()
		return
	}
	c.mu.Lock()
	c.record(w.pushed)
	c.mu.Unlock()
	c.wg.Go(func() { c.confirm(ctx, w) })
}

// wait waits for every confirmation and reports the rewrites.
func (c *confirmer) wait() {
	c.wg.Wait()
	if c.rewritten > 0 {
		c.s.progress(fmt.Sprintf("%d signature(s) were dropped by another writer of the same tag and written again", c.rewritten))
	}
}

func (c *confirmer) settle(w *write) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	longest := w.pushed
	for _, d := range c.recent {
		longest = max(longest, d)
	}
	return min(max(3*longest, minSettle), maxSettle)
}

// confirm reads w back after the settle, and writes it again while it is
// lost, up to confirmRounds times.
func (c *confirmer) confirm(ctx context.Context, w *write) {
	defer w.release()
	for round := 1; ; round++ {
		if err := sleep(ctx, c.settle(w)); err != nil {
			w.err = fmt.Errorf("confirming %s: %w", w.target.Ref, err)
			return
		}
		c.sem <- struct{}{}
		loc, err := w.find(ctx)
		<-c.sem
		switch {
		case err != nil:
			w.err = err
			return
		case loc != "":
			w.sig.Location, w.sig.ReadBack = loc, w.readBack
			return
		case round == confirmRounds:
			w.err = fmt.Errorf("the registry accepted it but did not hold it when read back, %d times (another writer kept replacing the tag, or the registry does not list what it stores): re-run the job; what is signed is kept", round)
			return
		}
		c.sem <- struct{}{}
		w.pushOnce(ctx)
		<-c.sem
		c.mu.Lock()
		c.rewritten++
		c.record(w.pushed)
		c.mu.Unlock()
		if w.err != nil {
			return
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
