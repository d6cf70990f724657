package registry

import (
	"crypto/subtle"
	"io"
	"net/http"
	"strings"
)

// anonymousReads lets sigil read a public image on ghcr.io when the job
// token is refused: a token request to the GHCR host that carries the
// GitHub token and asks only to pull, and is answered 401 or 403, is sent
// again without credentials, and the anonymous answer is used when it is a
// token.
//
// ghcr.io issues tokens at /token on the registry host, to anonymous
// callers too for public images; but it refuses a token it does not accept
// (an expired or revoked GITHUB_TOKEN, one of another installation) with
// DENIED even for a public image, where an anonymous request would have
// succeeded (orgs/community discussion 50487 and serge-chat/serge#68: a stale
// ghcr.io login gave "denied: denied" on public packages, which `docker
// logout ghcr.io` fixed). A
// verifier of a public image should not fail on a token it did not need.
// Writes never fall back, nor do requests for private images, whose
// anonymous answer is a refusal: the original answer is returned then.
type anonymousReads struct {
	inner http.RoundTripper
	// host is the GHCR host, normalized.
	host string
	// token is the GitHub token sent as the basic password.
	token string
}

// RoundTrip implements http.RoundTripper.
func (a anonymousReads) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || canonical(req.URL.Host) != a.host || !a.carriesToken(req) || !pullOnly(req.URL.Query()["scope"]) {
		return a.inner.RoundTrip(req)
	}
	resp, err := a.inner.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	anon := req.Clone(req.Context())
	anon.Header.Del("Authorization")
	aresp, aerr := a.inner.RoundTrip(anon)
	if aerr != nil {
		return resp, nil
	}
	if aresp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(aresp.Body, 64<<10))
		aresp.Body.Close()
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return aresp, nil
}

func (a anonymousReads) carriesToken(req *http.Request) bool {
	_, pass, ok := req.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(pass), []byte(a.token)) == 1
}

// pullOnly reports whether the scope parameters of a token request ask for
// nothing but pull on repositories.
func pullOnly(scopes []string) bool {
	n := 0
	for _, p := range scopes {
		for _, s := range strings.Fields(p) {
			typ, rest, _ := strings.Cut(s, ":")
			i := strings.LastIndex(rest, ":")
			if typ != "repository" || i < 0 || rest[i+1:] != "pull" {
				return false
			}
			n++
		}
	}
	return n > 0
}
