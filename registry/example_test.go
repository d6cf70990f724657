package registry_test

import (
	"fmt"

	"github.com/sigil-dev/sigil/registry"
)

func ExampleParseCredentials() {
	creds, err := registry.ParseCredentials(`
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

	_, err = registry.ParseCredentials("ghcr.io=octocat:ghs_token\nghcr.io octocat ghs_token")
	fmt.Println(err)
	// Output:
	// ghcr.io=octocat:***
	// index.docker.io=fluxcd:***
	// line 2: missing '=' after the host: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}
}
