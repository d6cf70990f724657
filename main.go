// Command sigil keylessly signs container images and release files with
// Sigstore, and verifies them. With GITHUB_ACTIONS=true and no arguments it
// runs as the GitHub action; otherwise it is a command-line tool.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sigil-dev/sigil/app"
	"github.com/sigil-dev/sigil/ghaction"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

func run(ctx context.Context) int {
	if os.Getenv("GITHUB_ACTIONS") == "true" && len(os.Args) == 1 {
		rt, err := ghaction.New(ghaction.WithGetenv(os.Getenv), ghaction.WithStdout(os.Stdout))
		if err != nil {
			fmt.Fprintf(os.Stderr, "::error::%v\n", err)
			return 1
		}
		return app.Action(ctx, rt, os.Getenv, app.Env{})
	}
	return app.CLI(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, app.Env{})
}
