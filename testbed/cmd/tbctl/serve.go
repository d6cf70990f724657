package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/bridge"
	"github.com/sigil-dev/sigil/internal/testbed/ghruntime"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
)

// serve runs the parts of the bed written in this project until SIGINT or
// SIGTERM: the GitHub runtime stand-in; the ghcr.io stand-ins (each with
// its own /token) and the HTML host one of them redirects to; Docker Hub's
// token service, shared by both docker.io stand-ins, and the docker.io
// stand-in with the referrers API; and the host ends of the bridges.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	issuerAddr := fs.String("github-listen", "", "host:port of the token endpoint and OIDC issuer (required)")
	tokenFile := fs.String("token-file", "", "file holding the bearer token the token endpoint requires (required)")
	keyFile := fs.String("key-file", "", "the issuer's RSA key, PKCS#8 PEM; created if absent (required)")
	regKey := fs.String("registry-token-key", "", "the registry token key, from tbctl tokenkey (required)")
	regCert := fs.String("registry-token-cert", "", "the registry token certificate, from tbctl tokenkey (required)")
	public := fs.String("public-namespace", "public", "repositories under this first path component may be pulled anonymously")
	ghcrAddr := fs.String("ghcr-listen", "", "host:port of the ghcr.io stand-in, whose referrers endpoint answers 404 (required)")
	redirAddr := fs.String("ghcr-redirect-listen", "", "host:port of the ghcr.io stand-in whose referrers endpoint redirects to --pages-listen (required)")
	pagesAddr := fs.String("pages-listen", "", "host:port of the HTML host standing for GitHub's web UI (required)")
	ghcrUser := fs.String("ghcr-user", "", "the ghcr.io stand-ins' user (required)")
	ghcrPassFile := fs.String("ghcr-password-file", "", "file holding their password (required)")
	authAddr := fs.String("dockerhub-auth-listen", "", "host:port of Docker Hub's token service stand-in (required)")
	realm := fs.String("dockerhub-realm", "", "the token service's URL as registries name it, e.g. http://localhost:PORT/token (required)")
	hubAddr := fs.String("dockerhub-referrers-listen", "", "host:port of the docker.io stand-in with the referrers API (required)")
	hubUser := fs.String("dockerhub-user", "", "the docker.io stand-ins' user (required)")
	hubPassFile := fs.String("dockerhub-password-file", "", "file holding their password (required)")
	var forwards ruleList
	fs.Var(&forwards, "forward", "bridge LISTEN=DIAL, e.g. tcp:127.0.0.1:8000=unix:/run/x.sock (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, v := range map[string]string{"github-listen": *issuerAddr, "token-file": *tokenFile, "key-file": *keyFile,
		"registry-token-key": *regKey, "registry-token-cert": *regCert,
		"ghcr-listen": *ghcrAddr, "ghcr-redirect-listen": *redirAddr, "pages-listen": *pagesAddr,
		"ghcr-user": *ghcrUser, "ghcr-password-file": *ghcrPassFile, "dockerhub-auth-listen": *authAddr,
		"dockerhub-realm": *realm, "dockerhub-referrers-listen": *hubAddr, "dockerhub-user": *hubUser,
		"dockerhub-password-file": *hubPassFile} {
		if v == "" {
			return fmt.Errorf("--%s is required", name)
		}
	}
	token, err := readSecret(*tokenFile)
	if err != nil {
		return err
	}
	ghcrPass, err := readSecret(*ghcrPassFile)
	if err != nil {
		return err
	}
	hubPass, err := readSecret(*hubPassFile)
	if err != nil {
		return err
	}
	key, err := loadOrCreateRSAKey(*keyFile)
	if err != nil {
		return err
	}
	gh, err := ghruntime.New("http://"+*issuerAddr, token, ghruntime.WithKey(key))
	if err != nil {
		return err
	}
	tokenKeys, err := loadTokenKeys(*regKey, *regCert)
	if err != nil {
		return err
	}
	rules, err := parseRules(forwards)
	if err != nil {
		return err
	}
	isPublic := regtoken.PublicNamespace(*public)
	ghcrPolicy := regtoken.Policy{User: *ghcrUser, Password: ghcrPass, Public: isPublic}
	ghcr, err := authregistry.GHCR{Policy: ghcrPolicy, Keys: tokenKeys}.Handler()
	if err != nil {
		return err
	}
	// The page is on another host name, as github.com is to ghcr.io.
	_, pagesPort, err := net.SplitHostPort(*pagesAddr)
	if err != nil {
		return fmt.Errorf("--pages-listen %q: %w", *pagesAddr, err)
	}
	ghcrRedirect, err := authregistry.GHCR{Policy: ghcrPolicy, Keys: tokenKeys,
		Referrers: authregistry.ReferrersRedirect, PagesURL: "http://localhost:" + pagesPort}.Handler()
	if err != nil {
		return err
	}
	hubAuthority, err := regtoken.NewAuthority(authregistry.DockerHubIssuer, tokenKeys)
	if err != nil {
		return err
	}
	hubTokens := &regtoken.Server{Authority: hubAuthority, Service: authregistry.DockerHubService, Style: regtoken.DockerHub,
		Policy: regtoken.Policy{User: *hubUser, Password: hubPass, Public: isPublic}}
	hub := authregistry.DockerHub{Authority: hubAuthority, Realm: *realm}.Handler()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := log.New(os.Stderr, "tbctl serve: ", log.LstdFlags)

	services := []struct {
		name, addr string
		h          http.Handler
	}{
		{"github", *issuerAddr, gh},
		{"ghcr", *ghcrAddr, ghcr},
		{"ghcr-redirect", *redirAddr, ghcrRedirect},
		{"pages", *pagesAddr, authregistry.PagesHandler()},
		{"dockerhub-auth", *authAddr, hubTokens},
		{"dockerhub-referrers", *hubAddr, hub},
	}
	// Listen on everything first, so a taken port fails the start at once.
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, s := range services {
		ln, err := listenLoopback(s.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("%s: %w", s.name, err)
		}
		lns = append(lns, ln)
	}
	bridgeLns, err := bridge.Listen(rules)
	if err != nil {
		closeAll()
		return err
	}

	errc := make(chan error, len(services)+1)
	var servers []*http.Server
	for i, s := range services {
		srv := &http.Server{Handler: logRequests(logger, s.name, s.h), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(lns[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	go func() { errc <- bridge.Serve(ctx, rules, bridgeLns, logger.Printf) }()
	logger.Printf("token URL %s, ghcr on %s and %s, docker.io tokens on %s, %d bridges", gh.TokenURL(), *ghcrAddr, *redirAddr, *authAddr, len(rules))

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	return err
}

// runBridge runs the inner ends of bridges until SIGINT or SIGTERM.
func runBridge(args []string) error {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	var forwards ruleList
	fs.Var(&forwards, "forward", "bridge LISTEN=DIAL, e.g. unix:/run/x.sock=tcp:127.0.0.1:3000 (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules, err := parseRules(forwards)
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		return errors.New("give at least one --forward")
	}
	lns, err := bridge.Listen(rules)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return bridge.Serve(ctx, rules, lns, log.New(os.Stderr, "tbctl bridge: ", log.LstdFlags).Printf)
}

func parseRules(specs []string) ([]bridge.Rule, error) {
	rules := make([]bridge.Rule, 0, len(specs))
	for _, s := range specs {
		r, err := bridge.ParseRule(s)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("listen address %q is not a loopback IP address", addr)
	}
	return net.Listen("tcp", addr)
}

// logRequests logs each request's method, path and status; never headers,
// which carry credentials, nor query strings, which are not secret but long.
func logRequests(l *log.Logger, name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		l.Printf("%s %s %s %d", name, r.Method, r.URL.Path, sw.code)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading a secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// loadOrCreateRSAKey reads a PKCS#8 PEM RSA key, or creates one at path, so
// the issuer keeps its key across restarts of the bed.
func loadOrCreateRSAKey(path string) (*rsa.PrivateKey, error) {
	k, err := readPKCS8(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an RSA key; delete it to get a new key", path, k)
	}
	return rk, nil
}
