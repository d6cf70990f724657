package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sigil-dev/sigil/internal/httpretry"
)

// roundTripper is the http.RoundTripper under every registry call of a run:
// t (remote.DefaultTransport when nil) with, when kc is Auth's keychain
// with a GitHub token, refused token reads on ghcr.io retried anonymously,
// referrers answers checked (an HTML page there means "no referrers API",
// not a fault), and the lasting faults that remain reported as
// *httpretry.ServiceError.
func roundTripper(kc authn.Keychain, t http.RoundTripper) http.RoundTripper {
	if t == nil {
		t = remote.DefaultTransport
	}
	if k, ok := kc.(keychain); ok && k.auth.GitHubToken != "" {
		t = anonymousReads{inner: t, host: canonical(k.auth.ghcr()), token: k.auth.GitHubToken}
	}
	return httpretry.Service{Name: "registry", Base: referrersAPI{inner: t, absent: &sync.Map{}}}
}

// keychain is the keychain Auth.Keychain returns: it resolves through
// Keychain and remembers the Auth it came from, for roundTripper.
type keychain struct {
	authn.Keychain
	auth Auth
}

// maxReferrersBody bounds the referrers answer read to check it, as
// go-containerregistry bounds manifests.
const maxReferrersBody = 100 << 20

// referrersAPI turns an answer of a registry's referrers endpoint
// (GET /v2/<name>/referrers/<digest>) that is not an OCI image index into
// 404, which tells go-containerregistry that the registry has no referrers
// API, so it reads and writes the referrers tag (sha256-<hex>) instead.
//
// go-containerregistry v0.21.7 takes any 200 there for "referrers API
// supported" when it pushes a manifest with a subject
// (pkg/v1/remote/write.go, commitSubjectReferrers: `if resp.StatusCode ==
// http.StatusOK { return nil }`), after its http.Client has followed
// redirects; but when it reads referrers it uses the API only when the
// answer's Content-Type is the OCI index media type
// (pkg/v1/remote/referrers.go, fetchReferrers), and the tag otherwise. A
// registry that redirects its referrers endpoint to an HTML page, as ghcr.io
// has been seen to (a cross-host 303 to GitHub's web UI,
// artifacthub/hub#4785; Google Artifact Registry redirects it to a sign-in
// page, awslabs/soci-snapshotter docs/registry.md), thus gets a referrer
// pushed with no fallback tag, which no reader then finds: sigil's read-back
// failed the step. A redirected answer, or a 200 that is not an index of
// the OCI media type, is therefore answered 404 here, before the client can
// follow it, and writes and reads agree on the tag.
//
// A host found without the API is remembered for the run (absent): its
// referrers endpoint is not asked again, as go-containerregistry would for
// every read and write (three times per image signed on ghcr.io), but
// answered 404 here with the first answer's reason.
type referrersAPI struct {
	inner http.RoundTripper
	// absent maps a host found without a referrers API to why; nil keeps
	// no memory.
	absent *sync.Map
}

// RoundTrip implements http.RoundTripper.
func (t referrersAPI) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !isReferrersPath(req.URL.Path) {
		return t.inner.RoundTrip(req)
	}
	if t.absent != nil {
		if why, ok := t.absent.Load(req.URL.Host); ok {
			return noReferrersAPI(req, &http.Response{Body: http.NoBody}, why.(string)+" (remembered for this run)")
		}
	}
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	resp, err = t.check(req, resp)
	if err == nil && resp.StatusCode == http.StatusNotFound && t.absent != nil {
		why := "the registry has no referrers API (404)"
		if _, turned := resp.Header["X-Sigil-Referrers"]; turned {
			why = resp.Header.Get("X-Sigil-Referrers")
		}
		t.absent.Store(req.URL.Host, why)
	}
	return resp, err
}

// check turns an answer of the referrers endpoint that is not an OCI index
// into 404.
func (t referrersAPI) check(req *http.Request, resp *http.Response) (*http.Response, error) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return noReferrersAPI(req, resp, fmt.Sprintf("the registry redirected its referrers endpoint (%s, to %q)", resp.Status, resp.Header.Get("Location")))
	case http.StatusOK:
	default:
		return resp, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != string(types.OCIImageIndex) {
		return noReferrersAPI(req, resp, fmt.Sprintf("the registry's referrers endpoint answered Content-Type %q, not an OCI image index", ct))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReferrersBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the referrers of %s: %w", req.URL.Redacted(), err)
	}
	var idx struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
	}
	if len(b) > maxReferrersBody || json.Unmarshal(b, &idx) != nil || idx.SchemaVersion != 2 ||
		(idx.MediaType != "" && idx.MediaType != types.OCIImageIndex) {
		return noReferrersAPI(req, &http.Response{Body: http.NoBody}, "the registry's referrers endpoint answered something that is not an OCI image index")
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// isReferrersPath reports whether p is /v2/<name>/referrers/<digest>.
func isReferrersPath(p string) bool {
	i := strings.LastIndex(p, "/referrers/")
	return strings.HasPrefix(p, "/v2/") && i > len("/v2") && !strings.Contains(p[i+len("/referrers/"):], "/")
}

// noReferrersAPI discards resp and answers 404 in its place, saying why in
// the body (go-containerregistry keeps it only in errors).
func noReferrersAPI(req *http.Request, resp *http.Response, why string) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	body, _ := json.Marshal(map[string][]map[string]string{"errors": {{
		"code": "NOT_FOUND", "message": why + "; sigil uses the referrers tag schema",
	}}})
	return &http.Response{
		Status:        "404 Not Found",
		StatusCode:    http.StatusNotFound,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Sigil-Referrers": {why}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
