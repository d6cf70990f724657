package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/latency"
)

// sample is one measurement: one process, or a loop of processes run one
// after another.
type sample struct {
	Wall  time.Duration
	User  time.Duration // summed over the processes
	Sys   time.Duration
	RSS   int64 // KiB: the largest peak resident set of any one process
	Procs int
	Load1 float64 // 1-minute load average when the measurement started
	// Upstreams is what the proxies carried during the measurement.
	Upstreams map[string]latency.Stats
}

// CPU is user plus system time.
func (s sample) CPU() time.Duration { return s.User + s.Sys }

// Requests is the total number of requests through the proxies.
func (s sample) Requests() int64 {
	var n int64
	for _, st := range s.Upstreams {
		n += st.Requests
	}
	return n
}

// timeBin is GNU time (Debian's time package). Peak RSS is read through it
// because a child that Go starts shares the parent's memory until exec
// (os/exec uses vfork), so the child's own rusage reports at least the
// bench's resident set, which grows during a session; time forks from a
// small process.
const timeBin = "/usr/bin/time"

// measure runs each command line of cmds, one after another, with env, and
// measures them together. Each process gets its own deadline.
func measure(ctx context.Context, proxy *latency.Group, env []string, dir string, cmds [][]string) (sample, error) {
	var s sample
	s.Load1 = load1()
	ruFile := filepath.Join(dir, ".rusage")
	before := proxy.Stats()
	begin := time.Now()
	for _, c := range cmds {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		argv := append([]string{timeBin, "-f", "%U %S %M", "-o", ruFile}, c...)
		cmd := exec.CommandContext(pctx, argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if cmd.ProcessState != nil {
			user, sys, rss, perr := readTime(ruFile)
			if perr != nil && err == nil {
				return s, fmt.Errorf("%s: %w", timeBin, perr)
			}
			s.User += user
			s.Sys += sys
			s.RSS = max(s.RSS, rss)
			s.Procs++
		}
		if err != nil {
			return s, fmt.Errorf("%s %s: %v\n%s", c[0], c[1], err, tail(out.String(), 30))
		}
	}
	s.Wall = time.Since(begin)
	s.Upstreams = map[string]latency.Stats{}
	for n, st := range proxy.Stats() {
		if d := st.Sub(before[n]); d.Requests > 0 || d.Connections > 0 {
			s.Upstreams[n] = d
		}
	}
	return s, nil
}

// readTime reads the line "USER SYS MAXRSS_KB" that GNU time wrote last.
func readTime(path string) (user, sys time.Duration, rssKB int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var u, sy float64
	if _, err := fmt.Sscanf(lines[len(lines)-1], "%g %g %d", &u, &sy, &rssKB); err != nil {
		return 0, 0, 0, fmt.Errorf("reading %q: %w", lines[len(lines)-1], err)
	}
	return time.Duration(u * float64(time.Second)), time.Duration(sy * float64(time.Second)), rssKB, nil
}

// load1 reads the 1-minute load average.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		return -1
	}
	return f
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tracing wraps p to write one line per request to w: the time, the
// upstream, the method and the path (never the query, which may carry
// credentials).
func tracing(p latency.Policy, w io.Writer) latency.Policy {
	var mu sync.Mutex
	return latency.PolicyFunc(func(upstream string, r *http.Request) latency.Plan {
		mu.Lock()
		fmt.Fprintf(w, "%s %s %s %s\n", time.Now().UTC().Format("15:04:05.000"), upstream, r.Method, r.URL.Path)
		mu.Unlock()
		return p.Plan(upstream, r)
	})
}
