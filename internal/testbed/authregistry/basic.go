package authregistry

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
)

// DefaultRealm is the realm of BasicAuth's challenge.
const DefaultRealm = "sigil-testbed"

// BasicAuth wraps h so that only requests with the basic credentials user
// and password reach it; others get 401 and a challenge naming realm. No
// registry the bed stands for authenticates so (ghcr.io and Docker Hub
// issue bearer tokens); the benchmark uses it for a registry whose
// authentication costs nothing.
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
