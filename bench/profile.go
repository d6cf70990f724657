package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// profile signs (both formats), verifies and signs again (everything
// already signed) one fresh set of n images with the profiling build of
// sigil, outside the measured runs, and writes STEP.cpu.pprof and
// STEP.allocs.pprof for each (sign, verify, resign) into the profile
// directory, then prints the top of each CPU profile.
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
		env := append(slices.Clone(b.sigilEnv()),
			"SIGIL_CPUPROFILE="+filepath.Join(dir, step.name+".cpu.pprof"),
			"SIGIL_MEMPROFILE="+filepath.Join(dir, step.name+".allocs.pprof"),
			"SIGIL_BLOCKPROFILE="+filepath.Join(dir, step.name+".block.pprof"))
		sm, err := measure(ctx, b.f.Proxy, env, b.home, [][]string{step.cmd})
		if err != nil {
			return fmt.Errorf("profiling %s: %w", step.name, err)
		}
		logf("profiled %s of %d refs: wall %.2fs cpu %.2fs rss %d MB; %s", step.name, len(set.refs), sm.Wall.Seconds(), sm.CPU().Seconds(), sm.RSS/1024, filepath.Join(dir, step.name+".cpu.pprof"))
		top := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", filepath.Join(dir, step.name+".cpu.pprof"))
		top.Stdout, top.Stderr = os.Stdout, os.Stderr
		_ = top.Run()
	}
	return nil
}
