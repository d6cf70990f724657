package sign

import (
	"errors"
	"slices"
	"testing"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
)

// TestSigningOrder: digests are taken concurrency at a time, each round
// signing every digest's first target, then every digest's second, and so
// on; every target is signed once.
func TestSigningOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		digests     string // one letter per target: its digest
		concurrency int
		want        []int
	}{
		{"none", "", 16, []int{}},
		{"one", "a", 16, []int{0}},
		{"one registry", "abcd", 2, []int{0, 1, 2, 3}},
		{"two registries, one round", "abcabc", 16, []int{0, 1, 2, 3, 4, 5}},
		{"two registries, listed one after the other", "abcdabcd", 2, []int{0, 1, 4, 5, 2, 3, 6, 7}},
		{"listed by image", "aabbcc", 2, []int{0, 2, 1, 3, 4, 5}},
		{"uneven", "abacada", 2, []int{0, 1, 2, 4, 6, 3, 5}},
		{"concurrency 1", "abab", 1, []int{0, 2, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			targets := make([]registry.Target, len(tt.digests))
			for i, d := range tt.digests {
				targets[i] = registry.Target{Target: artifact.Target{Digest: string(d)}}
			}
			got := signingOrder(targets, tt.concurrency)
			if !slices.Equal(got, tt.want) {
				t.Errorf("signingOrder(%q, %d) = %v, want %v", tt.digests, tt.concurrency, got, tt.want)
			}
			if sorted := slices.Sorted(slices.Values(got)); len(got) > 0 && !slices.Equal(sorted, sequence(len(targets))) {
				t.Errorf("not every target once: %v", got)
			}
		})
	}
}

func sequence(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestOnceMap: f runs once per key of a group, its result (or error)
// shared; forget drops one group's results and no other's.
func TestOnceMap(t *testing.T) {
	t.Parallel()
	var m onceMap[int]
	runs := 0
	f := func(v int, err error) func() (int, error) {
		return func() (int, error) { runs++; return v, err }
	}
	if v, _ := m.do("a", "1", f(1, nil)); v != 1 {
		t.Errorf("first do: %d", v)
	}
	if v, _ := m.do("a", "1", f(2, nil)); v != 1 || runs != 1 {
		t.Errorf("second do of a key: %d after %d runs, want 1 after 1", v, runs)
	}
	boom := errors.New("boom")
	if _, err := m.do("a", "2", f(0, boom)); err != boom {
		t.Errorf("error not returned: %v", err)
	}
	if _, err := m.do("a", "2", f(3, nil)); err != boom || runs != 2 {
		t.Errorf("an error is a result too: %v after %d runs", err, runs)
	}
	if v, _ := m.do("b", "1", f(4, nil)); v != 4 || m.len() != 2 {
		t.Errorf("another group's key: %d, %d groups", v, m.len())
	}
	m.forget("a")
	if m.len() != 1 {
		t.Errorf("%d groups after forgetting one of 2", m.len())
	}
	if v, _ := m.do("a", "1", f(5, nil)); v != 5 {
		t.Errorf("after forget, do ran f again: got %d, want 5", v)
	}
	if v, _ := m.do("b", "1", f(6, nil)); v != 4 {
		t.Errorf("forget of a dropped b's result: %d", v)
	}
	m.forget("nothing")
}
