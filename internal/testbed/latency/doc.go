// Package latency is the test bed's latency-injecting reverse proxy: it
// stands between a client and the bed's services (the GitHub runtime
// stand-in, Fulcio, Rekor, the timestamp authority, both registries) so that
// each HTTP request pays the round trip a runner far from the services pays.
//
// Start fronts each upstream with a listener of its own on 127.0.0.1: a
// client is pointed at the proxy's address instead of the service's (in a
// signing config, a trusted root, an image reference). By default every
// request waits DefaultDelay after its headers reach the proxy, before it is
// forwarded, and again after the service's response headers come back,
// before they are returned: 20 ms each way, 40 ms a round trip. Bodies are
// streamed in both directions, never buffered or changed, and both legs keep
// connections alive (HTTP/1.1), so a client that reuses its connections pays
// the delay per request only. WithConnectDelay adds the cost of opening a
// connection (a TCP and TLS handshake) to the first request of each new
// client connection.
//
// Absolute URLs that name an upstream, in the response headers a client
// follows (Location on registry blob uploads, the realm of a
// WWW-Authenticate challenge, Link, Content-Location), are rewritten to the
// proxy that fronts that upstream, so that no request goes around the
// proxy.
//
// A Policy decides, request by request, what the proxy does: the delay each
// way, or a Fault that answers in place of the service (an error status, a
// Retry-After, a dropped connection). Fixed is the uniform delay; tests of
// retries and timeouts supply their own.
//
// Stats counts requests (by method) and client connections per upstream,
// so a benchmark can report how many round trips each operation really
// costs.
package latency
