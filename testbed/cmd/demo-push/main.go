// Command demo-push prepares `make demo`: it pushes a small release to both
// registries of the running test bed — two images and one multi-platform
// index, each under the same digest on both — and writes release files, then
// prints the image references, one per line.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

func main() {
	envFile := flag.String("env", ".testbed/env", "the bed's env file")
	dist := flag.String("dist", "out/demo/dist", "directory for the demo release files")
	tag := flag.String("tag", "v1.0.0", "tag of the demo images")
	flag.Parse()
	if err := run(*envFile, *dist, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "demo-push:", err)
		os.Exit(1)
	}
}

func run(envFile, dist, tag string) error {
	f, err := os.Open(envFile)
	if err != nil {
		return fmt.Errorf("%w (start the bed with make testbed)", err)
	}
	defer f.Close()
	e, err := tbenv.Parse(f)
	if err != nil {
		return err
	}
	amd, err := random.Image(1024, 2)
	if err != nil {
		return err
	}
	arm, err := random.Image(1024, 2)
	if err != nil {
		return err
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	images := map[string]v1.Image{}
	for _, c := range []string{"source-controller", "kustomize-controller"} {
		if images[c], err = random.Image(1024, 2); err != nil {
			return err
		}
	}
	for _, r := range e.Registries() {
		auth := remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: r.User, Password: r.Password}))
		for _, c := range []string{"source-controller", "kustomize-controller"} {
			ref, err := name.NewTag(fmt.Sprintf("%s/fluxcd/%s:%s", r.Host, c, tag))
			if err != nil {
				return err
			}
			if err := remote.Write(ref, images[c], auth); err != nil {
				return fmt.Errorf("pushing %s: %w", ref, err)
			}
			fmt.Println(ref)
		}
		ref, err := name.NewTag(fmt.Sprintf("%s/fluxcd/flux-cli:%s", r.Host, tag))
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(ref, idx, auth); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Println(ref)
	}
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return err
	}
	for _, n := range []string{"flux_1.0.0_linux_amd64.tar.gz", "checksums.txt"} {
		if err := os.WriteFile(filepath.Join(dist, n), []byte("demo release file "+n+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}
