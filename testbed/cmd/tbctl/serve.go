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
)

// serve runs the GitHub runtime stand-in, the ghcr.io stand-in and the host
// ends of the bridges until SIGINT or SIGTERM.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	issuerAddr := fs.String("github-listen", "", "host:port of the token endpoint and OIDC issuer (required)")
	tokenFile := fs.String("token-file", "", "file holding the bearer token the token endpoint requires (required)")
	keyFile := fs.String("key-file", "", "the issuer's RSA key, PKCS#8 PEM; created if absent (required)")
	ghcrAddr := fs.String("ghcr-listen", "", "host:port of the registry with the referrers API (required)")
	ghcrUser := fs.String("ghcr-user", "", "the registry's user (required)")
	ghcrPassFile := fs.String("ghcr-password-file", "", "file holding the registry's password (required)")
	var forwards ruleList
	fs.Var(&forwards, "forward", "bridge LISTEN=DIAL, e.g. tcp:127.0.0.1:8000=unix:/run/x.sock (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, v := range map[string]string{"github-listen": *issuerAddr, "token-file": *tokenFile, "key-file": *keyFile,
		"ghcr-listen": *ghcrAddr, "ghcr-user": *ghcrUser, "ghcr-password-file": *ghcrPassFile} {
		if v == "" {
			return fmt.Errorf("--%s is required", name)
		}
	}
	token, err := readSecret(*tokenFile)
	if err != nil {
		return err
	}
	pass, err := readSecret(*ghcrPassFile)
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
	rules, err := parseRules(forwards)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := log.New(os.Stderr, "tbctl serve: ", log.LstdFlags)

	// Listen on everything first, so a taken port fails the start at once.
	ghLn, err := listenLoopback(*issuerAddr)
	if err != nil {
		return err
	}
	regLn, err := listenLoopback(*ghcrAddr)
	if err != nil {
		ghLn.Close()
		return err
	}
	bridgeLns, err := bridge.Listen(rules)
	if err != nil {
		ghLn.Close()
		regLn.Close()
		return err
	}

	errc := make(chan error, 3)
	servers := []*http.Server{
		{Handler: logRequests(logger, "github", gh), ReadHeaderTimeout: 10 * time.Second},
		{Handler: logRequests(logger, "ghcr", authregistry.New(*ghcrUser, pass)), ReadHeaderTimeout: 10 * time.Second},
	}
	for i, ln := range []net.Listener{ghLn, regLn} {
		go func() {
			if err := servers[i].Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	go func() { errc <- bridge.Serve(ctx, rules, bridgeLns, logger.Printf) }()
	logger.Printf("token URL %s, ghcr on %s, %d bridges", gh.TokenURL(), *ghcrAddr, len(rules))

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
