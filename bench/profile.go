package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// profile signs (both formats), verifies and signs again (everything
// already signed) one fresh set of n images with the profiling build of
// sigil, outside the measured runs, and writes nN-STEP.cpu.pprof,
// .allocs.pprof, .peakheap.pprof (live heap at its peak), .block.pprof and .samples (goroutines and open files over
// the run) for each (sign, verify, resign) into the profile directory,
// then prints the top of each CPU profile. What the samples show is kept
// for the report (resources).
func (b *bench) profile(ctx context.Context, n int) error {
	dir, err := filepath.Abs(b.c.profileDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	imgs, err := randomImages(n)
	if err != nil {
		return err
	}
	set, err := pushSet(ctx, b.f, fmt.Sprintf("bench/n%d-profile-%d", n, os.Getpid()), imgs)
	if err != nil {
		return err
	}
	prof := *b
	pc := *b.c
	pc.sigil = b.c.sigilProf
	prof.c = &pc
	for _, step := range []struct {
		name string
		cmd  []string
	}{
		{"sign", prof.sigilSign("both", set.refs)},
		{"verify", prof.sigilVerify(set.refs)},
		// The same identity again: everything is signed already (#11).
		{"resign", prof.sigilSign("both", set.refs)},
	} {
		base := filepath.Join(dir, fmt.Sprintf("n%d-%s", n, step.name))
		env := append(slices.Clone(b.sigilEnv()),
			"SIGIL_CPUPROFILE="+base+".cpu.pprof",
			"SIGIL_MEMPROFILE="+base+".allocs.pprof",
			"SIGIL_PEAKHEAPPROFILE="+base+".peakheap.pprof",
			"SIGIL_BLOCKPROFILE="+base+".block.pprof",
			"SIGIL_SAMPLES="+base+".samples")
		sm, err := measure(ctx, b.f.Proxy, env, b.home, [][]string{step.cmd})
		if err != nil {
			return fmt.Errorf("profiling %s: %w", step.name, err)
		}
		logf("profiled %s of %d refs: wall %.2fs cpu %.2fs rss %d MB; %s", step.name, len(set.refs), sm.Wall.Seconds(), sm.CPU().Seconds(), sm.RSS/1024, base+".cpu.pprof")
		raw, err := os.ReadFile(base + ".samples")
		if err != nil {
			return err
		}
		r, err := parseSamples(raw)
		if err != nil {
			return fmt.Errorf("%s.samples: %w", base, err)
		}
		r.n, r.step, r.rssKB = n, step.name, sm.RSS
		b.resources = append(b.resources, r)
		top := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", base+".cpu.pprof")
		top.Stdout, top.Stderr = os.Stdout, os.Stderr
		_ = top.Run()
	}
	return nil
}

// resources is what one profiled run held: its live goroutines and open
// file descriptors, sampled every 100 ms, at their peak in each half of
// the run (a leak grows from the first half to the second).
type resources struct {
	n     int
	step  string
	rssKB int64
	// peakG and peakFD are the peaks in the first and the second half of
	// the run's samples.
	peakG, peakFD [2]int
	samples       int
}

// parseSamples reads sigilprof's samples, lines of "MS GOROUTINES FDS".
func parseSamples(raw []byte) (resources, error) {
	var r resources
	type point struct{ ms, g, fd int }
	var pts []point
	for line := range strings.Lines(string(raw)) {
		var p point
		if _, err := fmt.Sscan(line, &p.ms, &p.g, &p.fd); err != nil {
			return r, fmt.Errorf("line %q: %w", strings.TrimSpace(line), err)
		}
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		return r, fmt.Errorf("no samples")
	}
	end := pts[len(pts)-1].ms
	for _, p := range pts {
		h := 0
		if 2*p.ms > end {
			h = 1
		}
		r.peakG[h] = max(r.peakG[h], p.g)
		r.peakFD[h] = max(r.peakFD[h], p.fd)
	}
	r.samples = len(pts)
	return r, nil
}
