// Command sigilprof is sigil's command-line tool with profiling: it runs
// app.CLI exactly as sigil's main does outside GitHub Actions, writing a CPU
// profile to $SIGIL_CPUPROFILE, a heap profile (at exit) to
// $SIGIL_MEMPROFILE, a heap profile at the run's peak live heap to
// $SIGIL_PEAKHEAPPROFILE, a block profile (waits of a millisecond or more)
// to $SIGIL_BLOCKPROFILE, and every 100 ms a line "MS GOROUTINES FDS" (time
// since start, live goroutines, open file descriptors) to $SIGIL_SAMPLES.
// `go run ./bench -profile DIR -sigil-prof BIN` uses it;
// it is not shipped.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/sigil-dev/sigil/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if p := os.Getenv("SIGIL_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sigilprof:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "sigilprof:", err)
			os.Exit(2)
		}
	}
	if os.Getenv("SIGIL_BLOCKPROFILE") != "" {
		runtime.SetBlockProfileRate(int(time.Millisecond))
	}
	if p := os.Getenv("SIGIL_SAMPLES"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sigilprof:", err)
			os.Exit(2)
		}
		defer f.Close()
		go sample(f, time.Now())
	}
	if p := os.Getenv("SIGIL_PEAKHEAPPROFILE"); p != "" {
		go peakHeap(p)
	}
	code := app.CLI(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, app.Env{})
	stop()
	pprof.StopCPUProfile()
	if p := os.Getenv("SIGIL_BLOCKPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("block").WriteTo(f, 0)
			f.Close()
		}
	}
	if p := os.Getenv("SIGIL_MEMPROFILE"); p != "" {
		runtime.GC()
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// sample writes the goroutines and open file descriptors to w every 100 ms.
func sample(w io.Writer, start time.Time) {
	for t := time.NewTicker(100 * time.Millisecond); ; <-t.C {
		fds := -1
		if d, err := os.ReadDir("/proc/self/fd"); err == nil {
			fds = len(d) - 1 // the directory being read
		}
		fmt.Fprintf(w, "%d %d %d\n", time.Since(start).Milliseconds(), runtime.NumGoroutine(), fds)
	}
}

// peakHeap writes the heap profile to path whenever a collection has left
// more live heap than any before it, so that the file ends up holding what
// was live at the run's peak (a heap profile at exit shows only what is
// left then). It looks every 10 ms; a peak between two collections it
// misses is at most one cycle's growth.
func peakHeap(path string) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	var peak, cycles uint64
	for t := time.NewTicker(10 * time.Millisecond); ; <-t.C {
		metrics.Read(s)
		live, c := s[0].Value.Uint64(), s[1].Value.Uint64()
		if c == cycles || live <= peak {
			continue
		}
		cycles, peak = c, live
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sigilprof:", err)
			return
		}
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
}
