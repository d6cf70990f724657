package tbenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// Auth returns sigil's registry credentials for every registry of the bed.
func (e *Env) Auth() registry.Auth {
	var auth registry.Auth
	for _, r := range e.AllRegistries() {
		auth.Credentials = append(auth.Credentials, registry.Credential{Host: r.Host, Username: r.User, Password: r.Password})
	}
	return auth
}

// Signer returns sigil's signer on the bed: the services of signingConfig
// (SigningConfig for Rekor v1, SigningConfigV2 for Rekor v2 and the TSA),
// the bed's trusted root and registries, and tokens from the stand-in with
// claims, so a test signs as the workflow it names.
func (e *Env) Signer(t testing.TB, signingConfig string, claims Claims, opts ...sign.Option) *sign.Signer {
	t.Helper()
	services, err := trust.SelectServices(trust.ServiceOptions{SigningConfigPath: signingConfig}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trust.LoadTrustedRoot(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	auth := e.Auth()
	kc, err := auth.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.New(append([]sign.Option{
		sign.WithServices(services),
		sign.WithTrustedRoot(tr),
		sign.WithIdentityToken(func(context.Context) (string, error) { return e.IDToken(t, "sigstore", claims), nil }),
		sign.WithRegistry(auth, registry.RemoteOptions(kc, nil, "sigil-test")...),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ProvenanceFile writes the provenance predicate sigil builds from claims c
// (see package provenance) into a file of t's and returns its path, for
// clients that attest a predicate file (cosign attest --predicate).
func ProvenanceFile(t testing.TB, c provenance.Claims) string {
	t.Helper()
	p, err := provenance.New(c, provenance.DefaultServerURL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "provenance.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
