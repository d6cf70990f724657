package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
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

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    func(c *config) []any
		wantErr string
	}{
		{name: "defaults", want: func(c *config) []any {
			return []any{c.sizes, c.cosignMax, c.files, c.fileSize, c.bigFile, c.plot}
		}},
		{name: "N = 1000", args: []string{"-n", "10,1000", "-runs", "10=2,1000=1", "-cosign-max", "100", "-files", "1000", "-file-size", "64KiB", "-big-file", "0", "-plot", ""},
			want: func(c *config) []any {
				return []any{c.sizes, c.runs, c.cosignMax, c.files, c.fileSize, c.bigFile, c.plot}
			}},
		{name: "no files, no cosign", args: []string{"-files", "0", "-cosign-max", "0", "-big-file", "64MiB", "-plot", "/tmp/p.png"},
			want: func(c *config) []any { return []any{c.files, c.cosignMax, c.bigFile, c.plot} }},
		{name: "both sides of a need", args: []string{"-only", "sigil-sign-prov,sigil-verify-prov,sigil-sign-files,sigil-verify-files"},
			want: func(c *config) []any { return []any{c.only} }},
		{name: "negative cosign-max", args: []string{"-cosign-max", "-1"}, wantErr: "-cosign-max"},
		{name: "negative files", args: []string{"-files", "-3"}, wantErr: "-files"},
		{name: "files not a number", args: []string{"-files", "many"}, wantErr: "-files"},
		{name: "fractional size", args: []string{"-file-size", "1.5MiB"}, wantErr: "-file-size"},
		{name: "unknown unit", args: []string{"-big-file", "2TiB"}, wantErr: "-big-file"},
		{name: "verify without its sign", args: []string{"-only", "sigil-verify-prov"}, wantErr: "needs sigil-sign-prov"},
		{name: "files verify without its sign", args: []string{"-only", "sigil-verify-files"}, wantErr: "needs sigil-sign-files"},
		{name: "unknown scenario", args: []string{"-only", "cosign-sign-blob"}, wantErr: `no scenario "cosign-sign-blob"`},
		{name: "stray argument", args: []string{"-n", "10", "100"}, wantErr: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseFlags(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseFlags(%q) = %v, want an error with %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]any{
				"defaults":             {[]int{10, 100}, 100, 100, byteSize(1 << 20), byteSize(2 << 30), "bench/wall-time.png"},
				"N = 1000":             {[]int{10, 1000}, map[int]int{10: 2, 1000: 1}, 100, 1000, byteSize(64 << 10), byteSize(0), ""},
				"no files, no cosign":  {0, 0, byteSize(64 << 20), "/tmp/p.png"},
				"both sides of a need": {[]string{"sigil-sign-prov", "sigil-verify-prov", "sigil-sign-files", "sigil-verify-files"}},
			}[tc.name]
			if diff := cmp.Diff(want, tc.want(c)); diff != "" {
				t.Errorf("parseFlags(%q) (-want +got):\n%s", tc.args, diff)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byteSize
		str  string
	}{
		{"0", 0, "0"},
		{"4096", 4096, "4KiB"},
		{"1000", 1000, "1000"},
		{"1MiB", 1 << 20, "1MiB"},
		{"1 mib", 1 << 20, "1MiB"},
		{"64KiB", 64 << 10, "64KiB"},
		{"2GiB", 2 << 30, "2GiB"},
		{"3GB", 3e9, "3000000000"},
		{"5MB", 5e6, "5000000"},
		{"7kb", 7000, "7000"},
		{"12B", 12, "12"},
	} {
		var s byteSize
		if err := s.Set(tc.in); err != nil {
			t.Errorf("Set(%q): %v", tc.in, err)
			continue
		}
		if s != tc.want || s.String() != tc.str {
			t.Errorf("Set(%q) = %d (%s), want %d (%s)", tc.in, s, s, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "1TiB", "9999999999GiB", "1 KiB B"} {
		var s byteSize
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) = %d, want an error", bad, s)
		}
	}
}

// TestScenarioTable checks the table's invariants: keys unique, every need
// listed before its scenario on the same set, the files phase on its sets.
func TestScenarioTable(t *testing.T) {
	seen := map[string]scenario{}
	for _, s := range scenarios {
		if _, dup := seen[s.key]; dup {
			t.Errorf("%s twice", s.key)
		}
		if s.needs != "" {
			n, ok := seen[s.needs]
			if !ok || n.set != s.set || n.files != s.files {
				t.Errorf("%s needs %s, which must come before it on set %s", s.key, s.needs, s.set)
			}
		}
		if s.files != (s.set == setFiles || s.set == setBigFile) {
			t.Errorf("%s: files %v on set %s", s.key, s.files, s.set)
		}
		seen[s.key] = s
	}
	for _, pr := range pairs {
		if _, ok := seen[pr.slow]; !ok {
			t.Errorf("pair names no scenario %s", pr.slow)
		}
		if _, ok := seen[pr.fast]; !ok {
			t.Errorf("pair names no scenario %s", pr.fast)
		}
	}
}

// fakeSample is a sample of wall seconds, one process of rssMB.
func fakeSample(wall float64, rssMB int64) sample {
	return sample{
		Wall: time.Duration(wall * float64(time.Second)), User: time.Second / 2, Sys: time.Second / 10, RSS: rssMB << 10, Procs: 1, Load1: 1.5,
		Upstreams: map[string]latency.Stats{upRekor: {Requests: 20, Methods: map[string]int64{"POST": 20}, Connections: 20, Service: 4 * time.Second}},
	}
}

// fakeBench is a session at N = 10 (everything ran), 100 and 1000 (cosign
// left out by -cosign-max 100; at 1000 only sigil-sign and sigil-verify
// ran), with a files phase without cosign's loop.
func fakeBench(t *testing.T) *bench {
	t.Helper()
	all := func(scale float64) map[string]sample {
		m := map[string]sample{}
		for i, s := range scenarios {
			if !s.files {
				m[s.key] = fakeSample(scale*float64(1+i%4), 30)
			}
		}
		m["cosign-sign-loop"] = fakeSample(scale*20, 60)
		m["sigil-sign"] = fakeSample(scale, 30)
		m["sigil-sign-both"] = fakeSample(scale*2, 30)
		m["sigil-sign-prov"] = fakeSample(scale*2.4, 30)
		return m
	}
	ten := []map[string]sample{all(1), all(1.2), all(0.8)}
	hundred := []map[string]sample{all(8)}
	thousand := []map[string]sample{{"sigil-sign": fakeSample(70, 60), "sigil-verify": fakeSample(20, 40)}}
	files := []map[string]sample{{
		"sigil-sign-files":   fakeSample(0.9, 35),
		"sigil-verify-files": fakeSample(0.5, 30),
		"sigil-sign-bigfile": fakeSample(2.5, 140),
	}}
	return &bench{
		c: &config{sizes: []int{10, 100, 1000}, runs: map[int]int{10: 3, 100: 1, 1000: 1}, delay: 20 * time.Millisecond, concurrency: 16,
			cosignMax: 100, files: 5, fileSize: 1 << 20, bigFile: 64 << 20, registries: "own",
			sigil: filepath.Join(t.TempDir(), "no-sigil"), cosign: filepath.Join(t.TempDir(), "no-cosign")},
		results: map[int]*sizeResult{
			10:   {n: 10, runs: ten},
			100:  {n: 100, runs: hundred},
			1000: {n: 1000, runs: thousand},
		},
		files:     &sizeResult{n: 5, files: true, runs: files},
		builtFrom: "commit 0123456789ab",
		plotLink:  "bench/wall-time.png",
	}
}

// section is the part of rep from the heading that starts with heading to
// the next heading.
func section(rep, heading string) string {
	i := strings.Index(rep, "### "+heading)
	if i < 0 {
		return ""
	}
	s := rep[i+4:]
	if j := strings.Index(s, "\n### "); j >= 0 {
		s = s[:j]
	}
	return s
}

func TestReportMissingScenarios(t *testing.T) {
	rep := fakeBench(t).report(time.Minute)
	for _, tc := range []struct {
		section string
		want    []string
		notWant []string
	}{
		{section: "N = 10 images",
			want: []string{
				"| sigil sign --format both --provenance (signatures + SLSA provenance) | 2.40 |",
				"| cosign sign, one process per image and registry | 20.00 | 0.60 | 60 | 1 | 20 | 20 | 20.0× sigil-sign |",
				"1.2× sigil-sign-both |",
				"| sigil-sign-v2 |",
			},
			notWant: []string{"not run", "sigil-sign-files"}},
		// -cosign-max 100 leaves cosign out above 100, not at 100.
		{section: "N = 100 images",
			want:    []string{"| cosign sign, one process per image and registry | 160.00 |"},
			notWant: []string{"not run"}},
		{section: "N = 1000 images",
			want: []string{
				"| sigil sign --format legacy, one run | 70.00 |",
				"| cosign sign, one process per image and registry | – | – | – | – | – | – | not run: N = 1000 > -cosign-max 100 |",
				"| cosign sign, all refs in one call | – |",
				"| cosign verify, one process per image and registry | – |",
				"| cosign verify, all refs in one call | – |",
			},
			notWant: []string{"sigil sign --format both", "sigil-sign-both", "sigil-verify-prov", "cosign-verify-loop |", "cosign sign-blob"}},
		{section: "Files: 5 files of 1MiB of random bytes; one sparse file of 64MiB signed alone, median of 1 runs",
			want: []string{
				"| sigil sign --files, one run | 0.90 |",
				"| sigil sign --files, the big sparse file alone | 2.50 | 0.60 | 140 |",
				"Network floor of sigil sign --files: token 1 + Fulcio 1 + ⌈5/16⌉ = 1 × Rekor 1 = 3 round trips = **0.12 s**",
				"![wall time against N](bench/wall-time.png)",
			},
			// cosign's loop did not run although 5 ≤ -cosign-max: no row.
			notWant: []string{"cosign sign-blob", "not run"}},
		{section: "Targets at N = 1000",
			want: []string{
				"| sigil-sign ≥ 20× faster than cosign-sign-loop, N = 10 | 20.0× | met |",
				"| sigil-sign-prov ≤ 1.5× the wall time of sigil-sign-both, N = 10 | 1.2× | met |",
				"| sigil-sign-prov ≤ 1.5× the wall time of sigil-sign-both, N = 100 | 1.2× | met |",
				"| sigil sign within 2× of the network floor",
				"| sigil peak RSS ≤ 100 MB (largest of any run, N = 1000 and the files) | 60 MB | met |",
				"| sigil peak RSS signing one 64MiB file ≤ 100 MB (largest of any run) | 140 MB | **missed** |",
			},
			notWant: []string{"cosign-sign-loop, N = 1000", "sigil-sign-both, N = 1000", "static binary"}},
	} {
		s := section(rep, tc.section)
		if s == "" {
			t.Errorf("no section %q in:\n%s", tc.section, rep)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("section %q lacks %q:\n%s", tc.section, w, s)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(s, w) {
				t.Errorf("section %q has %q:\n%s", tc.section, w, s)
			}
		}
	}
}

func TestWritePlot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bench func(t *testing.T) *bench
	}{
		{"cosign left out at N = 1000", fakeBench},
		{"one N of one image", func(t *testing.T) *bench {
			b := fakeBench(t)
			b.c.sizes = []int{1}
			b.results = map[int]*sizeResult{1: {n: 1, runs: []map[string]sample{{"sigil-sign": fakeSample(0.4, 30)}}}}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "wall-time.png")
			if err := tc.bench(t).writePlot(p); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := png.DecodeConfig(f)
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if cfg.Width < 400 || cfg.Height < 250 {
				t.Errorf("a %d×%d PNG", cfg.Width, cfg.Height)
			}
		})
	}
	b := fakeBench(t)
	b.results = map[int]*sizeResult{10: {n: 10, runs: []map[string]sample{{"sigil-sign-both": fakeSample(1, 30)}}}}
	b.c.sizes = []int{10}
	if err := b.writePlot(filepath.Join(t.TempDir(), "empty.png")); err == nil {
		t.Error("a plot of no plotted scenario: no error")
	}
}

func TestRelativeLink(t *testing.T) {
	for _, tc := range []struct{ out, plot, want string }{
		{"BENCHMARKS.md", "bench/wall-time.png", "bench/wall-time.png"},
		{"/tmp/a/bench.md", "/tmp/b/p.png", "../b/p.png"},
		{"/tmp/a/bench.md", "/tmp/a/p.png", "p.png"},
		{"", "bench/wall-time.png", "bench/wall-time.png"},
	} {
		if got := relativeLink(tc.out, tc.plot); got != tc.want {
			t.Errorf("relativeLink(%q, %q) = %q, want %q", tc.out, tc.plot, got, tc.want)
		}
	}
}

// TestFileSet makes the files phase's files: random files of the size
// asked, a sparse big file, a glob matching exactly the files, and clean
// removing only bundles.
func TestFileSet(t *testing.T) {
	dir := t.TempDir()
	b := &bench{c: &config{files: 3, fileSize: 4 << 10, bigFile: 256 << 20, cosignMax: 100}}
	fs, err := b.makeFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	in := fs.input(setFiles)
	matched, err := filepath.Glob(in.glob)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in.paths, matched); diff != "" || len(matched) != 3 {
		t.Errorf("the glob %s (-paths +matched):\n%s", in.glob, diff)
	}
	first, _ := os.ReadFile(in.paths[0])
	second, _ := os.ReadFile(in.paths[1])
	if len(first) != 4<<10 || bytes.Equal(first, second) {
		t.Errorf("files of %d and %d bytes, equal: %v", len(first), len(second), bytes.Equal(first, second))
	}
	big := fs.input(setBigFile)
	fi, err := os.Stat(big.glob)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 256<<20 {
		t.Errorf("the big file has %d bytes", fi.Size())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 1<<20 {
		t.Errorf("the big file takes %d bytes of disk: not sparse", st.Blocks*512)
	}
	if err := warm(append(in.paths, big.paths...)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{in.paths[0] + ".sigstore.json", in.paths[1] + cosignBundleSuffix, big.glob + ".sigstore.json"} {
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.clean(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	if diff := cmp.Diff(append([]string{big.glob}, in.paths...), left); diff != "" {
		t.Errorf("after clean (-want +got):\n%s", diff)
	}

	// -files 0 and -big-file 0: nothing to make.
	b.c.files, b.c.bigFile = 0, 0
	if fs, err := b.makeFiles(t.TempDir()); fs != nil || err != nil {
		t.Errorf("makeFiles with -files 0 -big-file 0 = %v, %v", fs, err)
	}
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		g, fd   [2]int
		samples int
		wantErr bool
	}{
		{name: "flat", in: "0 10 8\n100 40 30\n200 40 30\n300 12 9\n", g: [2]int{40, 40}, fd: [2]int{30, 30}, samples: 4},
		{name: "growing", in: "0 10 8\n100 20 10\n200 80 50\n300 90 60\n", g: [2]int{20, 90}, fd: [2]int{10, 60}, samples: 4},
		{name: "empty", in: "", wantErr: true},
		{name: "garbled", in: "0 ten 8\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseSamples([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (r.peakG != tc.g || r.peakFD != tc.fd || r.samples != tc.samples) {
				t.Errorf("got goroutines %v, files %v, %d samples; want %v, %v, %d", r.peakG, r.peakFD, r.samples, tc.g, tc.fd, tc.samples)
			}
		})
	}
}

func TestResourceGrowth(t *testing.T) {
	rs := []resources{
		{n: 100, step: "sign", peakG: [2]int{300, 280}, peakFD: [2]int{100, 90}},
		{n: 100, step: "verify", peakG: [2]int{100, 120}, peakFD: [2]int{40, 50}},
		{n: 1000, step: "sign", peakG: [2]int{500, 450}, peakFD: [2]int{150, 120}},
		{n: 1000, step: "verify", peakG: [2]int{150, 300}, peakFD: [2]int{60, 70}},
	}
	g, ok := resourceGrowth(rs)
	if !ok || g.from != 100 || g.n != 1000 {
		t.Fatalf("resourceGrowth = %+v, %v", g, ok)
	}
	if got, want := g.describe(), "sign 1.7×, verify 2.5×"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	if g.bounded() {
		t.Error("verify's goroutines grew 2.5× and the growth is called bounded")
	}
	if _, ok := resourceGrowth(rs[:2]); ok {
		t.Error("one N: no growth to report")
	}
}
