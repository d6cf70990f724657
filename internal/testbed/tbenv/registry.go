package tbenv

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Authenticator returns r's basic credentials.
func (r Registry) Authenticator() authn.Authenticator {
	return &authn.Basic{Username: r.User, Password: r.Password}
}

// Tag returns the reference repo:tag on r.
func (r Registry) Tag(t testing.TB, repo, tag string) name.Tag {
	t.Helper()
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatalf("tbenv: %v", err)
	}
	return ref
}

// PushImage pushes img to repo:tag on r and returns its digest reference.
func (r Registry) PushImage(t testing.TB, repo, tag string, img v1.Image) name.Digest {
	t.Helper()
	return r.push(t, repo, tag, img, func(ref name.Reference, o ...remote.Option) error { return remote.Write(ref, img, o...) })
}

// PushIndex pushes idx, with its images, to repo:tag on r and returns its
// digest reference.
func (r Registry) PushIndex(t testing.TB, repo, tag string, idx v1.ImageIndex) name.Digest {
	t.Helper()
	return r.push(t, repo, tag, idx, func(ref name.Reference, o ...remote.Option) error { return remote.WriteIndex(ref, idx, o...) })
}

func (r Registry) push(t testing.TB, repo, tag string, art interface{ Digest() (v1.Hash, error) },
	write func(name.Reference, ...remote.Option) error) name.Digest {
	t.Helper()
	ref := r.Tag(t, repo, tag)
	if err := write(ref, remote.WithAuth(r.Authenticator()), remote.WithContext(t.Context())); err != nil {
		t.Fatalf("tbenv: pushing %s: %v", ref, err)
	}
	d, err := art.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// Keychain returns the credentials of every registry, for
// remote.WithAuthFromKeychain and code that takes a keychain.
func (e *Env) Keychain() authn.Keychain { return keychain(e.AllRegistries()) }

type keychain []Registry

func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	for _, r := range k {
		if res.RegistryStr() == r.Host {
			return r.Authenticator(), nil
		}
	}
	return authn.Anonymous, nil
}

// PushRandomImage pushes one random image to repo:tag on both registries
// and returns its digest references, GHCR first; the digest is the same.
func (e *Env) PushRandomImage(t testing.TB, repo, tag string) []name.Digest {
	t.Helper()
	img := RandomImage(t)
	var refs []name.Digest
	for _, r := range e.Registries() {
		refs = append(refs, r.PushImage(t, repo, tag, img))
	}
	return refs
}

// PushRandomIndex pushes one random multi-platform index (see
// RandomIndex) to repo:tag on both registries and returns its digest
// references, GHCR first.
func (e *Env) PushRandomIndex(t testing.TB, repo, tag string) []name.Digest {
	t.Helper()
	idx := RandomIndex(t)
	var refs []name.Digest
	for _, r := range e.Registries() {
		refs = append(refs, r.PushIndex(t, repo, tag, idx))
	}
	return refs
}

// RandomImage returns a small random image: two layers of 256 bytes.
func RandomImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// RandomIndex returns a random index of two images, for linux/amd64 and
// linux/arm64, as a multi-arch release has.
func RandomIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img := RandomImage(t)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// UniqueRepo returns a private repository name for t alone: sigil-test/,
// then t's name in lower case, then random characters.
func UniqueRepo(t testing.TB) string { return uniqueRepo(t, "sigil-test") }

// PublicRepo returns a public repository name for t alone, one anyone may
// pull: the bed's public namespace, then t's name and random characters.
func (e *Env) PublicRepo(t testing.TB) string { return uniqueRepo(t, e.PublicNamespace) }

func uniqueRepo(t testing.TB, namespace string) string {
	base := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 60 {
		base = base[:60]
	}
	return namespace + "/" + strings.Trim(base, "-") + "-" + randomString(t, 6)
}

func randomString(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

// DockerConfig writes a Docker config.json with every registry's
// credentials to a new temporary directory and returns the directory, for
// DOCKER_CONFIG.
func (e *Env) DockerConfig(t testing.TB) string {
	t.Helper()
	auths := map[string]map[string]string{}
	for _, r := range e.AllRegistries() {
		auths[r.Host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(fmt.Errorf("tbenv: writing the docker config: %w", err))
	}
	return dir
}
