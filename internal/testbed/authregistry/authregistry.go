// Package authregistry is the test bed's stand-in for ghcr.io: an OCI
// registry with the referrers API (go-containerregistry's pkg/registry, in
// memory) behind HTTP basic auth.
//
// Every request, the /v2/ ping included, must carry the one user and
// password; otherwise the answer is 401 with an OCI error body and a
// "WWW-Authenticate: Basic realm=..." challenge, which is how clients such
// as go-containerregistry and cosign learn to send basic credentials.
package authregistry

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/registry"
)

// DefaultRealm is the realm of the basic-auth challenge.
const DefaultRealm = "sigil-testbed"

// New returns a registry with the referrers API that accepts only requests
// authenticated as user with password.
func New(user, password string) http.Handler {
	return BasicAuth(registry.New(registry.WithReferrersSupport(true)), DefaultRealm, user, password)
}

// BasicAuth wraps h so that only requests with the basic credentials user
// and password reach it; others get 401 and a challenge naming realm.
func BasicAuth(h http.Handler, realm, user, password string) http.Handler {
	// Comparing digests keeps the comparison constant-time whatever the
	// lengths.
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	challenge := fmt.Sprintf("Basic realm=%q", realm)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		if !ok || subtle.ConstantTimeCompare(gotUser[:], wantUser[:])&subtle.ConstantTimeCompare(gotPass[:], wantPass[:]) != 1 {
			w.Header().Set("WWW-Authenticate", challenge)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
