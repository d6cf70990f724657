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
	"golang.org/x/sync/errgroup"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/setting"
)

// Manifest is one resolved manifest: an image, or an index and its children.
type Manifest struct {
	// Digest is repository@digest.
	Digest name.Digest
	// MediaType is the manifest's media type.
	MediaType types.MediaType
	// Size is the manifest's size in bytes.
	Size int64
	// Platform is set for an index's child ("linux/arm64").
	Platform string
	// Children are an index's manifests, in index order.
	Children []Manifest
}

// ParseReference parses a user's image reference: a tag or a digest. Bare
// names get the "latest" tag, as docker does; the error names the input.
func ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("image %q is not a valid reference (want host/repository:tag or host/repository@sha256:...): %w", s, err)
	}
	return ref, nil
}

// Resolve turns ref into the digest that is signed. The manifest is asked
// for with a HEAD, which gives its digest and media type: Docker Hub counts
// each manifest GET against the account's pull limit (HEAD requests are not
// counted; docs.docker.com/docker-hub/usage/pulls), and a release resolves
// many references. Only an index whose platform manifests are wanted
// (children) is read whole, to list them (they live in the same
// repository). A registry that answers the HEAD without a digest is read
// with a GET.
func Resolve(ctx context.Context, ref name.Reference, auth Auth, children bool, opts ...remote.Option) (Manifest, error) {
	// A full slice: callers resolve concurrently with one shared options slice.
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	head, err := remote.Head(ref, opts...)
	if err != nil || head.MediaType == "" {
		head = nil
	}
	var desc *remote.Descriptor
	if head == nil || children && head.MediaType.IsIndex() {
		if desc, err = remote.Get(ref, opts...); err != nil {
			return Manifest{}, Explain(err, ref, auth)
		}
		head = &desc.Descriptor
	}
	m := Manifest{Digest: ref.Context().Digest(head.Digest.String()), MediaType: head.MediaType, Size: head.Size}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != head.Digest.String() {
		return Manifest{}, fmt.Errorf("%s: the registry served a manifest with digest %s", ref, head.Digest)
	}
	if !children || !head.MediaType.IsIndex() {
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
		child := Manifest{Digest: ref.Context().Digest(c.Digest.String()), MediaType: c.MediaType, Size: c.Size}
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
			fix := fmt.Sprintf("%s: %s=username:password; for ghcr.io, %s with `permissions: packages: write` to sign, `packages: read` to verify a private image", auth.name(setting.Credentials), host, auth.name(setting.GitHubToken))
			return &AuthError{Host: host, Source: auth.Source(host), Fix: fix, Err: err}
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return &NotFoundError{Ref: ref.String(), Err: err}
		}
	}
	if se := httpretry.Cause(err); se != err {
		return se // the registry's fault, named with its host: not the reference's
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
	// Host is the registry.
	Host string
	// Source says where the credentials came from (Auth.Source).
	Source string
	// Fix says how to give other credentials, naming the settings as the
	// caller's front end does.
	Fix string
	// Err is the registry's answer.
	Err error
}

// Error says which registry refused which credentials, and how to fix it.
func (e *AuthError) Error() string {
	if e.Source == anonymous {
		return fmt.Sprintf("registry %s refused anonymous access: the repository is private or does not exist; give credentials (%s)", e.Host, e.Fix)
	}
	return fmt.Sprintf("registry %s refused the credentials from %s: check the username and password (%s)", e.Host, e.Source, e.Fix)
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

// Target is one manifest to sign or verify, with the digest reference the
// registry calls use.
type Target struct {
	artifact.Target
	// Ref is Repository@Digest.
	Ref name.Digest
	// MediaType and Size are the manifest's, as resolved: with the digest,
	// the subject of a referrer. Empty when not known.
	MediaType types.MediaType
	Size      int64
}

// Resolved is what one reference resolved to.
type Resolved struct {
	// Targets are the manifest the reference names and, when children were
	// asked for, an index's platform manifests after it.
	Targets []Target
	// Err says why the reference could not be resolved.
	Err error
}

// ResolveAll parses and resolves every reference, at most limit at once
// (at least one), reading each manifest once. The results keep the order
// of refs, each with its own error: the caller decides whether one bad
// reference fails the run.
func ResolveAll(ctx context.Context, refs []string, auth Auth, children bool, limit int, opts ...remote.Option) []Resolved {
	out := make([]Resolved, len(refs))
	g := new(errgroup.Group)
	g.SetLimit(max(limit, 1))
	for i, in := range refs {
		g.Go(func() error {
			out[i] = resolveOne(ctx, in, auth, children, opts)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func resolveOne(ctx context.Context, in string, auth Auth, children bool, opts []remote.Option) Resolved {
	ref, err := ParseReference(in)
	if err != nil {
		return Resolved{Err: err}
	}
	m, err := Resolve(ctx, ref, auth, children, opts...)
	if err != nil {
		return Resolved{Err: err}
	}
	target := func(c Manifest, index string) Target {
		d := c.Digest
		return Target{Target: artifact.Target{Reference: in, Repository: d.Context().Name(), Digest: d.DigestStr(), Platform: c.Platform, Index: index},
			Ref: d, MediaType: c.MediaType, Size: c.Size}
	}
	r := Resolved{Targets: []Target{target(m, "")}}
	for _, c := range m.Children {
		r.Targets = append(r.Targets, target(c, m.Digest.DigestStr()))
	}
	return r
}
