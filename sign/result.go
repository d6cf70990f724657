package sign

import "github.com/sigil-dev/sigil/artifact"

// Result is what a signing run did, in the shape of the action's
// `signatures` output.
type Result struct {
	// Identity is the certificate identity a verifier must pin.
	Identity artifact.Identity `json:"identity"`
	// Images are the signed manifests, one per repository and digest.
	Images []Image `json:"images,omitempty"`
	// Files are the signed files.
	Files []File `json:"files,omitempty"`
	// FileAttestations are the attestations of files.
	FileAttestations []FileAttestation `json:"fileAttestations,omitempty"`
}

// Image is one signed manifest in one repository.
type Image struct {
	artifact.Target
	// Signatures are the signatures written, one per format.
	Signatures []Signature `json:"signatures"`
	// Attestations are its attestations, one per predicate and format
	// (each with its PredicateType).
	Attestations []Signature `json:"attestations,omitempty"`
}

// Read-back paths reported in Signature.ReadBack.
const (
	ReadBackLegacyTag = "legacy tag"
	// ReadBackAttestationTag is cosign's sha256-<hex>.att tag.
	ReadBackAttestationTag = "attestation tag"
	ReadBackReferrers      = "referrers"
)

// Signature is one signature written for an image.
type Signature struct {
	// Format is artifact.FormatBundle or artifact.FormatLegacy.
	Format artifact.Format `json:"format"`
	// PredicateType is an attestation's predicate type.
	PredicateType string `json:"predicateType,omitempty"`
	// Location is where it was written: the referrer manifest
	// (repository@digest) or the legacy tag (repository:sha256-….sig).
	Location string `json:"location"`
	// ReadBack is the path through which it was read back after pushing
	// (or found, when AlreadySigned): ReadBackReferrers or
	// ReadBackLegacyTag; empty when it is not in the registry.
	ReadBack string `json:"readBack"`
	// Log is its transparency log entry.
	Log artifact.LogEntry `json:"log"`
	// AlreadySigned is set when the run found this signature, by its own
	// identity, already there and signed nothing new (see WithSkipSigned).
	AlreadySigned bool `json:"alreadySigned,omitempty"`
	// Error, when set, says why the signature, logged, is not in the
	// registry: a re-run (or an operator, with the log entry) finishes it.
	Error string `json:"error,omitempty"`
}

// File is one signed file.
type File struct {
	// Path is the file as matched.
	Path string `json:"path"`
	// SHA256 is the hex digest of its contents.
	SHA256 string `json:"sha256"`
	// Bundle is the path of its Sigstore bundle, <path>.sigstore.json.
	Bundle string `json:"bundle"`
	// Log is the bundle's transparency log entry.
	Log artifact.LogEntry `json:"log"`
}
