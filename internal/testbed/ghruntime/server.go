package ghruntime

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Paths served by a Server.
const (
	// TokenPath is the path of the ACTIONS_ID_TOKEN_REQUEST_URL endpoint.
	TokenPath = "/_apis/distributedtask/idtoken"
	// DiscoveryPath is the OIDC discovery document.
	DiscoveryPath = "/.well-known/openid-configuration"
	// JWKSPath is the issuer's key set.
	JWKSPath = "/.well-known/jwks"
	// StatsPath reports how many tokens were minted.
	StatsPath = "/stats"
)

// Server is the token endpoint and OIDC issuer. It is an http.Handler; its
// methods are safe for concurrent use.
type Server struct {
	issuer       string
	requestToken []byte
	signer       jose.Signer
	jwks         jose.JSONWebKeySet
	now          func() time.Time

	mu    sync.Mutex
	total int
	byRun map[string]int
}

// Option configures New.
type Option func(*options)

type options struct {
	key *rsa.PrivateKey
	now func() time.Time
}

// WithKey sets the RSA key that signs tokens. The default is a fresh
// 2048-bit key, so tokens from an earlier Server do not verify.
func WithKey(k *rsa.PrivateKey) Option { return func(o *options) { o.key = k } }

// WithClock sets the clock that stamps iat, nbf and exp. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Server for issuer, the URL clients reach it at (scheme, host
// and optional path, no query), that mints tokens for requests bearing
// requestToken.
func New(issuer, requestToken string, opts ...Option) (*Server, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || strings.HasSuffix(issuer, "/") {
		return nil, fmt.Errorf("issuer %q must be an absolute http(s) URL without a query or trailing slash", issuer)
	}
	if requestToken == "" {
		return nil, errors.New("the request token is empty: give the bearer token clients must present")
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.key == nil {
		if o.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generating the issuer's RSA key: %w", err)
		}
	}
	pub := jose.JSONWebKey{Key: &o.key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing the key id: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: o.key, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("creating the token signer: %w", err)
	}
	return &Server{
		issuer:       issuer,
		requestToken: []byte(requestToken),
		signer:       signer,
		jwks:         jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}},
		now:          o.now,
		byRun:        map[string]int{},
	}, nil
}

// TokenURL is the value for ACTIONS_ID_TOKEN_REQUEST_URL: like GitHub's, it
// already carries a query string.
func (s *Server) TokenURL() string { return s.issuer + TokenPath + "?api-version=2.0" }

// Minted reports how many tokens were minted for runID, or in total when
// runID is empty.
func (s *Server) Minted(runID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if runID == "" {
		return s.total
	}
	return s.byRun[runID]
}

// ServeHTTP serves the token endpoint, the issuer's discovery document and
// JWKS, and the stats.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed; use GET")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, s.pathPrefix())
	switch path {
	case TokenPath:
		s.serveToken(w, r)
	case DiscoveryPath:
		writeJSON(w, http.StatusOK, s.discovery())
	case JWKSPath:
		writeJSON(w, http.StatusOK, s.jwks)
	case StatsPath:
		runID := r.URL.Query().Get("run_id")
		writeJSON(w, http.StatusOK, Stats{RunID: runID, Tokens: s.Minted(runID)})
	default:
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}
}

// Stats is the body of GET /stats.
type Stats struct {
	// RunID is the run_id asked about; empty for the total.
	RunID string `json:"run_id,omitempty"`
	// Tokens is how many tokens were minted.
	Tokens int `json:"tokens"`
}

// pathPrefix is the issuer URL's path, under which every endpoint lives.
func (s *Server) pathPrefix() string {
	u, _ := url.Parse(s.issuer) // validated by New
	return u.Path
}

func (s *Server) discovery() map[string]any {
	return map[string]any{
		"issuer":                                s.issuer,
		"jwks_uri":                              s.issuer + JWKSPath,
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      append([]string{"aud", "exp", "iat", "iss", "jti", "nbf"}, Parameters()...),
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(bearer), s.requestToken) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="actions"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		return
	}
	req, err := parseRequest(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tok, err := s.mint(req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.mu.Lock()
	s.total++
	s.byRun[req.claims["run_id"]]++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"value": tok})
}

func (s *Server) mint(req request) (string, error) {
	now := s.now().Truncate(time.Second)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("generating jti: %w", err)
	}
	claims := make(map[string]any, len(req.claims)+7)
	for k, v := range req.claims {
		claims[k] = v
	}
	claims["iss"] = s.issuer
	claims["aud"] = req.audience
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Add(-notBeforeSkew).Unix()
	claims["exp"] = now.Add(req.lifetime).Unix()
	claims["jti"] = fmt.Sprintf("%x-%x-%x-%x-%x", jti[0:4], jti[4:6], jti[6:8], jti[8:10], jti[10:])
	tok, err := jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing the token: %w", err)
	}
	return tok, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}
