// Command bench measures sigil against cosign v2.6.5 on the test bed, with
// every request to the bed's services going through the latency proxy
// (internal/testbed/latency): signing N images present on two registries,
// and verifying them; then signing release files. `make bench` runs it;
// the results go into BENCHMARKS.md between its generated-section markers
// and to stdout, and a plot of wall time against N into -plot.
//
// For each N and each run, fresh repositories receive the same N random
// images (the first a two-platform index) on both registries (directly,
// not measured), one set per signing scenario, so that every scenario signs
// unsigned images and every legacy .sig tag holds one signature. The
// re-sign scenario runs sigil again on the set it signed in both formats,
// with the same identity: everything is signed already (#11). Two more
// sets are signed by sigil with SLSA provenance (format both) and with
// Rekor v2 and the timestamp authority (format bundle). The verification
// scenarios read the sets sigil signed: in the legacy format (what cosign
// v2 verifies without a trusted root), in both formats, with provenance
// (required) and with Rekor v2. cosign's scenarios are left out above
// -cosign-max (at N = 1000, a loop of 2,000 cosign processes takes some
// half an hour a run).
//
// The files phase, after the images, signs -files random files of
// -file-size with one sigil run and with a loop of cosign sign-blob
// processes, verifies them with sigil, and signs one sparse file of
// -big-file alone, whose peak RSS shows that sigil streams files. Its runs
// are -runs of N = -files.
//
// Ratios are taken run by run between measurements of the same run, then
// their median reported.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/fronted"
	"github.com/sigil-dev/sigil/internal/testbed/latency"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

type config struct {
	envFile      string
	sigil        string
	sigilProf    string
	cosign       string
	sizes        []int
	runs         map[int]int
	delay        time.Duration
	connectDelay time.Duration
	concurrency  int
	out          string
	only         []string
	profileDir   string
	workDir      string
	registries   string
	trace        string
	// cosignMax is the largest N (images, or files) cosign is run at.
	cosignMax int
	// files and fileSize are the files phase's files; bigFile the size of
	// the sparse file signed alone. 0 leaves either out.
	files             int
	fileSize, bigFile byteSize
	// plot is the PNG (or another format gonum/plot writes, by its
	// extension) of wall time against N; "" writes none.
	plot string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c := &config{}
	var sizes, runs, only string
	defEnv := os.Getenv("SIGIL_TB_ENV")
	if defEnv == "" {
		defEnv = ".testbed/env"
	}
	fs.StringVar(&c.envFile, "env", defEnv, "the test bed's env file (make testbed writes it)")
	fs.StringVar(&c.sigil, "sigil", "bin/sigil", "the sigil binary to measure (static, -trimpath -ldflags='-s -w')")
	fs.StringVar(&c.sigilProf, "sigil-prof", "", "a build of bench/sigilprof, for -profile")
	fs.StringVar(&c.cosign, "cosign", "", "the cosign v2 binary (default: the bed's SIGIL_TB_COSIGN2)")
	fs.StringVar(&sizes, "n", "10,100", "numbers of images, comma-separated; each is on both registries")
	fs.StringVar(&runs, "runs", "10=5,100=3", "runs per N (N=runs, comma-separated); figures are medians")
	fs.DurationVar(&c.delay, "delay", latency.DefaultDelay, "delay injected each way of every request")
	fs.DurationVar(&c.connectDelay, "connect-delay", 0, "delay injected once per new client connection (handshakes)")
	fs.IntVar(&c.concurrency, "concurrency", 16, "sigil's --concurrency")
	fs.StringVar(&c.out, "out", "BENCHMARKS.md", "markdown file whose generated section is replaced (empty: print only)")
	fs.StringVar(&only, "only", "", "run only these scenarios (comma-separated keys; default all)")
	fs.StringVar(&c.profileDir, "profile", "", "after the runs, sign, verify and sign again each N once more with -sigil-prof, writing CPU, heap and block profiles and goroutine and open-file samples here (the report gives their peaks)")
	fs.StringVar(&c.workDir, "work", "", "working directory (default: a new temporary one)")
	fs.StringVar(&c.trace, "trace", "", "append every proxied request (time, upstream, method, path) to this file")
	fs.StringVar(&c.registries, "registries", "own", "own: registries shaped as the bed's ghcr.io and docker.io stand-ins, started in this process for the benchmark alone; bed: the bed's (shared with running tests)")
	fs.IntVar(&c.cosignMax, "cosign-max", 100, "run cosign's scenarios only up to this N (images or files); the report names those left out")
	fs.IntVar(&c.files, "files", 100, "files signed in the files phase (0: none); its runs are -runs of this N")
	c.fileSize, c.bigFile = 1<<20, 2<<30
	fs.Var(&c.fileSize, "file-size", "`size` of each file of the files phase, e.g. 1MiB, 64KiB, 1000000 (0: no files)")
	fs.Var(&c.bigFile, "big-file", "`size` of the sparse file sigil signs alone, for its peak RSS, e.g. 2GiB (0: none)")
	fs.StringVar(&c.plot, "plot", "bench/wall-time.png", "write a log-log plot of wall time against N here, linked from -out (empty: none)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.cosignMax < 0 || c.files < 0 {
		return nil, errors.New("-cosign-max and -files take a number ≥ 0")
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a positive number", s)
		}
		c.sizes = append(c.sizes, n)
	}
	c.runs = map[int]int{}
	for _, kv := range strings.Split(runs, ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err1 := strconv.Atoi(strings.TrimSpace(k))
		r, err2 := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err1 != nil || err2 != nil || r < 1 {
			return nil, fmt.Errorf("-runs: %q is not N=RUNS", kv)
		}
		c.runs[n] = r
	}
	if only != "" {
		c.only = strings.Split(only, ",")
		for _, k := range c.only {
			s := scenarioByKey(k)
			if s == nil {
				return nil, fmt.Errorf("-only: no scenario %q", k)
			}
			if s.needs != "" && !slices.Contains(c.only, s.needs) {
				return nil, fmt.Errorf("-only: %s needs %s (it works on what that signed)", k, s.needs)
			}
		}
	}
	if c.registries != "own" && c.registries != "bed" {
		return nil, fmt.Errorf("-registries: %q is not own or bed", c.registries)
	}
	if c.profileDir != "" && c.sigilProf == "" {
		return nil, fmt.Errorf("-profile needs -sigil-prof")
	}
	return c, nil
}

// bench is one benchmark session.
type bench struct {
	c       *config
	f       *fronted.Bed
	out     *refuser
	home    string
	results map[int]*sizeResult
	// files holds the files phase's runs (nil when it did not run).
	files *sizeResult
	// plotLink is the plot's path relative to -out's directory, once
	// written.
	plotLink string
	// resources are the profiled runs' goroutines and open files
	// (-profile).
	resources []resources
	// builtFrom is the working tree's commit when the session started
	// (`make bench` builds sigil just before).
	builtFrom string
}

// sizeResult holds every run's samples for one N: images, or the files
// phase's files.
type sizeResult struct {
	n     int
	files bool
	runs  []map[string]sample // by scenario key
}

// name is "N = 10", or "10 files".
func (sr *sizeResult) name() string {
	if sr.files {
		return fmt.Sprintf("%d files", sr.n)
	}
	return fmt.Sprintf("N = %d", sr.n)
}

func run(ctx context.Context, args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	ef, err := os.Open(c.envFile)
	if err != nil {
		return fmt.Errorf("%w: start the test bed with `make testbed`", err)
	}
	e, err := tbenv.Parse(ef)
	ef.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", c.envFile, err)
	}
	if c.cosign == "" {
		c.cosign = e.Cosign2
	}
	for _, b := range []*string{&c.sigil, &c.cosign, &c.sigilProf} {
		if *b == "" {
			continue
		}
		if _, err := os.Stat(*b); err != nil {
			return fmt.Errorf("%w (`make bench` builds bin/sigil)", err)
		}
		// The tools run in a directory of their own.
		if *b, err = filepath.Abs(*b); err != nil {
			return err
		}
	}
	if _, err := os.Stat(timeBin); err != nil {
		return fmt.Errorf("%w: install GNU time (apt-get install time): it reports each process's CPU and peak RSS", err)
	}
	if c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "sigil-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(c.workDir)
	}
	// The tools run in a directory of their own and are given file paths.
	if c.workDir, err = filepath.Abs(c.workDir); err != nil {
		return err
	}
	if c.registries == "own" {
		ghcr, dockerhub, stop, err := ownRegistries()
		if err != nil {
			return err
		}
		defer stop()
		own := *e
		own.GHCR, own.DockerHub = ghcr, dockerhub
		e = &own
	}
	policy := latency.Fixed(c.delay)
	if c.trace != "" {
		tf, err := os.OpenFile(c.trace, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer tf.Close()
		policy = tracing(policy, tf)
	}
	f, err := front(e, c.workDir, latency.WithPolicy(policy), latency.WithConnectDelay(c.connectDelay))
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := startRefuser()
	if err != nil {
		return err
	}
	defer out.Close()
	b := &bench{c: c, f: f, out: out, home: filepath.Join(c.workDir, "home"), results: map[int]*sizeResult{}, builtFrom: gitDescribe()}
	if err := os.MkdirAll(b.home, 0o700); err != nil {
		return err
	}
	started := time.Now()
	logf("sigil %s, cosign %s; delay %v each way, connect delay %v; registries: %s; nproc %d; load %s", c.sigil, c.cosign, c.delay, c.connectDelay, c.registries, nproc(), loadavg())
	images := slices.ContainsFunc(scenarios, func(s scenario) bool { return !s.files && b.selected(s) })
	for _, n := range c.sizes {
		if !images {
			break
		}
		runs := c.runs[n]
		if runs == 0 {
			runs = 3
		}
		sr := &sizeResult{n: n}
		b.results[n] = sr
		imgs, err := randomImages(n)
		if err != nil {
			return err
		}
		for r := range runs {
			res, err := b.runOnce(ctx, n, r, runs, imgs)
			if err != nil {
				return fmt.Errorf("N=%d run %d: %w", n, r+1, err)
			}
			sr.runs = append(sr.runs, res)
		}
	}
	if err := b.runFilesPhase(ctx); err != nil {
		return err
	}
	if esc := out.Escapes(); esc > 0 {
		return fmt.Errorf("a tool sent %d requests off the machine", esc)
	}
	if c.plot != "" {
		// A plot that cannot be drawn costs the report its link, not the
		// session's measurements.
		if err := b.writePlot(c.plot); err != nil {
			logf("no plot: -plot %s: %v", c.plot, err)
		} else {
			logf("wrote %s", c.plot)
			b.plotLink = relativeLink(c.out, c.plot)
		}
	}
	if c.profileDir != "" {
		for _, n := range c.sizes {
			if err := b.profile(ctx, n); err != nil {
				return err
			}
		}
	}
	rep := b.report(time.Since(started))
	fmt.Print(rep)
	if c.out != "" {
		if err := writeGenerated(c.out, rep); err != nil {
			return err
		}
		logf("wrote %s", c.out)
	}
	return nil
}

// scenario is one thing measured.
type scenario struct {
	key   string
	label string
	// set names what it works on. In the image phase each signing
	// scenario has a set of its own, and the verification scenarios read
	// the sets sigil signed; in the files phase, setFiles or setBigFile.
	set string
	// files puts it in the files phase.
	files bool
	// needs is the scenario that must run before, on the same set.
	needs string
	cmds  func(b *bench, in input) [][]string
	env   func(b *bench) []string
}

// input is what a scenario works on.
type input struct {
	refs  []string // image references (the image phase)
	paths []string // files (the files phase)
	glob  string   // a glob matching exactly paths, as a release names its files
	// token is an identity token for cosign, fetched before the clock
	// starts; sigil fetches its own.
	token string
}

// The files phase's sets.
const (
	setFiles   = "files"
	setBigFile = "big-file"
)

// cosign reports whether s runs cosign, so that -cosign-max applies.
func (s scenario) cosign() bool { return strings.HasPrefix(s.key, "cosign-") }

var scenarios = []scenario{
	{key: "sigil-sign", label: "sigil sign --format legacy, one run", set: "sigil-legacy",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSign("legacy", in.refs)} },
		env:  (*bench).sigilEnv},
	{key: "cosign-sign-loop", label: "cosign sign, one process per image and registry", set: "cosign-loop",
		cmds: func(b *bench, in input) [][]string {
			return each(in.refs, func(r string) []string { return b.cosignSign(in.token, r) })
		},
		env: (*bench).cosignEnv},
	{key: "cosign-sign-multi", label: "cosign sign, all refs in one call", set: "cosign-multi",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.cosignSign(in.token, in.refs...)} },
		env:  (*bench).cosignEnv},
	{key: "sigil-sign-both", label: "sigil sign --format both (bundle referrer + legacy)", set: "sigil-both",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSign("both", in.refs)} },
		env:  (*bench).sigilEnv},
	{key: "sigil-resign-both", label: "sigil sign --format both again, same identity (all already signed)", set: "sigil-both", needs: "sigil-sign-both",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSign("both", in.refs)} },
		env:  (*bench).sigilEnv},
	{key: "sigil-sign-prov", label: "sigil sign --format both --provenance (signatures + SLSA provenance)", set: "sigil-prov",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSign("both", in.refs, "--provenance")} },
		env:  (*bench).sigilEnv},
	{key: "sigil-sign-v2", label: "sigil sign --format bundle, Rekor v2 and the TSA", set: "sigil-v2",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSignV2(in.refs)} },
		env:  (*bench).sigilEnv},
	{key: "sigil-verify", label: "sigil verify, one run (legacy signatures)", set: "sigil-legacy", needs: "sigil-sign",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilVerify(in.refs)} },
		env:  (*bench).sigilEnv},
	{key: "cosign-verify-loop", label: "cosign verify, one process per image and registry", set: "sigil-legacy", needs: "sigil-sign",
		cmds: func(b *bench, in input) [][]string {
			return each(in.refs, func(r string) []string { return b.cosignVerify(r) })
		},
		env: (*bench).cosignEnv},
	{key: "cosign-verify-multi", label: "cosign verify, all refs in one call", set: "sigil-legacy", needs: "sigil-sign",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.cosignVerify(in.refs...)} },
		env:  (*bench).cosignEnv},
	{key: "sigil-verify-both", label: "sigil verify, one run (bundle + legacy present)", set: "sigil-both", needs: "sigil-sign-both",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilVerify(in.refs)} },
		env:  (*bench).sigilEnv},
	{key: "sigil-verify-prov", label: "sigil verify --attestations provenance, one run", set: "sigil-prov", needs: "sigil-sign-prov",
		cmds: func(b *bench, in input) [][]string {
			return [][]string{b.sigilVerify(in.refs, "--attestations", "provenance")}
		},
		env: (*bench).sigilEnv},
	{key: "sigil-verify-v2", label: "sigil verify, one run (Rekor v2 bundles)", set: "sigil-v2", needs: "sigil-sign-v2",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilVerify(in.refs)} },
		env:  (*bench).sigilEnv},

	// The files phase.
	{key: "sigil-sign-files", label: "sigil sign --files, one run", set: setFiles, files: true,
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSignFiles(in.glob)} },
		env:  (*bench).sigilEnv},
	{key: "cosign-sign-blob-loop", label: "cosign sign-blob --bundle, one process per file", set: setFiles, files: true,
		cmds: func(b *bench, in input) [][]string {
			return each(in.paths, func(p string) []string { return b.cosignSignBlob(in.token, p) })
		},
		env: (*bench).cosignEnv},
	{key: "sigil-verify-files", label: "sigil verify --files, one run", set: setFiles, files: true, needs: "sigil-sign-files",
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilVerifyFiles(in.glob)} },
		env:  (*bench).sigilEnv},
	{key: "sigil-sign-bigfile", label: "sigil sign --files, the big sparse file alone", set: setBigFile, files: true,
		cmds: func(b *bench, in input) [][]string { return [][]string{b.sigilSignFiles(in.glob)} },
		env:  (*bench).sigilEnv},
}

// each is one command line per item, run one after another: a loop of
// processes, as release workflows write it.
func each(items []string, cmd func(string) []string) [][]string {
	var cmds [][]string
	for _, it := range items {
		cmds = append(cmds, cmd(it))
	}
	return cmds
}

func scenarioByKey(k string) *scenario {
	for i := range scenarios {
		if scenarios[i].key == k {
			return &scenarios[i]
		}
	}
	return nil
}

func (b *bench) selected(s scenario) bool {
	return len(b.c.only) == 0 || slices.Contains(b.c.only, s.key)
}

// runs reports whether s runs at n images (or files): selected, and not
// a cosign scenario above -cosign-max.
func (b *bench) runs(s scenario, n int) bool {
	return b.selected(s) && !b.cosignSkipped(s, n)
}

// cosignSkipped reports whether s is selected but left out at n by
// -cosign-max.
func (b *bench) cosignSkipped(s scenario, n int) bool {
	return b.selected(s) && s.cosign() && n > b.c.cosignMax
}

// runOnce pushes fresh image sets and measures every image scenario once.
func (b *bench) runOnce(ctx context.Context, n, r, runs int, imgs []remote.Taggable) (map[string]sample, error) {
	id := fmt.Sprintf("%x", rand.Uint32())
	sets := map[string][]string{}
	for _, s := range scenarios {
		if s.files || !b.runs(s, n) || sets[s.set] != nil {
			continue
		}
		set, err := pushSet(ctx, b.f, fmt.Sprintf("bench/n%d-%s-%s", n, id, s.set), imgs)
		if err != nil {
			return nil, err
		}
		sets[s.set] = set.refs
	}
	res := map[string]sample{}
	for _, s := range scenarios {
		if s.files || !b.runs(s, n) {
			continue
		}
		sm, err := b.measure(ctx, s, input{refs: sets[s.set]})
		if err != nil {
			return nil, err
		}
		res[s.key] = sm
		b.logSample(fmt.Sprintf("N=%d run %d/%d", n, r+1, runs), s.key, sm)
	}
	return res, nil
}

// measure measures s once on in, with a fresh token for cosign.
func (b *bench) measure(ctx context.Context, s scenario, in input) (sample, error) {
	// Every cosign scenario gets a fresh token (fetched before the clock
	// starts): cosign is given the token, sigil fetches its own.
	token, err := token(ctx, b.f)
	if err != nil {
		return sample{}, err
	}
	in.token = token
	sm, err := measure(ctx, b.f.Proxy, s.env(b), b.home, s.cmds(b, in))
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", s.key, err)
	}
	return sm, nil
}

func (b *bench) logSample(what, key string, sm sample) {
	logf("%s %-21s wall %7.2fs cpu %7.2fs rss %4d MB procs %4d reqs %5d conns %4d load %.2f; service time %s",
		what, key, sm.Wall.Seconds(), sm.CPU().Seconds(), sm.RSS/1024, sm.Procs, sm.Requests(), conns(sm), sm.Load1, serviceTimes(sm))
}

func serviceTimes(s sample) string {
	var out []string
	for _, u := range upstreamOrder {
		if st, ok := s.Upstreams[u]; ok {
			out = append(out, fmt.Sprintf("%s %.1fs", u, st.Service.Seconds()))
		}
	}
	return strings.Join(out, ", ")
}

func conns(s sample) int64 {
	var n int64
	for _, st := range s.Upstreams {
		n += st.Connections
	}
	return n
}

// baseEnv is a clean environment: no proxy for loopback, a refusing one for
// anything else, its own HOME and TUF cache.
func (b *bench) baseEnv() []string {
	return []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + b.home,
		"TUF_ROOT=" + filepath.Join(b.home, "tuf"),
		"HTTPS_PROXY=" + b.out.URL(),
		"HTTP_PROXY=" + b.out.URL(),
		"NO_PROXY=",
	}
}

func (b *bench) sigilEnv() []string {
	return append(b.baseEnv(),
		"ACTIONS_ID_TOKEN_REQUEST_URL="+tokenURL(b.f),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN="+b.f.Env.Token,
	)
}

func (b *bench) cosignEnv() []string {
	return append(b.baseEnv(),
		"DOCKER_CONFIG="+b.f.DockerConfig,
		"SIGSTORE_ROOT_FILE="+b.f.Env.FulcioRoot,
		"SIGSTORE_REKOR_PUBLIC_KEY="+b.f.Env.RekorPubKey,
		"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="+b.f.Env.CTLogPubKey,
	)
}

func (b *bench) sigilSign(format string, refs []string, extra ...string) []string {
	return b.sigilSignWith(b.f.SigningConfig, format, refs, extra...)
}

// sigilSignV2 signs bundles with the signing config naming Rekor v2 and
// the timestamp authority (legacy signatures need Rekor v1).
func (b *bench) sigilSignV2(refs []string) []string {
	return b.sigilSignWith(b.f.SigningConfigV2, "bundle", refs)
}

func (b *bench) sigilSignWith(signingConfig, format string, refs []string, extra ...string) []string {
	args := []string{b.c.sigil, "sign", "--format", format, "--concurrency", strconv.Itoa(b.c.concurrency),
		"--signing-config", signingConfig, "--trusted-root", b.f.TrustedRoot}
	args = append(args, extra...)
	args = append(args, credentialFlags(b.f)...)
	return append(args, refs...)
}

func (b *bench) sigilVerify(refs []string, extra ...string) []string {
	args := []string{b.c.sigil, "verify", "--concurrency", strconv.Itoa(b.c.concurrency),
		"--trusted-root", b.f.TrustedRoot,
		"--certificate-identity", identity, "--certificate-oidc-issuer", b.f.Env.Issuer}
	args = append(args, extra...)
	args = append(args, credentialFlags(b.f)...)
	return append(args, refs...)
}

// sigilSignFiles signs the files glob matches, each bundle written next to
// its file as FILE.sigstore.json.
func (b *bench) sigilSignFiles(glob string) []string {
	return []string{b.c.sigil, "sign", "--concurrency", strconv.Itoa(b.c.concurrency),
		"--signing-config", b.f.SigningConfig, "--trusted-root", b.f.TrustedRoot, "--files", glob}
}

func (b *bench) sigilVerifyFiles(glob string) []string {
	return []string{b.c.sigil, "verify", "--concurrency", strconv.Itoa(b.c.concurrency),
		"--trusted-root", b.f.TrustedRoot,
		"--certificate-identity", identity, "--certificate-oidc-issuer", b.f.Env.Issuer, "--files", glob}
}

func (b *bench) cosignSign(token string, refs ...string) []string {
	// cosign checks the certificate's SCT against the trusted root's CT
	// log, as on the public instance.
	args := []string{b.c.cosign, "sign", "--yes", "--identity-token=" + token,
		"--fulcio-url=" + b.f.Proxy.URL(upFulcio), "--rekor-url=" + b.f.Proxy.URL(upRekor),
		"--trusted-root=" + b.f.TrustedRoot,
		"--allow-http-registry", "--allow-insecure-registry"}
	return append(args, refs...)
}

// cosignSignBlob signs one file as release workflows do with cosign v2,
// its bundle (cosign's own JSON, Rekor v1) written beside the file under
// a name of its own, so sigil's bundles stay.
func (b *bench) cosignSignBlob(token, path string) []string {
	return []string{b.c.cosign, "sign-blob", "--yes", "--identity-token=" + token,
		"--fulcio-url=" + b.f.Proxy.URL(upFulcio), "--rekor-url=" + b.f.Proxy.URL(upRekor),
		"--trusted-root=" + b.f.TrustedRoot,
		"--bundle=" + path + cosignBundleSuffix, path}
}

func (b *bench) cosignVerify(refs ...string) []string {
	args := []string{b.c.cosign, "verify", "--rekor-url=" + b.f.Proxy.URL(upRekor),
		"--certificate-identity=" + identity, "--certificate-oidc-issuer=" + b.f.Env.Issuer,
		"--allow-http-registry", "--allow-insecure-registry"}
	return append(args, refs...)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}
