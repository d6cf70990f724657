package latency

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDelay is the delay each way of Fixed's default policy: 20 ms, so
// 40 ms a round trip, roughly a runner in one region and a service in
// another.
const DefaultDelay = 20 * time.Millisecond

// Plan is what the proxy does with one request.
type Plan struct {
	// Before is waited once the request's headers have reached the proxy,
	// before it is forwarded (or answered by Fault): the request's way out.
	Before time.Duration
	// After is waited once the service's response headers have reached the
	// proxy, before they are returned: the response's way back. It is not
	// waited after a Fault.
	After time.Duration
	// Fault, when set, answers the request in place of the service, which
	// never sees it. See Abort and Status.
	Fault http.Handler
	// Response, when set, is called with the service's response before it
	// is returned: it may read its status and change its headers (a
	// stand-in's rate limit headers), not its body.
	Response func(*http.Response)
}

// Policy decides the plan of each request. It is called concurrently, once
// per request; upstream is the name the request's proxy was started with.
type Policy interface {
	Plan(upstream string, r *http.Request) Plan
}

// PolicyFunc is a function that is a Policy.
type PolicyFunc func(upstream string, r *http.Request) Plan

// Plan implements Policy.
func (f PolicyFunc) Plan(upstream string, r *http.Request) Plan { return f(upstream, r) }

// Fixed returns the policy that delays every request by d each way, and
// injects no fault.
func Fixed(d time.Duration) Policy {
	return PolicyFunc(func(string, *http.Request) Plan { return Plan{Before: d, After: d} })
}

// Abort is a Fault that closes the client's connection without an answer,
// as a connection reset on the way does.
var Abort http.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })

// Status returns a Fault answering code with the given headers (such as
// Retry-After) and a short body.
func Status(code int, header http.Header) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, vs := range header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		http.Error(w, fmt.Sprintf("latency proxy: injected %d %s", code, http.StatusText(code)), code)
	})
}

// Upstream is a service to front.
type Upstream struct {
	// Name identifies the upstream in Group's methods, Stats and Policy.
	Name string
	// URL is the service's base URL, scheme and host only
	// ("http://127.0.0.1:35161"); https is accepted.
	URL string
}

// Option configures Start.
type Option func(*options)

type options struct {
	policy       Policy
	connectDelay time.Duration
	transport    http.RoundTripper
	errorLog     *log.Logger
}

// WithPolicy sets the policy deciding each request's delays and faults. The
// default is Fixed(DefaultDelay).
func WithPolicy(p Policy) Option { return func(o *options) { o.policy = p } }

// WithDelay is WithPolicy(Fixed(d)).
func WithDelay(d time.Duration) Option { return WithPolicy(Fixed(d)) }

// WithConnectDelay sets a delay waited once per new client connection,
// before its first request is read: the handshakes a far client pays to
// open a connection (one round trip for TCP, another for TLS 1.3). The
// default is 0.
func WithConnectDelay(d time.Duration) Option { return func(o *options) { o.connectDelay = d } }

// WithTransport sets the transport to the upstreams. The default is a
// transport of its own that keeps up to 256 idle connections per upstream
// and uses no proxy.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithErrorLog sets where the proxy logs failures to reach an upstream and
// the servers' errors. The default discards them: the client sees 502.
func WithErrorLog(l *log.Logger) Option { return func(o *options) { o.errorLog = l } }

// Stats counts what one upstream's proxy carried.
type Stats struct {
	// Requests is the number of requests received, faults included.
	Requests int64
	// Methods counts Requests by HTTP method.
	Methods map[string]int64
	// Connections is the number of client connections accepted.
	Connections int64
	// Faults is the number of requests answered by a Fault.
	Faults int64
	// Service is the time spent waiting for the upstream's response
	// headers, summed over the requests (the injected delays excluded):
	// where a slow run's time goes when the services, not the network,
	// are the bottleneck.
	Service time.Duration
}

// Sub returns s minus an earlier snapshot t of the same upstream.
func (s Stats) Sub(t Stats) Stats {
	d := Stats{Requests: s.Requests - t.Requests, Connections: s.Connections - t.Connections, Faults: s.Faults - t.Faults,
		Service: s.Service - t.Service, Methods: map[string]int64{}}
	for m, n := range s.Methods {
		if n -= t.Methods[m]; n != 0 {
			d.Methods[m] = n
		}
	}
	return d
}

// String reads "12 requests (GET 8, PUT 4) on 3 connections".
func (s Stats) String() string {
	var ms []string
	for m, n := range s.Methods {
		ms = append(ms, fmt.Sprintf("%s %d", m, n))
	}
	sort.Strings(ms)
	out := fmt.Sprintf("%d requests", s.Requests)
	if len(ms) > 0 {
		out += " (" + strings.Join(ms, ", ") + ")"
	}
	out += fmt.Sprintf(" on %d connections", s.Connections)
	if s.Faults > 0 {
		out += fmt.Sprintf(", %d faults", s.Faults)
	}
	return out
}

// Group is a set of running proxies, one per upstream.
type Group struct {
	proxies []*proxy
	byName  map[string]*proxy
}

// proxy fronts one upstream.
type proxy struct {
	name     string
	upstream *url.URL
	addr     string // 127.0.0.1:PORT
	server   *http.Server
	listener net.Listener
	done     chan struct{}

	conns atomic.Int64
	mu    sync.Mutex
	st    Stats
}

// Start starts one proxy per upstream, each listening on a free port of
// 127.0.0.1, and returns once all accept connections. Close stops them.
func Start(upstreams []Upstream, opts ...Option) (*Group, error) {
	o := &options{policy: Fixed(DefaultDelay), errorLog: log.New(io.Discard, "", 0)}
	for _, opt := range opts {
		opt(o)
	}
	if o.transport == nil {
		o.transport = &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			// Bodies pass through as the client asked for them.
			DisableCompression: true,
		}
	}
	if o.connectDelay < 0 {
		return nil, fmt.Errorf("latency: negative connect delay %v", o.connectDelay)
	}
	g := &Group{byName: map[string]*proxy{}}
	for _, u := range upstreams {
		if _, dup := g.byName[u.Name]; dup || u.Name == "" {
			g.Close()
			return nil, fmt.Errorf("latency: upstream name %q is empty or given twice", u.Name)
		}
		target, err := url.Parse(u.URL)
		if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
			g.Close()
			return nil, fmt.Errorf("latency: upstream %s: %q is not an http(s) base URL", u.Name, u.URL)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("latency: listening for %s: %w", u.Name, err)
		}
		p := &proxy{name: u.Name, upstream: target, addr: ln.Addr().String(), done: make(chan struct{}), st: Stats{Methods: map[string]int64{}}}
		p.listener = &countingListener{Listener: ln, conns: &p.conns, delay: o.connectDelay}
		g.proxies = append(g.proxies, p)
		g.byName[u.Name] = p
	}
	// The rewriting of absolute URLs needs every proxy's address, so the
	// handlers are built once all listen.
	rw := g.rewriter()
	for _, p := range g.proxies {
		p.server = &http.Server{Handler: p.handler(o, rw), ErrorLog: o.errorLog, ReadHeaderTimeout: time.Minute}
		go func() {
			defer close(p.done)
			_ = p.server.Serve(p.listener)
		}()
	}
	return g, nil
}

// URL returns the base URL ("http://127.0.0.1:PORT") of the proxy fronting
// the upstream named name, or "" if there is none. The scheme is always
// http: the proxy speaks plain HTTP to its clients.
func (g *Group) URL(name string) string {
	if p := g.byName[name]; p != nil {
		return "http://" + p.addr
	}
	return ""
}

// Host returns the host:port of the proxy fronting the upstream named name,
// or "" if there is none: the registry part of an image reference.
func (g *Group) Host(name string) string {
	if p := g.byName[name]; p != nil {
		return p.addr
	}
	return ""
}

// Stats returns a snapshot of each upstream's counters, by name.
func (g *Group) Stats() map[string]Stats {
	out := map[string]Stats{}
	for _, p := range g.proxies {
		p.mu.Lock()
		s := p.st
		s.Methods = make(map[string]int64, len(p.st.Methods))
		for m, n := range p.st.Methods {
			s.Methods[m] = n
		}
		p.mu.Unlock()
		s.Connections = p.conns.Load()
		out[p.name] = s
	}
	return out
}

// Close stops every proxy and closes its connections; requests under way
// fail.
func (g *Group) Close() error {
	var errs []error
	for _, p := range g.proxies {
		if p.server != nil {
			errs = append(errs, p.server.Close())
			<-p.done
		} else {
			errs = append(errs, p.listener.Close())
		}
	}
	return errors.Join(errs...)
}

// rewriter returns the function that rewrites, in a response header value,
// every absolute URL naming an upstream to the proxy fronting it.
func (g *Group) rewriter() func(string) string {
	var pairs []string
	for _, p := range g.proxies {
		pairs = append(pairs, p.upstream.Scheme+"://"+p.upstream.Host, "http://"+p.addr)
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// rewrittenHeaders are the response headers that carry URLs a client
// follows.
var rewrittenHeaders = []string{"Location", "Content-Location", "Www-Authenticate", "Link"}

type planKey struct{}

// forwarded is when a request left for the upstream, kept in its context.
type forwarded struct{ at time.Time }

func (p *proxy) handler(o *options, rewrite func(string) string) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.upstream)
			// The upstream sees its own host, as a direct client would
			// make it; the URLs it builds from it are rewritten back.
			pr.Out.Host = p.upstream.Host
		},
		Transport: o.transport,
		ModifyResponse: func(resp *http.Response) error {
			for _, h := range rewrittenHeaders {
				vs := resp.Header.Values(h)
				for i, v := range vs {
					vs[i] = rewrite(v)
				}
			}
			if f, ok := resp.Request.Context().Value(forwarded{}).(*forwarded); ok {
				p.mu.Lock()
				p.st.Service += time.Since(f.at)
				p.mu.Unlock()
			}
			plan, _ := resp.Request.Context().Value(planKey{}).(Plan)
			if plan.Response != nil {
				plan.Response(resp)
			}
			return sleep(resp.Request.Context(), plan.After)
		},
		ErrorLog: o.errorLog,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			o.errorLog.Printf("latency: %s %s %s: %v", p.name, r.Method, r.URL.Path, err)
			http.Error(w, fmt.Sprintf("latency proxy: upstream %s: %v", p.name, err), http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plan := o.policy.Plan(p.name, r)
		p.mu.Lock()
		p.st.Requests++
		p.st.Methods[r.Method]++
		if plan.Fault != nil {
			p.st.Faults++
		}
		p.mu.Unlock()
		if err := sleep(r.Context(), plan.Before); err != nil {
			return
		}
		if plan.Fault != nil {
			plan.Fault.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), planKey{}, plan)
		ctx = context.WithValue(ctx, forwarded{}, &forwarded{at: time.Now()})
		rp.ServeHTTP(w, r.WithContext(ctx))
	})
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// countingListener counts accepted connections and delays each one's first
// read by delay.
type countingListener struct {
	net.Listener
	conns *atomic.Int64
	delay time.Duration
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.Add(1)
	if l.delay <= 0 {
		return c, nil
	}
	return &delayedConn{Conn: c, delay: l.delay}, nil
}

// delayedConn waits delay before its first read, in the goroutine that
// serves the connection, so accepting other connections goes on.
type delayedConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *delayedConn) Read(b []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(b)
}
