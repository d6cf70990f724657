package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// referrersSupport is what a run knows of a registry's referrers API: not
// asked yet, there, or not (the fallback tag is written).
type referrersSupport int

const (
	referrersUnknown referrersSupport = iota
	referrersServed
	referrersMissing
)

// PutReferrer puts raw, an OCI image manifest with subject, to repo by its
// digest, and lists it among the subject's referrers where the registry
// does not: in the fallback tag sha256-<hex>, an OCI index read, added to
// and written back (distribution spec 1.1, "Unavailable Referrers API").
// It returns raw's digest.
//
// go-containerregistry's writer does the same, but asks the referrers API
// after every manifest whether it is there (its own TODO in
// remote/write.go: "This should be done once per registry, not once per
// subject"): one GET per signature on a registry with the API (sigil's
// transport answers it locally once a host is found without one, see
// referrersAPI). PutReferrer asks once per registry host. It asks rather
// than trusting the OCI-Subject header the spec has a registry with the
// API send: Docker Hub has sent that header without serving the API
// (docker/hub-feedback#2372). The fallback tag is written as
// go-containerregistry writes it (descriptors sorted by digest, no
// annotations), which is what cosign reads.
//
// Errors are go-containerregistry's *transport.Error where the registry
// refused; a manifest refused for a blob it does not hold has code
// MANIFEST_BLOB_UNKNOWN or BLOB_UNKNOWN.
func (p *Pushes) PutReferrer(ctx context.Context, repo name.Repository, raw []byte, subject v1.Hash) (v1.Hash, error) {
	var m struct {
		MediaType    types.MediaType `json:"mediaType"`
		ArtifactType string          `json:"artifactType"`
		Config       struct {
			MediaType types.MediaType `json:"mediaType"`
		} `json:"config"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return v1.Hash{}, fmt.Errorf("referrer manifest: %w", err)
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return h, err
	}
	s, err := p.session(ctx, repo)
	if err != nil {
		return h, err
	}
	c := s.client()
	if err := putManifest(ctx, c, repo, h.String(), m.MediaType, raw); err != nil {
		return h, err
	}
	v, _ := p.referrers.LoadOrStore(repo.RegistryStr(), &hostReferrers{})
	api, err := v.(*hostReferrers).ask(ctx, c, repo, subject)
	if err != nil || api == referrersServed {
		return h, err
	}
	add := v1.Descriptor{MediaType: m.MediaType, Digest: h, Size: size, ArtifactType: m.ArtifactType}
	if add.ArtifactType == "" {
		add.ArtifactType = string(m.Config.MediaType)
	}
	return h, addToFallbackTag(ctx, c, repo, subject, add)
}

// hostReferrers is what is known of one registry host's referrers API.
type hostReferrers struct {
	mu  sync.Mutex
	api referrersSupport
}

// ask asks once whether the registry serves the referrers API (through c,
// about subject in repo), as go-containerregistry asks: a 200 says it
// does, a 404 or 400 that it does not (the spec forbids a registry with
// the API a 404 here). A failure is not kept.
func (s *hostReferrers) ask(ctx context.Context, c *http.Client, repo name.Repository, subject v1.Hash) (referrersSupport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.api != referrersUnknown {
		return s.api, nil
	}
	u := repoURL(repo, "referrers/"+subject.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return referrersUnknown, err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := c.Do(req)
	if err != nil {
		return referrersUnknown, err
	}
	defer drain(resp)
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound, http.StatusBadRequest); err != nil {
		return referrersUnknown, err
	}
	s.api = referrersMissing
	if resp.StatusCode == http.StatusOK {
		s.api = referrersServed
	}
	return s.api, nil
}

// FallbackTag is the tag that lists subject's referrers in a repository
// of a registry without the referrers API: sha256-<hex>.
func FallbackTag(subject v1.Hash) string {
	return strings.Replace(subject.String(), ":", "-", 1)
}

// addToFallbackTag adds add to the index tagged with subject's fallback
// tag in repo, creating it when there is none; nothing when it is listed
// already.
func addToFallbackTag(ctx context.Context, c *http.Client, repo name.Repository, subject v1.Hash, add v1.Descriptor) error {
	tag := FallbackTag(subject)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, repoURL(repo, "manifests/"+tag).String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound); err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&im); err != nil {
			return fmt.Errorf("reading the referrers tag %s of %s: %w", tag, repo, err)
		}
		if im.SchemaVersion != 2 || im.MediaType != types.OCIImageIndex {
			return fmt.Errorf("the referrers tag %s of %s is not an OCI image index (schema %d, %s): refusing to overwrite it", tag, repo, im.SchemaVersion, im.MediaType)
		}
		if slices.ContainsFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == add.Digest }) {
			return nil
		}
	}
	im.Manifests = append(im.Manifests, add)
	slices.SortFunc(im.Manifests, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	raw, err := json.Marshal(im)
	if err != nil {
		return err
	}
	return putManifest(ctx, c, repo, tag, types.OCIImageIndex, raw)
}

// putManifest PUTs raw to repo's manifests/<ref>.
func putManifest(ctx context.Context, c *http.Client, repo name.Repository, ref string, mt types.MediaType, raw []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, repoURL(repo, "manifests/"+ref).String(), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", string(mt))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	return transport.CheckError(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted)
}

// repoURL is the URL of path under repo's /v2/<name>/.
func repoURL(repo name.Repository, path string) *url.URL {
	return &url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/%s", repo.RepositoryStr(), path)}
}
