// Command sigilprof is sigil's command-line tool with profiling: it runs
// app.CLI exactly as sigil's main does outside GitHub Actions, writing a CPU
// profile to $SIGIL_CPUPROFILE, a heap profile (at exit) to
// $SIGIL_MEMPROFILE and a block profile (waits of a millisecond or more) to
// $SIGIL_BLOCKPROFILE. `go run ./bench -profile DIR -sigil-prof BIN` uses it;
// it is not shipped.
package main

import (
	"context"
	"fmt"
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
