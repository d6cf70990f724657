package attestation

import "fmt"

// How large a statement the transparency logs accept. A DSSE attestation is
// entered in the log whole (the log verifies the envelope's signature over
// the payload), so its size is bounded by the log's request body limit:
//
//   - Rekor v1: the public instance refuses request bodies over about 32 MB
//     (sigstore/rekor#220: "fixed with a max of 32 mb", at its ingress;
//     sigstore/rekor#2808 reports the limit is undocumented, and rekor's own
//     docker-compose.test.yml sets --max_request_body_size=32792576).
//     cosign 2's attest writes an intoto v0.0.2 entry, whose envelope
//     payload is base64-encoded twice (rekor pkg/types/intoto/v0.0.2:
//     strfmt.Base64 of the base64 payload), so a statement may take 16/9 of
//     its size in the request; a dsse entry takes 4/3.
//   - Rekor v2 (rekor-tiles): --max-request-body-size defaults to 4 MiB
//     (rekor-tiles v2.3.0 internal/cli/flags.go, applied to HTTP and gRPC
//     alike), and a dsseRequestV002 carries the payload base64-encoded
//     once, 4/3 of its size.
//
// (Rekor v1's max_attestation_size, 100 KiB by default, is not a limit on
// what is accepted: larger attestations are logged, only not stored.)
const (
	// RekorV1MaxRequestBody is the request body limit assumed of a Rekor
	// v1 log.
	RekorV1MaxRequestBody = 32792576
	// RekorV2MaxRequestBody is rekor-tiles' default request body limit.
	RekorV2MaxRequestBody = 4 << 20
	// requestOverhead is left for the rest of an entry request: the
	// certificate (base64 PEM, about 4 KB with its chain), the signature,
	// the JSON around them.
	requestOverhead = 64 << 10
)

// MaxStatementSize is the largest in-toto statement, in bytes of JSON, that
// a Rekor log of API version rekorVersion (1 or 2) accepts in one entry,
// with room for the certificate and the entry's framing: 18,408,960 bytes
// (about 17.6 MiB) for Rekor v1, 3,096,576 bytes (about 3 MiB) for Rekor
// v2. Any other version gets the smaller.
func MaxStatementSize(rekorVersion int) int64 {
	if rekorVersion == 1 {
		return (RekorV1MaxRequestBody - requestOverhead) * 9 / 16
	}
	return (RekorV2MaxRequestBody - requestOverhead) * 3 / 4
}

// TooLargeError is a document whose statement a log would refuse.
type TooLargeError struct {
	// Path is the document's file.
	Path string
	// Size is the statement's size (or the file's, when it was too large
	// to read), Limit the largest the log accepts.
	Size, Limit int64
	// Log names the log ("Rekor v1", "Rekor v2").
	Log string
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: its statement would be %d bytes, more than the %d (%.1f MiB) a %s log accepts in one entry: "+
		"shrink the document (an SBOM of the image's packages only, without file listings), or split it", e.Path, e.Size, e.Limit, float64(e.Limit)/(1<<20), e.Log)
}

func logName(rekorVersion int) string {
	if rekorVersion == 1 {
		return "Rekor v1"
	}
	return "Rekor v2"
}

// CheckSize returns a *TooLargeError when a statement of size bytes, made
// from the document at path, is more than a Rekor log of rekorVersion
// accepts (MaxStatementSize). Sign with several logs: check each.
func CheckSize(path string, size int, rekorVersion int) error {
	if limit := MaxStatementSize(rekorVersion); int64(size) > limit {
		return &TooLargeError{Path: path, Size: int64(size), Limit: limit, Log: logName(rekorVersion)}
	}
	return nil
}

// Statement returns the in-toto statement of the predicate about subjects,
// refusing it with a *TooLargeError when a Rekor log of rekorVersion would
// not accept it.
func (p *Predicate) Statement(subjects []Subject, rekorVersion int) ([]byte, error) {
	st, err := NewStatement(subjects, p.Type, p.JSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Path, err)
	}
	if err := CheckSize(p.Path, len(st), rekorVersion); err != nil {
		return nil, err
	}
	return st, nil
}
