package sign

// Result is what a signing run did, in the shape of the action's
// `signatures` output.
type Result struct {
	// Identity is the certificate identity a verifier must pin.
	Identity Identity `json:"identity"`
	// Images are the signed manifests, one per repository and digest.
	Images []Image `json:"images,omitempty"`
	// Files are the signed files.
	Files []File `json:"files,omitempty"`
}

// Identity is what the signing certificate says of the signer.
type Identity struct {
	// Subject is the certificate's subject alternative name: for GitHub,
	// https://github.com/OWNER/REPO/.github/workflows/FILE@REF.
	Subject string `json:"certificateIdentity"`
	// Issuer is the OIDC issuer that vouched for it.
	Issuer string `json:"certificateOidcIssuer"`
}

// Image is one signed manifest in one repository.
type Image struct {
	// Reference is the reference as given (for an index's child, the
	// index's).
	Reference string `json:"reference"`
	// Repository is the repository, e.g. ghcr.io/org/app.
	Repository string `json:"repository"`
	// Digest is the signed manifest digest.
	Digest string `json:"digest"`
	// Platform is set for a platform manifest of an index.
	Platform string `json:"platform,omitempty"`
	// Index is the digest of the index a platform manifest belongs to.
	Index string `json:"index,omitempty"`
	// Signatures are the signatures written, one per format.
	Signatures []Signature `json:"signatures"`
}

// Signature is one signature written for an image.
type Signature struct {
	// Format is "bundle" or "legacy".
	Format Format `json:"format"`
	// Location is where it was written: the referrer manifest
	// (repository@digest) or the legacy tag (repository:sha256-….sig).
	Location string `json:"location"`
	// ReadBack is the path through which it was read back after pushing.
	ReadBack string `json:"readBack"`
	// Log is its transparency log entry.
	Log LogEntry `json:"log"`
}

// LogEntry locates a transparency log entry.
type LogEntry struct {
	// URL is the log's base URL.
	URL string `json:"url"`
	// Version is the Rekor API major version, 1 or 2.
	Version uint32 `json:"version"`
	// Index is the entry's log index.
	Index int64 `json:"index"`
	// IntegratedTime is the log's time of entry, in Unix seconds (Rekor v1).
	IntegratedTime int64 `json:"integratedTime,omitempty"`
	// EntryURL fetches the entry (Rekor v1).
	EntryURL string `json:"entryUrl,omitempty"`
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
	Log LogEntry `json:"log"`
}
