package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Manifest is one resolved manifest: an image, or an index and its children.
type Manifest struct {
	// Digest is repository@digest.
	Digest name.Digest
	// MediaType is the manifest's media type.
	MediaType types.MediaType
	// Platform is set for an index's child ("linux/arm64").
	Platform string
	// Children are an index's manifests, in index order.
	Children []Manifest
}

// IsIndex reports whether the manifest is a multi-platform index.
func (m Manifest) IsIndex() bool { return m.MediaType.IsIndex() }

// ParseReference parses a user's image reference: a tag or a digest. Bare
// names get the "latest" tag, as docker does; the error names the input.
func ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("image %q is not a valid reference (want host/repository:tag or host/repository@sha256:...): %w", s, err)
	}
	return ref, nil
}

// Resolve turns ref into the digest that is signed, reading the manifest
// once. With children, an index's platform manifests are listed too (they
// live in the same repository).
func Resolve(ctx context.Context, ref name.Reference, auth Auth, children bool, opts ...remote.Option) (Manifest, error) {
	// A full slice: callers resolve concurrently with one shared options slice.
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return Manifest{}, Explain(err, ref, auth)
	}
	m := Manifest{Digest: ref.Context().Digest(desc.Digest.String()), MediaType: desc.MediaType}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return Manifest{}, fmt.Errorf("%s: the registry served a manifest with digest %s", ref, desc.Digest)
	}
	if !children || !desc.MediaType.IsIndex() {
		return m, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: reading index: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: reading index: %w", ref, err)
	}
	for _, c := range im.Manifests {
		child := Manifest{Digest: ref.Context().Digest(c.Digest.String()), MediaType: c.MediaType}
		if c.Platform != nil {
			child.Platform = platformString(c.Platform)
		}
		m.Children = append(m.Children, child)
	}
	return m, nil
}

func platformString(p *v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Explain turns a registry error into one that says what failed and what to
// do: a tag that does not exist, credentials refused (naming where they came
// from), or the registry's own message.
func Explain(err error, ref name.Reference, auth Auth) error {
	host := ref.Context().RegistryStr()
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return &AuthError{Host: host, Source: auth.Source(host), Err: err}
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return &NotFoundError{Ref: ref.String(), Err: err}
		}
	}
	return fmt.Errorf("%s: %w", ref, err)
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// AuthError is a registry refusing the credentials sigil presented.
type AuthError struct {
	Host   string
	Source string
	Err    error
}

// Error says which registry refused which credentials, and how to fix it.
func (e *AuthError) Error() string {
	if e.Source == anonymous {
		return fmt.Sprintf("registry %s refused anonymous access: the repository is private or does not exist; give credentials (registry-credentials: %s=username:password; for ghcr.io, github-token)", e.Host, e.Host)
	}
	return fmt.Sprintf("registry %s refused the credentials from %s: check the username and password (registry-credentials: %s=username:password; for ghcr.io the job needs `permissions: packages: write` and github-token)", e.Host, e.Source, e.Host)
}

// Unwrap returns the registry's error.
func (e *AuthError) Unwrap() error { return e.Err }

// NotFoundError is a tag or digest the registry does not have.
type NotFoundError struct {
	Ref string
	Err error
}

// Error names the missing reference and what to check.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("image %s does not exist: check the tag or digest, and that it was pushed before this step", e.Ref)
}

// Unwrap returns the registry's error.
func (e *NotFoundError) Unwrap() error { return e.Err }
