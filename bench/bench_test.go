package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFloor(t *testing.T) {
	for _, tc := range []struct {
		n, c     int
		readBack bool
		want     time.Duration
		trips    int
	}{
		// 2 + ⌈200/16⌉=13 × (1+1+4) = 80 round trips of 40 ms.
		{n: 100, c: 16, want: 3200 * time.Millisecond, trips: 80},
		{n: 100, c: 16, readBack: true, want: 4240 * time.Millisecond, trips: 106},
		// 2 + ⌈20/16⌉=2 × 6 = 14.
		{n: 10, c: 16, want: 560 * time.Millisecond, trips: 14},
		{n: 8, c: 16, want: 320 * time.Millisecond, trips: 8},
	} {
		got, trips := floor(tc.n, tc.c, 20*time.Millisecond, tc.readBack)
		if got != tc.want || trips != tc.trips {
			t.Errorf("floor(%d, %d, 20ms, %v) = %v, %d trips; want %v, %d", tc.n, tc.c, tc.readBack, got, trips, tc.want, tc.trips)
		}
	}
	if got, trips := verifyFloor(100, 16, 20*time.Millisecond); got != 1560*time.Millisecond || trips != 39 {
		t.Errorf("verifyFloor(100, 16) = %v, %d", got, trips)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestWriteGenerated checks that only the generated section is replaced and
// the hand-written text around it is kept.
func TestWriteGenerated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := writeGenerated(p, "first\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s := "intro\n\n" + string(b) + "\nanalysis\n"
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeGenerated(p, "second\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	got := string(b)
	for _, want := range []string{"intro\n", "second\n", "\nanalysis\n", beginMarker, endMarker} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "first") {
		t.Errorf("the old section is still there:\n%s", got)
	}
}
