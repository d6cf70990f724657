package inputlist_test

import (
	"fmt"

	"github.com/sigil-dev/sigil/inputlist"
)

func ExampleParseList() {
	images := inputlist.ParseList(`
# the same image on two registries
ghcr.io/fluxcd/flux-cli:v2.3.0
docker.io/fluxcd/flux-cli:v2.3.0, docker.io/fluxcd/flux-cli:latest
`)
	for _, image := range images {
		fmt.Println(image)
	}
	// Output:
	// ghcr.io/fluxcd/flux-cli:v2.3.0
	// docker.io/fluxcd/flux-cli:v2.3.0
	// docker.io/fluxcd/flux-cli:latest
}

func ExampleParseKeyValues() {
	annotations, err := inputlist.ParseKeyValues("org.opencontainers.image.source=https://github.com/fluxcd/flux2\nrelease = v2.3.0")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(annotations["release"])
	// Output:
	// v2.3.0
}
