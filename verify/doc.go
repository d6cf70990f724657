// Package verify checks Sigstore signatures of container images and files:
// those sigil signs, and those cosign 2 and 3 make.
//
// A Verifier joins what the deployment provides, the trusted root (Fulcio
// CAs, transparency logs, timestamp authorities), with what the caller
// demands, a Policy naming the identity that must have signed. A policy
// needs at least one subject constraint: an exact or regular-expression
// certificate identity, or the GitHub presets (repository, workflow file,
// ref glob), which become an anchored subject expression
// ^https://github\.com/OWNER/NAME/WORKFLOW@REF$ and checks of the Fulcio
// certificate extensions (source repository, source ref, runner
// environment). Accepting any signer needs the explicit
// WithAnyIdentityUnsafe. The issuer defaults to GitHub Actions'.
//
// # Where signatures are found
//
// For an image, the reference is resolved to its digest once, and the
// digest's repository is searched through both paths cosign writes:
//
//   - legacy: the sha256-<hex>.sig tag, whose layers each hold cosign's
//     simple-signing payload, with the signature, certificate, chain, Rekor
//     v1 signed entry timestamp and RFC 3161 timestamp as annotations;
//   - bundle: the OCI 1.1 referrers of the digest (the referrers API, or the
//     sha256-<hex> tag fallback where a registry has none) holding a
//     Sigstore bundle, a DSSE in-toto statement whose subject is the digest
//     and whose predicate type is https://sigstore.dev/cosign/sign/v1.
//
// For a file, the bundle is FILE.sigstore.json unless named: a Sigstore
// bundle, or the JSON that cosign 2's sign-blob --bundle wrote.
//
// # Attestations
//
// WithAttestations requires signed in-toto attestations of given predicate
// types besides (or in place of) the signatures: for an image, the
// referrers whose bundle's statement has another predicate type than a
// cosign signature (cosign 3's attest --new-bundle-format, actions/attest)
// and cosign's legacy sha256-<hex>.att tag (cosign 2's attest); for a file,
// its own bundle when that is an attestation, and the *.intoto.sigstore.json
// bundles of its directory. Each is checked as a signature is, and its
// statement must name the artifact's digest (subject) with the predicate
// type required (predicate-type); an SLSA provenance must agree with the
// Fulcio extensions of the certificate that signed it and with the GitHub
// presets (provenance). The report has one entry per required attestation,
// and the provenance's summary: source repository, commit, workflow, run.
//
// # How a signature is checked
//
// sigstore-go's verifier decides: a legacy signature is first turned into a
// Sigstore bundle v0.1 (the only version whose log entries may carry a
// signed entry timestamp alone), and every signature is then verified with
// the artifact (the image digest, the signed payload, or the file), the
// identity policy, a required transparency log entry, a required trusted
// time (the log's integrated time or a TSA timestamp), and signed
// certificate timestamps when the trusted root lists CT logs. On top of it,
// the claims sigstore-go does not know about must hold: a legacy payload
// must be a "cosign container image signature" naming the digest, and an
// image bundle's predicate type must be cosign's.
//
// To say which step failed, each signature's report then lists the checks
// one by one, with what was expected and what was found: format, claims,
// signature, transparency-log, timestamp, certificate-chain and identity
// (see the Check constants). These separate checks explain; they never
// pass a signature that sigstore-go refused.
//
// An artifact passes when at least one of its signatures passes every
// check. VerifyImages and VerifyFiles return a Report of everything found
// (JSON-tagged, and with a text rendering in the manner of cosign verify)
// and, unless every artifact passed, an *Error naming the failed checks.
//
// Nothing read from a registry or a file is trusted for its size: payloads,
// bundles and manifests are read with fixed bounds, and malformed input of
// any kind is reported as a failed check, never a panic.
//
// The package reads no environment variables: trust material, registry
// credentials and transports are given to it.
package verify
