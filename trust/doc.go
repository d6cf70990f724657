// Package trust holds the Sigstore deployment sigil talks to: which Fulcio,
// Rekor and timestamp authority sign (a signing config, or URLs), and the
// trusted root that says which keys and certificates a verifier accepts.
//
// With nothing given, the public Sigstore instance is used: Fulcio and Rekor
// v1 at sigstore.dev for signing, and the trusted root that sigstore-go
// fetches through the public TUF repository (which needs network access).
// A private instance is described by a signing config and a trusted root,
// both in the formats that `cosign signing-config create` and
// `cosign trusted-root create` write; URL inputs override single services.
//
// OpenTUF reads both the trusted root and the signing config from a TUF
// repository, as the public instance distributes them (its mirror and
// root by default; any other mirror with its own initial root): the
// signing config with Rekor v1, or the opt-in one that adds Rekor v2.
package trust
