package regtoken

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Style is which real token service a Server behaves as.
type Style int

const (
	// DockerHub is auth.docker.io: refused credentials get 401 with
	// {"details": ...}; otherwise the token grants what the caller may
	// have of what it asked, possibly nothing.
	DockerHub Style = iota
	// GHCR is ghcr.io/token: refused credentials get 403 DENIED; an
	// anonymous request for anything it may not have gets 401; the answer
	// carries the token alone.
	GHCR
)

// Policy says who may do what.
type Policy struct {
	// User and Password are the one account; it may pull, push and
	// delete in every repository.
	User, Password string
	// Public reports whether a repository may be pulled anonymously. Nil
	// means no repository is public.
	Public func(repository string) bool
}

// PublicNamespace returns a Public function for the bed's convention: a
// repository is public when its first path component is ns ("public/app"
// with ns "public"), private otherwise.
func PublicNamespace(ns string) func(string) bool {
	return func(repo string) bool { return strings.HasPrefix(repo, ns+"/") }
}

// authenticated reports whether user and password are the account's,
// comparing in constant time.
func (p Policy) authenticated(user, password string) bool {
	gu, gp := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	wu, wp := sha256.Sum256([]byte(p.User)), sha256.Sum256([]byte(p.Password))
	return subtle.ConstantTimeCompare(gu[:], wu[:])&subtle.ConstantTimeCompare(gp[:], wp[:]) == 1
}

// Grant returns what of want the caller may have: everything on
// repositories for the account, pull on public repositories for anyone.
// Nothing else (the catalog, other resource types) is granted. complete
// reports whether every requested action was granted.
func (p Policy) Grant(account bool, want []Access) (granted []Access, complete bool) {
	complete = true
	for _, w := range want {
		var actions []string
		for _, act := range w.Actions {
			ok := w.Type == "repository" && (account || (act == "pull" && p.Public != nil && p.Public(w.Name)))
			if ok {
				actions = append(actions, act)
			} else {
				complete = false
			}
		}
		if len(actions) > 0 {
			granted = append(granted, Access{Type: w.Type, Name: w.Name, Actions: actions})
		}
	}
	return granted, complete
}

// ParseScopes reads the scope parameters of a token request: each holds
// one or more space-separated "type:name:action,action" items, where name
// may contain colons (a registry host with a port) and type may carry a
// class, "repository(plugin)", which is dropped.
func ParseScopes(params []string) []Access {
	var out []Access
	for _, p := range params {
		for _, s := range strings.Fields(p) {
			first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
			if first < 0 || first == last {
				continue
			}
			typ, name, actions := s[:first], s[first+1:last], s[last+1:]
			if i := strings.Index(typ, "("); i >= 0 {
				typ = typ[:i]
			}
			var acts []string
			for _, a := range strings.Split(actions, ",") {
				if a != "" && !slices.Contains(acts, a) {
					acts = append(acts, a)
				}
			}
			out = append(out, Access{Type: typ, Name: name, Actions: acts})
		}
	}
	return out
}

// DefaultLifetime is a token's lifetime unless Server.Lifetime says
// otherwise: Docker Hub's tokens say expires_in 300.
const DefaultLifetime = 5 * time.Minute

// Server is a token endpoint (GET, basic credentials or none), as the
// distribution token specification describes it.
type Server struct {
	Authority *Authority
	// Service is the registry's name, the tokens' audience; a request
	// naming another service is refused.
	Service string
	Policy  Policy
	Style   Style
	// Lifetime of a token; zero means DefaultLifetime.
	Lifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// tokenResponse is the token endpoint's answer. Docker Hub sends token and
// access_token (the same), expires_in and issued_at; GHCR sends the token
// alone.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token,omitempty"`
	ExpiresIn   int    `json:"expires_in,omitempty"`
	IssuedAt    string `json:"issued_at,omitempty"`
}

// ServeHTTP answers a token request. Only GET is served: the OAuth2 POST
// flow that go-containerregistry tries for identity tokens falls back to GET
// on 404, which other methods get.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if svc := q.Get("service"); svc != "" && svc != s.Service {
		s.refuse(w, http.StatusBadRequest, "invalid service "+svc)
		return
	}
	user, pass, hasBasic := r.BasicAuth()
	account := hasBasic && s.Policy.authenticated(user, pass)
	if hasBasic && !account {
		if s.Style == GHCR {
			writeJSON(w, http.StatusForbidden, ociErrors("DENIED", "denied"))
		} else {
			s.refuse(w, http.StatusUnauthorized, "incorrect username or password")
		}
		return
	}
	granted, complete := s.Policy.Grant(account, ParseScopes(q["scope"]))
	if s.Style == GHCR && !complete {
		writeJSON(w, http.StatusUnauthorized, ociErrors("UNAUTHORIZED", "authentication required"))
		return
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	life := s.Lifetime
	if life == 0 {
		life = DefaultLifetime
	}
	subject := ""
	if account {
		subject = user
	}
	tok, err := s.Authority.Sign(subject, s.Service, granted, now, life)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp := tokenResponse{Token: tok}
	if s.Style == DockerHub {
		resp.AccessToken, resp.ExpiresIn, resp.IssuedAt = tok, int(life/time.Second), now.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, resp)
}

// refuse answers as auth.docker.io does: {"details": "..."}.
func (s *Server) refuse(w http.ResponseWriter, code int, details string) {
	writeJSON(w, code, map[string]string{"details": details})
}

// ociError is one entry of an OCI distribution error body.
type ociError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func ociErrors(code, message string) map[string][]ociError {
	return map[string][]ociError{"errors": {{Code: code, Message: message}}}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
