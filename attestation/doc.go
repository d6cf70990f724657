// Package attestation holds what a sign run attests besides its
// signatures, up to the moment it is signed: in-toto statements, the SBOM
// and custom predicates that go into them, the transparency logs' size
// limits, and the assignment of each document to the images and files it
// describes.
//
// # Statements
//
// NewStatement writes an in-toto Statement v1 (https://in-toto.io/Statement/v1)
// naming its subjects by digest, with a predicate type and the predicate's
// JSON as given; ParseStatement reads one back, bounded. A statement is
// signed as a DSSE envelope of payload type PayloadType.
//
// # Predicates
//
// ReadSBOM reads an SBOM file and decides its kind from the document: SPDX
// 2.x JSON (spdxVersion "SPDX-2.x" and an SPDXID) or CycloneDX JSON
// (bomFormat "CycloneDX" and a specVersion). A file whose name says one kind
// (.spdx.json, .cdx.json or .cyclonedx.json) must hold that kind. The
// predicate types are cosign's (cosign attest --type spdxjson|cyclonedx):
// SPDXPredicateType and CycloneDXPredicateType; GitHub's actions/attest-sbom
// writes CycloneDX with the same type and SPDX with a versioned one
// (https://spdx.dev/Document/v2.3, see SPDXVersionedPredicateType), which
// MatchesPredicateType treats as SPDX too. ReadPredicate reads a custom
// predicate: any JSON object, with a predicate type URI of the user's.
//
// Both refuse, before anything is contacted and naming the file, a document
// that is not valid JSON of its kind and one whose statement would be too
// large for the transparency log (see MaxStatementSize).
//
// # Which document belongs to which artifact
//
// A multi-image step says which SBOM (or predicate) belongs to which image
// or file with assignment lines, PATTERN=PATH, parsed by ParseAssignments:
// PATTERN is an image reference as given in the step's images, or a release
// file's path, or a glob matching several ('*' matches any run of
// characters, '/' and ':' included; '?' one character); PATH is the
// document. A line with PATH alone assigns the document to every image and
// file of the step. Match resolves the lines against the step's images and
// files, and refuses a line that names none of them.
package attestation
