// Command sigilprof is sigil's command-line tool with profiling: it runs
// app.CLI exactly as sigil's main does outside GitHub Actions, writing a CPU
// profile to $SIGIL_CPUPROFILE, a heap profile (at exit) to
// $SIGIL_MEMPROFILE and a block profile (waits of a millisecond or more) to
// $SIGIL_BLOCKPROFILE, and every 100 ms a line "MS GOROUTINES FDS" (time
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
