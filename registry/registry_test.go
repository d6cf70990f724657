package registry

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
)

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"docker.io": DockerHub, "registry-1.docker.io": DockerHub, "INDEX.docker.io": DockerHub,
		"ghcr.io": "ghcr.io", " 127.0.0.1:5000 ": "127.0.0.1:5000", "Localhost:5000": "localhost:5000",
	} {
		if got, err := NormalizeHost(in); err != nil || got != want {
			t.Errorf("NormalizeHost(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"https://index.docker.io/v1/", "user:pw@ghcr.io", "", "a b"} {
		if got, err := NormalizeHost(bad); err == nil {
			t.Errorf("NormalizeHost(%q) = %q, want an error", bad, got)
		}
	}
}

func TestKeychainOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"quay.io":{"auth":"`+"cXVheTpwdw=="+`"},"ghcr.io":{"auth":"Z2hjcjpmcm9tLWNvbmZpZw=="}}}`), 0o600)
	a := Auth{
		Credentials:     []Credential{{Host: "docker.io", Username: "hub", Password: "hub-pw"}},
		GitHubToken:     "ghs_token",
		DockerConfigDir: dir,
	}
	kc, err := a.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref, user, pass, source string
	}{
		{"docker.io/org/app", "hub", "hub-pw", "registry-credentials entry for docker.io"},
		{"index.docker.io/org/app", "hub", "hub-pw", "registry-credentials"},
		{"ghcr.io/org/app", "x-access-token", "ghs_token", "github-token"},
		{"quay.io/org/app", "quay", "pw", "Docker config"},
		{"example.com/org/app", "", "", "Docker config"},
	}
	for _, tc := range tests {
		ref, _ := name.ParseReference(tc.ref)
		auth, err := kc.Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tc.user || cfg.Password != tc.pass {
			t.Errorf("%s: got %q/%q, want %q/%q", tc.ref, cfg.Username, cfg.Password, tc.user, tc.pass)
		}
		if src := a.Source(ref.Context().RegistryStr()); !strings.Contains(src, tc.source) || strings.Contains(src, "pw") {
			t.Errorf("%s: source %q, want it to name %q and no secret", tc.ref, src, tc.source)
		}
	}
	if _, err := (Auth{DockerConfigDir: t.TempDir()}).Keychain(); err == nil {
		t.Error("a DOCKER_CONFIG without config.json was accepted")
	}
}

func TestResolveAndExplain(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(authregistry.New("user", "secret"))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	good := remote.WithAuth(&authn.Basic{Username: "user", Password: "secret"})
	img, _ := random.Image(64, 1)
	idx, _ := random.Index(64, 1, 2)
	tag, _ := name.NewTag(host + "/org/app:v1")
	itag, _ := name.NewTag(host + "/org/multi:v1")
	if err := remote.Write(tag, img, good); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(itag, idx, good); err != nil {
		t.Fatal(err)
	}
	auth := Auth{Credentials: []Credential{{Host: host, Username: "user", Password: "secret"}}}
	kc, _ := auth.Keychain()
	opts := RemoteOptions(kc, nil, "test")

	m, err := Resolve(t.Context(), tag, auth, true, opts...)
	if d, _ := img.Digest(); err != nil || m.Digest.DigestStr() != d.String() || m.MediaType.IsIndex() {
		t.Fatalf("Resolve(image) = %+v, %v", m, err)
	}
	m, err = Resolve(t.Context(), itag, auth, true, opts...)
	if err != nil || !m.MediaType.IsIndex() || len(m.Children) != 2 {
		t.Fatalf("Resolve(index) = %+v, %v; want 2 children", m, err)
	}
	if m, err = Resolve(t.Context(), itag, auth, false, opts...); err != nil || len(m.Children) != 0 {
		t.Fatalf("Resolve(index, no children) = %+v, %v", m, err)
	}

	missing, _ := name.NewTag(host + "/org/app:nope")
	_, err = Resolve(t.Context(), missing, auth, true, opts...)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), ":nope does not exist") {
		t.Errorf("missing tag: %v", err)
	}

	bad := Auth{Credentials: []Credential{{Host: host, Username: "user", Password: "wrong"}}}
	bkc, _ := bad.Keychain()
	_, err = Resolve(t.Context(), tag, bad, true, RemoteOptions(bkc, nil, "test")...)
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "refused the credentials from the registry-credentials entry for "+host) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}

	if _, err := ParseReference("UPPER/Case:tag"); err == nil || !strings.Contains(err.Error(), "not a valid reference") {
		t.Errorf("bad reference: %v", err)
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"ghcr.io/org/app:v1", "docker.io/library/alpine@sha256:" + strings.Repeat("a", 64), "app", "127.0.0.1:5000/x/y:z", "::", "a/b:c@sha256:zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseReference(s)
		if err != nil {
			if !strings.Contains(err.Error(), "not a valid reference") {
				t.Fatalf("error does not say what is wrong: %v", err)
			}
			return
		}
		// What parses names a repository and round-trips.
		again, err := ParseReference(ref.Name())
		if err != nil || again.Name() != ref.Name() {
			t.Fatalf("%q parsed as %q, which does not round-trip: %v", s, ref.Name(), err)
		}
	})
}
