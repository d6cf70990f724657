package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
	"github.com/sigil-dev/sigil/internal/testbed/reqcount"
)

// serveAuthenticated serves h and returns its host and a keychain with
// the credentials u and p for it.
func serveAuthenticated(t *testing.T, h http.Handler) (string, authn.Keychain) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	auth := Auth{Credentials: []Credential{{Host: host, Username: "u", Password: "p"}}}
	kc, err := auth.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	return host, kc
}

// referrerTo is a referrer manifest of subject whose one layer is layer
// (uploaded through p, with an empty config).
func referrerTo(t *testing.T, p *Pushes, repo name.Repository, subject v1.Descriptor, layer []byte) []byte {
	t.Helper()
	lh, err := p.UploadBlob(t.Context(), repo, layer)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := p.UploadBlobOnce(t.Context(), repo, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(struct {
		v1.Manifest
		ArtifactType string `json:"artifactType"`
	}{v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config:  v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: ch, Size: 2},
		Layers:  []v1.Descriptor{{MediaType: "application/vnd.test", Digest: lh, Size: int64(len(layer))}},
		Subject: &subject,
	}, "application/vnd.test.artifact"})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestPutReferrer attaches three referrers to one image on registries
// with and without the referrers API. Each is listed among the image's
// referrers as go-containerregistry (and so cosign) reads them; the
// referrers endpoint is asked once per registry host (not after every
// manifest, nor again for another repository there); without the API the
// fallback tag lists them all, sorted by digest, with the artifact type.
func TestPutReferrer(t *testing.T) {
	t.Parallel()
	quiet := ggcrregistry.Logger(log.New(io.Discard, "", 0))
	ghcr, err := authregistry.GHCR{Policy: regtoken.Policy{User: "u", Password: "p"}}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		h    http.Handler
		// fallback: the registry has no referrers API.
		fallback bool
		// wantAsked is how many times the referrers endpoint is asked.
		wantAsked int
	}{
		{"referrers API", ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), quiet), false, 1},
		{"no referrers API", ggcrregistry.New(quiet), true, 1},
		{"GHCR stand-in", ghcr, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			counter, counted := reqcount.Wrap(tc.h, reqcount.RegistryKind)
			host, kc := serveAuthenticated(t, counted)
			basic := remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})
			img, _ := random.Image(64, 1)
			ref, _ := name.ParseReference(host + "/org/app:v1")
			if err := remote.Write(ref, img, basic); err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(ref, basic)
			if err != nil {
				t.Fatal(err)
			}
			subject := v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
			repo := ref.Context()
			p := NewPushes(kc, nil, "test")
			var put []v1.Hash
			for _, layer := range []string{"one", "two", "three"} {
				raw := referrerTo(t, p, repo, subject, []byte(layer))
				h, err := p.PutReferrer(t.Context(), repo, raw, subject.Digest)
				if err != nil {
					t.Fatalf("PutReferrer(%s): %v", layer, err)
				}
				if want, _, _ := v1.SHA256(bytes.NewReader(raw)); h != want {
					t.Errorf("PutReferrer(%s) = %s, want the manifest's digest %s", layer, h, want)
				}
				put = append(put, h)
			}
			// Another repository on the same host.
			other, _ := name.NewRepository(host + "/org/other")
			if err := remote.Write(other.Digest(subject.Digest.String()), img, basic); err != nil {
				t.Fatal(err)
			}
			if _, err := p.PutReferrer(t.Context(), other, referrerTo(t, p, other, subject, []byte("one")), subject.Digest); err != nil {
				t.Fatalf("PutReferrer in %s: %v", other, err)
			}
			if n := counter.Counts()["GET referrers"]; n != tc.wantAsked {
				t.Errorf("referrers endpoint asked %d times, want %d", n, tc.wantAsked)
			}
			idx, err := remote.Referrers(repo.Digest(subject.Digest.String()), basic)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var got []v1.Hash
			for _, d := range im.Manifests {
				got = append(got, d.Digest)
				// (go-containerregistry's registry lists the config's
				// media type as the artifact type; the fallback tag is
				// PutReferrer's.)
				if tc.fallback && d.ArtifactType != "application/vnd.test.artifact" {
					t.Errorf("referrer %s has artifact type %q", d.Digest, d.ArtifactType)
				}
			}
			slices.SortFunc(put, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
			slices.SortFunc(got, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
			if !slices.Equal(got, put) {
				t.Errorf("referrers %v, want %v", got, put)
			}
			tags, err := remote.List(repo, basic)
			if err != nil {
				t.Fatal(err)
			}
			if has := slices.Contains(tags, FallbackTag(subject.Digest)); has != tc.fallback {
				t.Errorf("tags %v: fallback tag there %v, want %v", tags, has, tc.fallback)
			}
			if !tc.fallback {
				return
			}
			// The tag as written lists them sorted by digest.
			tagged, err := remote.Get(repo.Tag(FallbackTag(subject.Digest)), basic)
			if err != nil {
				t.Fatal(err)
			}
			var written v1.IndexManifest
			if err := json.Unmarshal(tagged.Manifest, &written); err != nil {
				t.Fatal(err)
			}
			if !slices.IsSortedFunc(written.Manifests, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) }) {
				t.Errorf("fallback tag's manifests are not sorted by digest: %+v", written.Manifests)
			}
		})
	}
}

// TestPutReferrerRefusesForeignFallbackTag: where the fallback tag names
// something that is not an OCI index, PutReferrer fails, naming it, and
// the tag still names what it did.
func TestPutReferrerRefusesForeignFallbackTag(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(host + "/org/app:v1")
	if err := remote.Write(ref, img, remote.WithAuth(authn.Anonymous)); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	// An image, not an index, under the subject's fallback tag.
	other, _ := random.Image(16, 1)
	tag := ref.Context().Tag(FallbackTag(desc.Digest))
	if err := remote.Write(tag, other); err != nil {
		t.Fatal(err)
	}
	before, _ := other.Digest()
	p := NewPushes(authn.DefaultKeychain, nil, "test")
	raw := referrerTo(t, p, ref.Context(), v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}, []byte("one"))
	_, err = p.PutReferrer(t.Context(), ref.Context(), raw, desc.Digest)
	if err == nil || !strings.Contains(err.Error(), FallbackTag(desc.Digest)) || !strings.Contains(err.Error(), "not an OCI image index") {
		t.Errorf("PutReferrer over a foreign fallback tag: %v, want a refusal naming the tag", err)
	}
	after, err := remote.Head(tag)
	if err != nil {
		t.Fatal(err)
	}
	if after.Digest != before {
		t.Errorf("fallback tag now names %s, want %s as before", after.Digest, before)
	}
}
