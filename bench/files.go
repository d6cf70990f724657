package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cosignBundleSuffix names the bundles cosign sign-blob writes in the files
// phase, beside sigil's FILE.sigstore.json.
const cosignBundleSuffix = ".cosign.bundle"

// byteSize is a flag's size in bytes: a number with an optional unit, B,
// KiB, MiB, GiB (powers of 1024) or KB, MB, GB (of 1000), in any case.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest first: "MiB" and "MB" both end with "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"b", 1},
}

func (s *byteSize) Set(v string) error {
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(strings.ToLower(num), u.suffix); ok {
			num, mult = strings.TrimSpace(num[:len(n)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("%q is not a size such as 4096, 64KiB, 1MiB or 2GiB", v)
	}
	*s = byteSize(n * mult)
	return nil
}

// String gives the size in the largest binary unit that divides it.
func (s byteSize) String() string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.mult, u.name)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// fileSet is what the files phase signs: count random files in one
// directory, and one sparse file in another.
type fileSet struct {
	dir   string
	paths []string
	big   string // "" when -big-file is 0
}

// input is the input of the files phase's set name (empty when left out).
func (fs *fileSet) input(set string) input {
	switch {
	case set == setFiles && len(fs.paths) > 0:
		return input{paths: fs.paths, glob: filepath.Join(fs.dir, "*.bin")}
	case set == setBigFile && fs.big != "":
		return input{paths: []string{fs.big}, glob: fs.big}
	}
	return input{}
}

// makeFiles writes the files the selected scenarios of the files phase
// need into dir: -files files of -file-size random bytes (random, so no
// layer of the system can shortcut them), and a sparse file of -big-file
// (os.Truncate: it costs no disk, and reads as zeros at the page cache's
// speed). It returns nil when no scenario of the phase runs.
func (b *bench) makeFiles(dir string) (*fileSet, error) {
	fs := &fileSet{dir: filepath.Join(dir, "files")}
	if b.c.files > 0 && b.c.fileSize > 0 && b.phaseRuns(setFiles) {
		if err := os.MkdirAll(fs.dir, 0o755); err != nil {
			return nil, err
		}
		var seed [32]byte
		for i := range seed {
			seed[i] = byte(rand.Uint32())
		}
		rng := rand.NewChaCha8(seed)
		for i := range b.c.files {
			p := filepath.Join(fs.dir, fmt.Sprintf("file-%04d.bin", i))
			if err := writeRandom(p, rng, int64(b.c.fileSize)); err != nil {
				return nil, err
			}
			fs.paths = append(fs.paths, p)
		}
	}
	if b.c.bigFile > 0 && b.phaseRuns(setBigFile) {
		bigDir := filepath.Join(dir, "big-file")
		if err := os.MkdirAll(bigDir, 0o755); err != nil {
			return nil, err
		}
		fs.big = filepath.Join(bigDir, "big.bin")
		f, err := os.Create(fs.big)
		if err != nil {
			return nil, err
		}
		if err := errors.Join(f.Truncate(int64(b.c.bigFile)), f.Close()); err != nil {
			return nil, err
		}
	}
	if len(fs.paths) == 0 && fs.big == "" {
		return nil, nil
	}
	return fs, nil
}

// phaseRuns reports whether any scenario of the files phase on set runs.
func (b *bench) phaseRuns(set string) bool {
	for _, s := range scenarios {
		if s.files && s.set == set && b.runs(s, b.c.files) {
			return true
		}
	}
	return false
}

func writeRandom(path string, r io.Reader, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, r, size)
	return errors.Join(err, f.Close())
}

// clean removes the bundles a previous run wrote, so that each run signs
// into an empty directory as a release job does.
func (fs *fileSet) clean() error {
	var dirs []string
	if len(fs.paths) > 0 {
		dirs = append(dirs, fs.dir)
	}
	if fs.big != "" {
		dirs = append(dirs, filepath.Dir(fs.big))
	}
	for _, dir := range dirs {
		for _, suffix := range []string{".sigstore.json", cosignBundleSuffix} {
			old, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
			if err != nil {
				return err
			}
			for _, p := range old {
				if err := os.Remove(p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// warm reads each file once, so that the page cache holds it for whichever
// tool comes next.
func warm(paths []string) error {
	buf := make([]byte, 1<<20)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		for err == nil {
			_, err = f.Read(buf)
		}
		f.Close()
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return nil
}

// runFilesPhase makes the files and measures the files phase's scenarios,
// as many runs as -runs gives N = -files (3 if it gives none).
func (b *bench) runFilesPhase(ctx context.Context) error {
	fs, err := b.makeFiles(b.c.workDir)
	if err != nil || fs == nil {
		return err
	}
	runs := b.c.runs[b.c.files]
	if runs == 0 {
		runs = 3
	}
	b.files = &sizeResult{n: b.c.files, files: true}
	for r := range runs {
		if err := fs.clean(); err != nil {
			return err
		}
		res := map[string]sample{}
		for _, s := range scenarios {
			in := fs.input(s.set)
			if !s.files || !b.runs(s, b.c.files) || len(in.paths) == 0 {
				continue
			}
			if err := warm(in.paths); err != nil {
				return err
			}
			sm, err := b.measure(ctx, s, in)
			if err != nil {
				return fmt.Errorf("files run %d: %w", r+1, err)
			}
			res[s.key] = sm
			b.logSample(fmt.Sprintf("files=%d run %d/%d", b.c.files, r+1, runs), s.key, sm)
		}
		b.files.runs = append(b.files.runs, res)
	}
	return nil
}
