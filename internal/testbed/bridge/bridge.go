// Package bridge forwards connections between TCP ports and unix sockets.
//
// The test bed runs the servers that hard-code a listener on :2112 (Rekor v1,
// the timestamp authority) each in its own network namespace. A network
// namespace has its own loopback, but the file system is shared, so a unix
// socket file is the door between namespaces: one bridge inside listens on
// the socket and dials the server's TCP port, another on the host listens on
// a host port and dials the socket. The same works inwards, for a server in a
// namespace that must reach one on the host.
//
// TCP endpoints must be loopback addresses: the bed never listens on, nor
// connects to, any other.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Endpoint is where a bridge listens or dials.
type Endpoint struct {
	// Network is "tcp" or "unix".
	Network string
	// Address is host:port for tcp, a file path for unix.
	Address string
}

func (e Endpoint) String() string { return e.Network + ":" + e.Address }

// ParseEndpoint parses "tcp:127.0.0.1:PORT" or "unix:/path/to.sock".
func ParseEndpoint(s string) (Endpoint, error) {
	network, addr, ok := strings.Cut(s, ":")
	if !ok || addr == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q is not tcp:HOST:PORT or unix:PATH", s)
	}
	switch network {
	case "unix":
		return Endpoint{network, addr}, nil
	case "tcp":
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return Endpoint{}, fmt.Errorf("endpoint %q: %w", s, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return Endpoint{}, fmt.Errorf("endpoint %q: the host must be a loopback IP address such as 127.0.0.1", s)
		}
		return Endpoint{network, addr}, nil
	}
	return Endpoint{}, fmt.Errorf("endpoint %q: network %q is neither tcp nor unix", s, network)
}

// Rule forwards every connection accepted on Listen to a new connection to
// Dial.
type Rule struct {
	Listen, Dial Endpoint
}

func (r Rule) String() string { return r.Listen.String() + "=" + r.Dial.String() }

// ParseRule parses "LISTEN=DIAL", each side an endpoint for ParseEndpoint.
func ParseRule(s string) (Rule, error) {
	l, d, ok := strings.Cut(s, "=")
	if !ok {
		return Rule{}, fmt.Errorf("rule %q is not LISTEN=DIAL", s)
	}
	var r Rule
	var err error
	if r.Listen, err = ParseEndpoint(l); err != nil {
		return Rule{}, err
	}
	if r.Dial, err = ParseEndpoint(d); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// dialTimeout bounds how long a forwarded connection waits for its target.
const dialTimeout = 5 * time.Second

// Listen opens every rule's listener, removing a stale socket file first,
// and returns them in order. If one fails, those already opened are closed.
func Listen(rules []Rule) ([]net.Listener, error) {
	lns := make([]net.Listener, 0, len(rules))
	for _, r := range rules {
		if r.Listen.Network == "unix" {
			if err := os.Remove(r.Listen.Address); err != nil && !errors.Is(err, os.ErrNotExist) {
				closeAll(lns)
				return nil, fmt.Errorf("removing the stale socket %s: %w", r.Listen.Address, err)
			}
		}
		ln, err := net.Listen(r.Listen.Network, r.Listen.Address)
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("bridge %s: %w", r, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// Serve forwards connections accepted on lns[i] to rules[i].Dial until ctx
// is done, then closes the listeners and waits for open connections to end.
// A connection whose target cannot be dialled is closed; the error goes to
// logf.
func Serve(ctx context.Context, rules []Rule, lns []net.Listener, logf func(format string, args ...any)) error {
	if len(rules) != len(lns) {
		return fmt.Errorf("%d rules but %d listeners", len(rules), len(lns))
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("bridge %s: accept: %w", rules[i], err)
					}
					return
				}
				wg.Go(func() { forward(ctx, c, rules[i].Dial, logf) })
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	closeAll(lns)
	wg.Wait()
	return err
}

func forward(ctx context.Context, c net.Conn, to Endpoint, logf func(string, ...any)) {
	defer c.Close()
	d := net.Dialer{Timeout: dialTimeout}
	t, err := d.DialContext(ctx, to.Network, to.Address)
	if err != nil {
		logf("bridge: dialling %s: %v", to, err)
		return
	}
	defer t.Close()
	stop := context.AfterFunc(ctx, func() { c.Close(); t.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		copyHalf(t, c)
		close(done)
	}()
	copyHalf(c, t)
	<-done
}

// copyHalf copies src to dst, then closes dst's write side so the peer sees
// the end of the stream while the other direction goes on.
func copyHalf(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		dst.Close()
	}
}
