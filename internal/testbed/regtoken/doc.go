// Package regtoken is the test bed's registry token service: the bearer
// tokens of the distribution token specification
// (https://distribution.github.io/distribution/spec/auth/token/ and its
// "Token Authentication Implementation" page), issued as Docker Hub's
// auth.docker.io and GHCR's ghcr.io/token issue them, and checked as a
// registry checks them.
//
// A token is a JWT (ES256) whose header carries the issuing certificate
// (x5c) and its key's JWK thumbprint (kid), and whose claims name the
// issuer, the service (aud) and the access granted:
// [{"type":"repository","name":"org/app","actions":["pull","push"]}]. The
// distribution registry verifies it against the certificate it is given as
// rootcertbundle; Guard verifies it in process for registries that have no
// token auth of their own (go-containerregistry's).
//
// Who gets what is a Policy: one account, which may pull and push every
// repository, and anonymous callers, who may pull the public repositories
// only. The two real services differ in how they refuse (Style):
//
//   - Docker Hub (auth.docker.io/token, service registry.docker.io): wrong
//     credentials get 401 {"details":"incorrect username or password"}
//     (Docker's clients print it as "unauthorized: incorrect username or
//     password", e.g. docker/for-win#4298); anything else gets a token for
//     the part of the requested access the caller may have, possibly none,
//     and the registry then answers 401 for a private repository.
//   - GHCR (/token on the registry host, service ghcr.io): an anonymous
//     request for access it cannot have gets 401 ("curl
//     https://ghcr.io/token?scope=repository:ORG/PRIVATE:pull" answers 401,
//     a public package 200: openai/tunnel-client#75; public images need a
//     token too, asked for anonymously at repository scope:
//     richlander/container-registry-api's ghcr.md); refused credentials get
//     403 DENIED ("GET https://ghcr.io/token?scope=...: DENIED: denied" in
//     sigstore/scaffolding#127; a stale ghcr.io login gives "denied: denied"
//     even on a public package, orgs/community discussions 50487 and
//     serge-chat/serge#68). GHCR's status code for the refusal is not
//     documented; the stand-in uses 403, and sigil's fallback treats 401
//     and 403 alike. Its token answer carries no expiry (toddysm.com,
//     "Authenticating with OCI Registries – GHCR Implementation", 2024).
package regtoken
