// Package ratelimit models the rate limits of the registries the test bed
// stands for, so that a test can run sigil into them: GHCR's limit on
// requests a minute, and Docker Hub's limit on pulls. Each is a Limiter
// that admits or refuses a request as the real service would; Wrap puts
// one in front of a handler (a stand-in), and Plan turns it into a plan of
// the latency proxy (package latency), so that a test can put its own
// limits, lowered to be reached in seconds, in front of the bed's shared
// registries without slowing the other tests.
//
// # GHCR
//
// GHCR refuses a request over its rate with 429 and the wait and the rate
// in the message of an OCI error body, not in a Retry-After header:
//
//	{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 10.305464ms, allowed: 2000/minute"}]}
//
// (chainguard-images/images#173, a POST to /v2/.../blobs/uploads/ during
// cosign signing; gardenlinux/gardenlinux#2585 and #2868, "retry-after:
// 1.889377ms, allowed: 2000/minute" on a blob upload). Pulls have been
// refused at "allowed: 44000/minute" with sub-millisecond waits
// (dependabot/cli#380: "retry-after: 880.092µs"; falcosecurity/plugins#1069:
// "retry-after: 1.16676ms"). No report quotes a Retry-After header, and
// the maintainer in chainguard-images/images#173 notes that the wait is
// data in the response that a client would have to extract. The waits are
// Go durations, and always under one interval of the stated rate (30 ms
// at 2,000 a minute, 1.36 ms at 44,000): what the generic cell rate
// algorithm answers, the time until the next request conforms. GHCR
// documents neither the limit nor what it is kept per; GHCR here keeps it
// per credential (the user a token was issued to, or the caller's address
// for anonymous requests), counting every request to the host, the token
// endpoint included, with a burst the test chooses.
//
// # Docker Hub
//
// Docker Hub counts pulls: a GET of a manifest is a pull, a HEAD is not
// ("Using GET emulates a real pull and counts towards the limit. Using HEAD
// won't."; docs.docker.com/docker-hub/usage/pulls, docker/docs
// content/manuals/docker-hub/usage/pulls.md). The limit is per 6 hours:
// 200 pulls for a Personal account, 100 per IPv4 address or IPv6 /64 for
// unauthenticated users, none for Pro, Team and Business (the same page;
// for a while in 2025 the page said 40 and then 100 an hour, and 10 an
// hour unauthenticated). Manifest answers carry `ratelimit-limit:
// 100;w=21600`, `ratelimit-remaining: 76;w=21600` and
// `docker-ratelimit-source: 192.0.2.1`, on GET and HEAD alike. Past the
// limit a manifest GET gets 429 with
//
//	{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}
//
// (the message as the page gives it and docker/docs#21908 quotes it from
// registry-1.docker.io); an authenticated user is named in it ("You have
// reached your pull rate limit as '***': dckr_jti_…. You may increase the
// limit by upgrading. https://www.docker.com/increase-rate-limit",
// jitsi/docker-jitsi-meet#2118). Docker Hub's separate abuse limit, per
// address and "in the order of thousands of requests per minute", answers
// a plain 429 (docs.docker.com/docker-hub/usage, "Abuse rate limit"); it is
// not modelled. DockerHub here counts a manifest GET the registry answers
// 200 as one pull, keeps the count per account (per address anonymously)
// over a sliding window, and sends the headers on every manifest answer.
package ratelimit
