// Package sign signs container images and files keylessly with Sigstore.
//
// One Signer holds one ephemeral key pair and, once the first signature
// needs it, one Fulcio certificate for the whole run, whatever the number of
// artifacts; the certificate is renewed only when the run outlives it.
//
// SignImages resolves every reference to its digest before anything is
// signed, so a bad reference changes nothing. Each digest is then signed in
// the formats asked for:
//
//   - bundle: a Sigstore bundle (a DSSE in-toto statement whose predicate
//     type is https://sigstore.dev/cosign/sign/v1, as cosign writes with
//     --new-bundle-format) attached as an OCI 1.1 referrer, with the
//     referrers tag fallback where a registry has no referrers API. The
//     statement names only the digest, so one signature and one log entry
//     serve every repository that holds the digest.
//   - legacy: cosign's simple-signing payload in the sha256-<digest>.sig tag,
//     with the Rekor v1 signed entry timestamp, as Kyverno,
//     policy-controller and Flux read it. The payload names the repository,
//     so each repository gets its own signature.
//
// No signature is pushed before its transparency log entry exists, and
// existing signatures are kept. After pushing, each signature is read back
// through the path a verifier uses, and a missing one fails the run.
//
// The package reads no environment variables and writes no GitHub file
// commands: the identity token, registry credentials and transport are
// given to it. Each service is a dependency that can be replaced
// (WithKeypair, WithCertificates, WithTransparencyLog, WithLegacyLog,
// WithTimestampAuthorities); by default they are built from the services'
// URLs (WithServices) on the one transport (WithTransport), so every
// request shares its connection pool, timeouts and retries.
package sign
