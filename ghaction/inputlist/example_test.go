package inputlist_test

import (
	"fmt"

	"github.com/sigil-dev/sigil/ghaction/inputlist"
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

func ExampleParseCredentials() {
	creds, err := inputlist.ParseCredentials(`
ghcr.io=octocat:ghs_token
registry-1.docker.io=fluxcd:dckr_pat:with=colons
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range creds {
		fmt.Println(c) // the password is never printed
	}

	_, err = inputlist.ParseCredentials("ghcr.io=octocat:ghs_token\nghcr.io octocat ghs_token")
	fmt.Println(err)
	// Output:
	// ghcr.io=octocat:***
	// index.docker.io=fluxcd:***
	// line 2: missing '=' after the host: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}
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
