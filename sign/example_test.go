package sign_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// Sign two tags of one image, on GHCR and Docker Hub, under one certificate.
// The token source is called once; a CI job would ask GitHub's token
// endpoint (see package ghaction).
func ExampleSigner_SignImages() {
	ctx := context.Background()
	services, err := trust.SelectServices(trust.ServiceOptions{SigningConfigPath: "signing_config.json"}, time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	tr, err := trust.LoadTrustedRoot("trusted_root.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	auth := registry.Auth{Credentials: []registry.Credential{{Host: "docker.io", Username: "me", Password: "token"}}}
	kc, _ := auth.Keychain()
	s, err := sign.New(
		sign.WithServices(services),
		sign.WithTrustedRoot(tr),
		sign.WithIdentityToken(func(context.Context) (string, error) { return "eyJ...", nil }),
		sign.WithRegistry(auth, registry.RemoteOptions(kc, nil, "example")...),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	images, err := s.SignImages(ctx, []string{"ghcr.io/org/app:v1.0.0", "docker.io/org/app:v1.0.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, img := range images {
		fmt.Println(img.Repository, img.Digest, len(img.Signatures))
	}
}
