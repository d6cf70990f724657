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
// Kyverno's Cosign attestor and policy-controller (v0.13) read only the
// legacy cosign signature: the sha256-<digest>.sig tag with its Rekor v1
// entry. policy-controller's signatureFormat: bundle is accepted in a
// ClusterImagePolicy but answers "bundle support for image signatures is
// not yet implemented", and Kyverno's Cosign attestor finds no signature on
// an image that has only a bundle. Flux's source-controller v1.10 (cosign
// v3) verifies the Sigstore bundle when there is one and the legacy
// signature otherwise; older versions read only the legacy one. Each
// file's header says which format its tool reads; images must be signed
// with format both (the default) or legacy for all three to admit them.
//
// With no trusted root the policies name the public Sigstore instance and
// carry no keys: each tool then takes the public roots from its own TUF
// client. With a trusted root (a private Sigstore) the policies carry its
// Fulcio certificates and the Rekor v1 key, so that the tools verify
// offline, and skip the certificate transparency check when the root lists
// no CT log. Flux takes the trusted root itself, from a Secret, and has no
// way to skip that check.
//
// Values from the signing run (identities, repositories, URLs, PEM) reach
// the YAML only through a YAML encoder, never by string concatenation, and
// the output is deterministic: the same input gives the same bytes.
package policy
