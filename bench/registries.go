package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/authregistry"
	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// ownRegistries starts registries for the benchmark alone, in this
// process, shaped as the two real ones and as the bed's stand-ins
// (internal/testbed/authregistry): the ghcr.io stand-in (token auth at
// /token on the registry's own host, no referrers API: bundles go under the
// fallback tag, as on ghcr.io) and the docker.io stand-in (the referrers
// API, tokens from a token server on another host, as auth.docker.io).
//
// The bed's own registries are shared with every test running at once;
// these measure the clients alone.
func ownRegistries() (ghcr, dockerhub tbenv.Registry, stop func(), err error) {
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
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
		go srv.Serve(ln)
		stops = append(stops, func() { srv.Close() })
		return ln.Addr().String(), nil
	}
	const user = "bench"
	pass := fmt.Sprintf("pw-%d-%d", os.Getpid(), time.Now().UnixNano())
	policy := regtoken.Policy{User: user, Password: pass}

	gh, err := authregistry.GHCR{Policy: policy}.Handler()
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	host, err := serve(gh)
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	ghcr = tbenv.Registry{Name: "ghcr", Host: host, User: user, Password: pass}

	keys, err := regtoken.NewKeyPair("docker.io stand-in")
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	auth, err := regtoken.NewAuthority(authregistry.DockerHubIssuer, keys)
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	realm, err := serve(&regtoken.Server{Authority: auth, Service: authregistry.DockerHubService, Style: regtoken.DockerHub, Policy: policy})
	if err != nil {
		return ghcr, dockerhub, stop, err
	}
	if host, err = serve(authregistry.DockerHub{Authority: auth, Realm: "http://localhost:" + port(realm) + "/token"}.Handler()); err != nil {
		return ghcr, dockerhub, stop, err
	}
	dockerhub = tbenv.Registry{Name: "dockerhub", Host: host, User: user, Password: pass}
	return ghcr, dockerhub, stop, nil
}

// port is addr's port. The docker.io stand-in's realm names the token
// server as localhost, as the bed's does (testbed/up.sh):
// go-containerregistry refuses a realm on a loopback IP literal other than
// the registry's own host.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
