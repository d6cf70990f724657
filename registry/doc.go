// Package registry holds sigil's view of OCI registries: whose credentials
// go to which registry (Credential, ParseCredentials and NormalizeHost, the
// one place registry host names are compared), how a reference given by
// the user becomes the manifests that are signed or verified (ResolveAll
// and its Targets), and the errors a user can act on when a registry
// refuses.
//
// Registry I/O goes through go-containerregistry, but for the small blobs
// of a legacy signature, which Pushes uploads in two requests instead of
// four. Credentials come, in this order, from explicit
// host=username:password entries, from the GitHub token for ghcr.io, and
// from a Docker config directory; registries on loopback addresses are
// spoken to over plain HTTP, as go-containerregistry does for them. Error
// messages name the settings through Auth.Name, as the caller's front end
// calls them.
package registry
