package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/bcrypt"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// ownRegistries starts registries for the benchmark alone, of the bed's two
// kinds: the ghcr.io stand-in (go-containerregistry's registry with the
// referrers API behind basic auth, in this process) and the docker.io
// stand-in (the distribution registry, a child process, no referrers API).
//
// The bed's own registries are shared with every test running at once, and
// the bed's distribution registry checks a bcrypt password of cost 10 on
// every request (some 50 to 100 ms of CPU each on this machine): that would
// measure the bed, not the clients. Here the password hash has bcrypt's
// minimum cost, as cheap per request as a registry's token check.
func ownRegistries(dir, distribution string) (ghcr, dockerhub tbenv.Registry, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	const user = "bench"
	pass := fmt.Sprintf("pw-%d-%d", os.Getpid(), time.Now().UnixNano())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	// authregistry.New, without its request log.
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: authregistry.BasicAuth(reg, authregistry.DefaultRealm, user, pass), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	stops = append(stops, func() { srv.Close() })
	ghcr = tbenv.Registry{Name: "ghcr", Host: ln.Addr().String(), User: user, Password: pass}

	// bcrypt's minimum cost: the registry checks the hash at every request.
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	htpasswd := filepath.Join(dir, "dockerhub.htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		return ghcr, dockerhub, stop, err
	}
	port, err := freePort()
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	cfg := filepath.Join(dir, "registry.yml")
	conf := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  secret: bench-%d
auth:
  htpasswd:
    realm: sigil-bench-dockerhub
    path: %s
`, filepath.Join(dir, "dockerhub"), port, os.Getpid(), htpasswd)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return ghcr, dockerhub, stop, err
	}
	logf := filepath.Join(dir, "registry.log")
	lf, err := os.Create(logf)
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	cmd := exec.Command(distribution, "serve", cfg)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return ghcr, dockerhub, stop, fmt.Errorf("starting %s: %w", distribution, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); lf.Close(); close(exited) }()
	stops = append(stops, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	host := fmt.Sprintf("127.0.0.1:%d", port)
	dockerhub = tbenv.Registry{Name: "dockerhub", Host: host, User: user, Password: pass}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ghcr, dockerhub, stop, nil
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logf)
			return ghcr, dockerhub, stop, fmt.Errorf("the distribution registry exited: %s", tail(string(b), 20))
		case <-ctx.Done():
			return ghcr, dockerhub, stop, errors.New("the distribution registry did not answer within 30s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// distributionBinary is the bed's cached distribution registry, of the
// version testbed/versions.env pins, beside the cached cosign.
func distributionBinary(e *tbenv.Env) (string, error) {
	f, err := os.Open("testbed/versions.env")
	if err != nil {
		return "", fmt.Errorf("%w (run from the repository's root, or pass -distribution)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "DISTRIBUTION_VERSION="); ok {
			cache := filepath.Dir(filepath.Dir(e.Cosign2))
			return filepath.Join(cache, "distribution-"+strings.TrimSpace(v), "registry"), nil
		}
	}
	return "", errors.New("testbed/versions.env has no DISTRIBUTION_VERSION")
}
