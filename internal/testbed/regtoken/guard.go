package regtoken

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Guard puts a registry behind token auth, checking each request as the
// distribution registry's token access controller does: the /v2/ ping needs
// a valid token, every repository request the actions its method implies
// (GET and HEAD pull; POST, PUT and PATCH pull and push; DELETE delete; a
// cross-repository mount pull on the source too). Otherwise the answer is
// 401 with a challenge naming the realm, the service and the scope to ask
// for.
type Guard struct {
	Authority *Authority
	// Service is the tokens' audience and the challenge's service.
	Service string
	// Realm returns the token endpoint's URL for a request: Docker Hub's
	// is on another host, GHCR's on the registry's own.
	Realm func(*http.Request) string
	// Style picks the error bodies and GHCR's quirks (see Wrap).
	Style Style
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// PingScope is the scope GHCR names in its challenge to the /v2/ ping, a
// placeholder rather than a real repository (toddysm.com, 2024-03 update of
// "Authenticating with OCI Registries – GHCR Implementation").
const PingScope = "repository:user/image:pull"

// Wrap returns h behind the guard. With the GHCR style, a request whose
// Authorization is not a bearer token (basic credentials sent straight to
// the registry) gets 403 DENIED and no challenge, as GHCR answers
// (renovatebot/renovate#11446: "DENIED instead of an UNAUTHORIZED if any
// authentication is set, and DENIED does not include the www-authenticate
// header"; argoproj-labs/argocd-image-updater#303: basic auth on /v2/...
// gets {"errors":[{"code":"DENIED","message":"invalid token"}]}).
func (g Guard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want, ok := requiredAccess(r)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		authz := r.Header.Get("Authorization")
		scheme, raw, _ := strings.Cut(authz, " ")
		if authz != "" && !strings.EqualFold(scheme, "bearer") && g.Style == GHCR {
			writeJSON(w, http.StatusForbidden, ociErrors("DENIED", "invalid token"))
			return
		}
		if authz == "" || !strings.EqualFold(scheme, "bearer") {
			g.challenge(w, r, want, "")
			return
		}
		now := time.Now()
		if g.Now != nil {
			now = g.Now()
		}
		claims, err := g.Authority.Verify(strings.TrimSpace(raw), g.Service, now)
		if err != nil {
			g.challenge(w, r, want, "invalid_token")
			return
		}
		for _, a := range want {
			for _, act := range a.Actions {
				if !claims.Allows(a.Type, a.Name, act) {
					g.challenge(w, r, want, "insufficient_scope")
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// challenge answers 401 with the WWW-Authenticate header a client follows
// to the token endpoint.
func (g Guard) challenge(w http.ResponseWriter, r *http.Request, want []Access, errCode string) {
	c := fmt.Sprintf("Bearer realm=%q,service=%q", g.Realm(r), g.Service)
	var scopes []string
	for _, a := range want {
		scopes = append(scopes, a.Type+":"+a.Name+":"+strings.Join(a.Actions, ","))
	}
	if len(scopes) == 0 && g.Style == GHCR {
		scopes = []string{PingScope}
	}
	if len(scopes) > 0 {
		c += fmt.Sprintf(",scope=%q", strings.Join(scopes, " "))
	}
	if errCode != "" {
		c += fmt.Sprintf(",error=%q", errCode)
	}
	w.Header().Set("WWW-Authenticate", c)
	if g.Style == GHCR {
		writeJSON(w, http.StatusUnauthorized, ociErrors("UNAUTHORIZED", "authentication required"))
		return
	}
	// The distribution registry lists what was asked for in the detail.
	type detail struct{ Type, Class, Name, Action string }
	var details []detail
	for _, a := range want {
		for _, act := range a.Actions {
			details = append(details, detail{Type: a.Type, Name: a.Name, Action: act})
		}
	}
	body := map[string][]ociError{"errors": {{Code: "UNAUTHORIZED", Message: "authentication required"}}}
	if len(details) > 0 {
		body["errors"][0].Detail = details
	}
	writeJSON(w, http.StatusUnauthorized, body)
}

// requiredAccess returns the access a registry request needs; ok is false
// for paths outside the registry API, which the guard lets through.
func requiredAccess(r *http.Request) (want []Access, ok bool) {
	p := r.URL.Path
	if p == "/v2" || p == "/v2/" {
		return nil, true
	}
	if !strings.HasPrefix(p, "/v2/") {
		return nil, false
	}
	if p == "/v2/_catalog" {
		return []Access{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}, true
	}
	rest := strings.TrimPrefix(p, "/v2/")
	name := ""
	for _, kw := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(rest, kw); i > 0 && (name == "" || i < len(name)) {
			name = rest[:i]
		}
	}
	if name == "" {
		return nil, true // not a route; the registry answers 404 to a valid token
	}
	var actions []string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		actions = []string{"pull"}
	case http.MethodDelete:
		actions = []string{"delete"}
	default:
		actions = []string{"pull", "push"}
	}
	want = []Access{{Type: "repository", Name: name, Actions: actions}}
	if from := r.URL.Query().Get("from"); from != "" && r.Method == http.MethodPost {
		want = append(want, Access{Type: "repository", Name: from, Actions: []string{"pull"}})
	}
	return want, true
}
