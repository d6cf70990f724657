package registry

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// OnePing returns t (remote.DefaultTransport when nil) answering a
// registry's ping, a GET of /v2/ without credentials, once per registry
// for the run: the first one goes to the registry, and the others are
// answered with what it answered.
//
// go-containerregistry pings before it authenticates, to read the
// registry's challenge (which token service, which realm), and it does so
// for every repository and scope: its Puller and Pusher per repository,
// and sigil's push sessions per repository. The answer is the registry's,
// not the repository's: /v2/ names no repository, and the challenge's realm
// and service are the host's (go-containerregistry takes its scopes from
// the caller, not from the challenge; transport/bearer.go, fromChallenge).
// On ghcr.io, where sigil paces its requests, two pings per image were
// two of about fourteen requests of a legacy signature.
//
// Only an answer go-containerregistry can go on from is kept, 200 (no
// authentication) or 401 (a challenge); anything else, and a failed
// request, goes to the caller who asked, and the next ping asks again. Give
// the same OnePing to every transport of a run (RemoteOptions and
// NewPushes), and a new one to each run.
func OnePing(t http.RoundTripper) http.RoundTripper {
	if t == nil {
		t = remote.DefaultTransport
	}
	return &pings{inner: t, byHost: map[string]*ping{}}
}

type pings struct {
	inner http.RoundTripper

	mu sync.Mutex
	// byHost maps scheme://host to its ping, asked or being asked.
	byHost map[string]*ping
}

// A ping is a registry's answer to GET /v2/, once it is done.
type ping struct {
	done   chan struct{}
	ok     bool
	status int
	header http.Header
	body   []byte
}

// maxPingBody bounds the answer kept; registries answer a ping with a few
// bytes ("{}", or an error document).
const maxPingBody = 64 << 10

// isPing reports whether req is go-containerregistry's ping.
func isPing(req *http.Request) bool {
	return req.Method == http.MethodGet && req.URL.Path == "/v2/" && req.URL.RawQuery == "" && req.Header.Get("Authorization") == ""
}

// RoundTrip implements http.RoundTripper.
func (p *pings) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isPing(req) {
		return p.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	p.mu.Lock()
	pg, asked := p.byHost[key]
	if !asked {
		pg = &ping{done: make(chan struct{})}
		p.byHost[key] = pg
	}
	p.mu.Unlock()
	if asked {
		select {
		case <-pg.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if pg.ok {
			return pg.answer(req), nil
		}
		// The first ping got nothing to keep: ask for this caller.
		return p.inner.RoundTrip(req)
	}
	resp, err := p.inner.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized) {
		resp, err = pg.keep(req, resp)
	}
	if !pg.ok {
		p.mu.Lock()
		delete(p.byHost, key)
		p.mu.Unlock()
	}
	close(pg.done)
	return resp, err
}

// keep reads the registry's answer resp into pg and returns a copy of it
// for req; an answer that cannot be read whole is an error, not kept.
func (pg *ping) keep(req *http.Request, resp *http.Response) (*http.Response, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPingBody+1))
	_ = resp.Body.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading the answer of GET %s: %w", req.URL.Redacted(), err)
	case len(body) > maxPingBody:
		return nil, fmt.Errorf("GET %s: an answer of more than %d bytes to a ping", req.URL.Redacted(), maxPingBody)
	}
	pg.status, pg.header, pg.body, pg.ok = resp.StatusCode, resp.Header.Clone(), body, true
	return pg.answer(req), nil
}

// answer is a copy of the registry's answer, for req.
func (pg *ping) answer(req *http.Request) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", pg.status, http.StatusText(pg.status)),
		StatusCode:    pg.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        pg.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(pg.body)),
		ContentLength: int64(len(pg.body)),
		Request:       req,
	}
}
