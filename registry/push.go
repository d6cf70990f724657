package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Pushes holds, for a run that writes to repositories, one transport per
// repository, authenticated once for push (which includes pull), and
// writes small blobs through it in two requests.
//
// go-containerregistry uploads every blob with a HEAD (is it there?), a
// POST (start an upload), a PATCH (the bytes) and a PUT (commit): four
// round trips, for a signature's payload or config of a few hundred bytes.
// The distribution spec's monolithic upload, POST then a PUT that carries
// the bytes and the digest, is two; it is what containerd and oras-go
// (helm's OCI client) push with, to ghcr.io and Docker Hub among others.
// The spec's single-POST form would be one, but distribution (Docker Hub's
// registry) does not support it (distribution/distribution#1170) and its
// deprecation was proposed for lack of support
// (opencontainers/distribution-spec#234). go-containerregistry's writer
// cannot be told to skip the HEAD or the PATCH, so UploadBlob is written
// here; manifests still go through go-containerregistry (Options).
type Pushes struct {
	kc authn.Keychain
	t  http.RoundTripper
	// repos maps a repository's name to its *pushSession.
	repos sync.Map
	// referrers maps a registry host to its *hostReferrers, what is
	// known of its referrers API.
	referrers sync.Map
}

type pushSession struct {
	mu sync.Mutex
	rt http.RoundTripper

	// uploaded are the blobs UploadBlobOnce put, by digest (v1.Hash).
	uploaded sync.Map
}

// client is an HTTP client through s's transport that follows redirects
// only where sameHostRedirect lets it.
func (s *pushSession) client() *http.Client {
	return &http.Client{Transport: s.rt, CheckRedirect: sameHostRedirect}
}

// NewPushes returns the push transports of one run: credentials from kc,
// requests through t (remote.DefaultTransport when nil) under sigil's
// fixes, as RemoteOptions makes them, naming sigil as userAgent.
func NewPushes(kc authn.Keychain, t http.RoundTripper, userAgent string) *Pushes {
	rt := roundTripper(kc, t)
	if userAgent != "" {
		rt = transport.NewUserAgent(rt, userAgent)
	}
	return &Pushes{kc: kc, t: rt}
}

// Transport returns repo's transport, authenticating for push on first
// use (a ping and, on registries with token auth, one token). A failure is
// not kept: the next call tries again.
func (p *Pushes) Transport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	s, err := p.session(ctx, repo)
	if err != nil {
		return nil, err
	}
	return s.rt, nil
}

// session returns repo's push session, authenticated.
func (p *Pushes) session(ctx context.Context, repo name.Repository) (*pushSession, error) {
	v, _ := p.repos.LoadOrStore(repo.Name(), &pushSession{})
	s := v.(*pushSession)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rt != nil {
		return s, nil
	}
	auth, err := authn.Resolve(ctx, p.kc, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, p.t, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	s.rt = rt
	return s, nil
}

// Forget lets go of repo's push session (its token and transport) once
// the run has nothing more to write there; a later write authenticates
// again.
func (p *Pushes) Forget(repo name.Repository) { p.repos.Delete(repo.Name()) }

// Options returns go-containerregistry options for calls on repo through
// its push transport, bound to ctx: no ping or token of their own.
func (p *Pushes) Options(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	rt, err := p.Transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	// rt is a *transport.Wrapper: go-containerregistry uses it as it is,
	// without its own retries (sigil's transport retries).
	return []remote.Option{remote.WithTransport(rt), remote.WithContext(ctx)}, nil
}

// UploadBlob uploads data to repo as one blob, POST then PUT, and returns
// its digest. It does not ask first whether the blob is there: for the
// small, new blobs it is for (a signature's payload, a config listing
// them) the question costs as much as the upload. Errors are
// go-containerregistry's *transport.Error where the registry refused.
func (p *Pushes) UploadBlob(ctx context.Context, repo name.Repository, data []byte) (v1.Hash, error) {
	h := blobDigest(data)
	s, err := p.session(ctx, repo)
	if err != nil {
		return h, err
	}
	return h, upload(ctx, s, repo, data, h)
}

// blobDigest is data's digest.
func blobDigest(data []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(data))}
}

// upload uploads data, whose digest is h, to repo through s: POST, then PUT.
func upload(ctx context.Context, s *pushSession, repo name.Repository, data []byte, h v1.Hash) error {
	c := s.client()
	start := repoURL(repo, "blobs/uploads/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, start.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	loc, err := uploadLocation(resp)
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", h.String())
	loc.RawQuery = q.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = c.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	return transport.CheckError(resp, http.StatusCreated)
}

// UploadBlobOnce is UploadBlob for a blob that many writes of the run
// share (the empty config of every referrer): it is uploaded once per push
// session, and again after Forget.
func (p *Pushes) UploadBlobOnce(ctx context.Context, repo name.Repository, data []byte) (v1.Hash, error) {
	h := blobDigest(data)
	s, err := p.session(ctx, repo)
	if err != nil {
		return h, err
	}
	if _, ok := s.uploaded.Load(h); ok {
		return h, nil
	}
	if err := upload(ctx, s, repo, data, h); err != nil {
		return h, err
	}
	s.uploaded.Store(h, true)
	return h, nil
}

// uploadLocation is where the upload resp started continues: its
// Location, resolved against the request. A Location on another host that
// is a loopback, private or link-local address is refused, as
// go-containerregistry refuses it (a registry must not steer the upload's
// bytes at an internal service).
func uploadLocation(resp *http.Response) (*url.URL, error) {
	defer drain(resp)
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return nil, err
	}
	l := resp.Header.Get("Location")
	if l == "" {
		return nil, fmt.Errorf("starting an upload to %s: the registry answered without a Location", resp.Request.URL.Host)
	}
	u, err := url.Parse(l)
	if err != nil {
		return nil, fmt.Errorf("starting an upload to %s: Location %q: %w", resp.Request.URL.Host, l, err)
	}
	u = resp.Request.URL.ResolveReference(u)
	if err := internalHost(resp.Request.URL, u); err != nil {
		return nil, err
	}
	return u, nil
}

// internalHost refuses a move from from to a host other than from's that is a loopback,
// private, link-local or unspecified address.
func internalHost(from, to *url.URL) error {
	if to.Hostname() == from.Hostname() {
		return nil
	}
	if ip := net.ParseIP(to.Hostname()); ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()) {
		return fmt.Errorf("registry %s sent an upload to internal address %s: refused", from.Host, to.Host)
	}
	return nil
}

// sameHostRedirect applies internalHost to redirects.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("registry %s: too many redirects", via[0].URL.Host)
	}
	return internalHost(via[0].URL, req.URL)
}

// drain reads what is left of resp's body (so its connection is reused)
// and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
