// Package artifact holds the nouns that sigil's sign and verify modes share,
// so that both speak of a signature in the same words and every output
// gives it the same JSON shape:
//
//   - [Target]: one image manifest in one repository, as reached from the
//     reference a user gave (an index's platform manifests are targets of
//     their own);
//   - [Format]: a signature format (the Sigstore bundle referrer or cosign's
//     legacy .sig tag), and the sets of formats a run writes or accepts;
//   - [Identity]: what a signing certificate says of the signer, and
//     [Requirement]: what a consumer demands of it;
//   - [LogEntry]: where a signature is recorded in a transparency log.
//
// It also names the conventions both modes follow: the bundle file suffix,
// the bundle media type and the predicate type cosign signs for an image.
// The package has no behaviour beyond parsing and describing these values.
package artifact
