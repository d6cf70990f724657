// Package policy writes the cluster-side policies that admit exactly what a
// signing run signed: images in the repositories it signed, carrying a
// signature whose Fulcio certificate names the identity that really signed
// (its subject alternative name and OIDC issuer, matched exactly).
//
// Generate returns, and Write writes into one directory, these files:
//
//   - kyverno-clusterpolicy.yaml: a Kyverno ClusterPolicy whose verifyImages
//     rule (type Cosign, keyless attestor) enforces the signature on Pods.
//   - policy-controller-clusterimagepolicy.yaml: a sigstore policy-controller
//     ClusterImagePolicy with a keyless authority.
//   - policy-controller-trustroot.yaml: the policy-controller TrustRoot the
//     ClusterImagePolicy names, for a private Sigstore only.
//   - flux-ocirepository-verify.yaml: one Flux OCIRepository per repository
//     with a cosign verify block matching the identity by anchored regular
//     expressions (and, for a private Sigstore, the Secret holding its
//     trusted root).
//
// All three tools read the legacy cosign signature (the
// sha256-<digest>.sig tag with its Rekor v1 entry), not the Sigstore
// bundle: policy-controller v0.13 has no bundle support at all, and
// Kyverno's Cosign attestor finds no signature on an image that has only a
// bundle. Each file's header says so; images must be signed with format
// both (the default) or legacy for these policies to admit them.
//
// With no trusted root the policies name the public Sigstore instance and
// carry no keys: each tool then takes the public roots from its own TUF
// client. With a trusted root (a private Sigstore) the policies carry its
// Fulcio certificates and the Rekor v1 key, so that the tools verify
// offline, and skip the certificate transparency check when the root lists
// no CT log.
//
// Values from the signing run (identities, repositories, URLs, PEM) reach
// the YAML only through a YAML encoder, never by string concatenation, and
// the output is deterministic: the same input gives the same bytes.
package policy
