package artifact

import (
	"fmt"
	"strings"
	"time"

	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// BundleSuffix is appended to a file's path to name its Sigstore bundle, as
// `cosign sign-blob --bundle` users and sigil name it.
const BundleSuffix = ".sigstore.json"

// BundleMediaType is the media type (and referrer artifact type) of the
// Sigstore bundle v0.3 that sigil writes.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// CosignSignPredicateType is the in-toto predicate type of a cosign image
// signature in the bundle format.
const CosignSignPredicateType = ctypes.CosignSignPredicateType

// Format is a signature format, or a set of them.
type Format string

// The formats. Bundle and Legacy name one signature's format; Both (what a
// sign run writes) and Any (what a verify run accepts) name the two
// together.
const (
	// FormatBundle is a Sigstore bundle attached as an OCI 1.1 referrer
	// (with the referrers tag fallback where a registry has no referrers
	// API).
	FormatBundle Format = "bundle"
	// FormatLegacy is cosign's simple-signing payload in the
	// sha256-<digest>.sig tag, with a Rekor v1 signed entry timestamp.
	FormatLegacy Format = "legacy"
	// FormatBoth is both formats, as a sign run writes them.
	FormatBoth Format = "both"
	// FormatAny is either format, as a verify run accepts them.
	FormatAny Format = "any"
)

// ParseFormat reads a format setting. Empty means def; otherwise s must be
// one of choices, and the error lists them.
func ParseFormat(s string, def Format, choices ...Format) (Format, error) {
	if s == "" {
		return def, nil
	}
	for _, c := range choices {
		if Format(s) == c {
			return c, nil
		}
	}
	names := make([]string, len(choices))
	for i, c := range choices {
		names[i] = string(c)
	}
	return "", fmt.Errorf("%q: want %s", s, orList(names))
}

// Includes reports whether the set f contains the single format g.
func (f Format) Includes(g Format) bool {
	return f == g || f == FormatBoth || f == FormatAny
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Target is one image manifest in one repository: what is signed and
// verified. Its JSON fields appear in every output that lists images.
type Target struct {
	// Reference is the reference as given (for an index's platform
	// manifest, the index's).
	Reference string `json:"reference"`
	// Repository is the repository, e.g. ghcr.io/org/app or
	// index.docker.io/org/app.
	Repository string `json:"repository,omitempty"`
	// Digest is the manifest digest, sha256:<hex>.
	Digest string `json:"digest,omitempty"`
	// Platform is set for a platform manifest of an index ("linux/arm64").
	Platform string `json:"platform,omitempty"`
	// Index is the digest of the index a platform manifest belongs to.
	Index string `json:"index,omitempty"`
}

// Identity is what a Fulcio certificate says of its signer.
type Identity struct {
	// Subject is the subject alternative name: for a GitHub workflow,
	// https://github.com/OWNER/REPO/.github/workflows/FILE@REF.
	Subject string `json:"subject"`
	// Issuer is the OIDC issuer that vouched for it.
	Issuer string `json:"issuer"`
	// SourceRepositoryURI is the repository the workflow ran in,
	// https://github.com/OWNER/NAME (extension 1.3.6.1.4.1.57264.1.12).
	SourceRepositoryURI string `json:"sourceRepositoryURI,omitempty"` //nolint:tagliatelle
	// SourceRepositoryRef is the git ref the workflow ran for (extension
	// 1.3.6.1.4.1.57264.1.14).
	SourceRepositoryRef string `json:"sourceRepositoryRef,omitempty"`
	// RunnerEnvironment is github-hosted or self-hosted (extension
	// 1.3.6.1.4.1.57264.1.11).
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
}

// Requirement is the identity a consumer demands of a signing certificate:
// fields left empty are not checked. Verify enforces it; the generated
// cluster policies carry it.
type Requirement struct {
	// Subject is the exact certificate subject.
	Subject string `json:"subject,omitempty"`
	// SubjectRegexp is a Go regular expression the subject must match.
	SubjectRegexp string `json:"subjectRegexp,omitempty"`
	// Issuer is the exact OIDC issuer.
	Issuer string `json:"issuer,omitempty"`
	// IssuerRegexp is a Go regular expression the issuer must match.
	IssuerRegexp string `json:"issuerRegexp,omitempty"`
	// SourceRepositoryURI is the exact source repository extension.
	SourceRepositoryURI string `json:"sourceRepositoryURI,omitempty"` //nolint:tagliatelle
	// SourceRepositoryRef is the exact source ref extension.
	SourceRepositoryRef string `json:"sourceRepositoryRef,omitempty"`
	// RunnerEnvironment is the exact runner environment extension.
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	// AnyIdentityUnsafe is set when any subject is accepted.
	AnyIdentityUnsafe bool `json:"anyIdentityUnsafe,omitempty"`
	// PublicKey, in place of every other field, requires a signature made
	// with that key: "sha256:" and the hex SHA-256 digest of its DER
	// SubjectPublicKeyInfo.
	PublicKey string `json:"publicKey,omitempty"`
}

// String describes the requirement in one line, naming only what is set.
func (r Requirement) String() string {
	if r.PublicKey != "" {
		return "public key " + r.PublicKey
	}
	var parts []string
	switch {
	case r.AnyIdentityUnsafe:
		parts = append(parts, "any subject (unsafe)")
	case r.Subject != "" && r.SubjectRegexp != "":
		parts = append(parts, fmt.Sprintf("subject %s (matching %s)", r.Subject, r.SubjectRegexp))
	case r.Subject != "":
		parts = append(parts, "subject "+r.Subject)
	case r.SubjectRegexp != "":
		parts = append(parts, "subject matching "+r.SubjectRegexp)
	}
	switch {
	case r.Issuer != "":
		parts = append(parts, "issuer "+r.Issuer)
	case r.IssuerRegexp != "":
		parts = append(parts, "issuer matching "+r.IssuerRegexp)
	}
	if r.SourceRepositoryURI != "" {
		parts = append(parts, "source repository "+r.SourceRepositoryURI)
	}
	if r.SourceRepositoryRef != "" {
		parts = append(parts, "source ref "+r.SourceRepositoryRef)
	}
	if r.RunnerEnvironment != "" {
		parts = append(parts, "runner environment "+r.RunnerEnvironment)
	}
	return strings.Join(parts, ", ")
}

// LogEntry locates a signature's transparency log entry.
type LogEntry struct {
	// URL is the log's base URL; empty when a verifier's trusted root does
	// not list the log.
	URL string `json:"url,omitempty"`
	// Version is the Rekor API major version, 1 or 2.
	Version int `json:"version"`
	// Index is the entry's log index.
	Index int64 `json:"index"`
	// LogID is the log's key id, hex.
	LogID string `json:"logID,omitempty"` //nolint:tagliatelle
	// IntegratedTime is the log's time of entry (Rekor v1; Rekor v2 gives
	// none).
	IntegratedTime *time.Time `json:"integratedTime,omitempty"`
	// EntryURL fetches the entry (Rekor v1).
	EntryURL string `json:"entryUrl,omitempty"`
}

// String names the entry in one line.
func (l LogEntry) String() string {
	where := l.URL
	if where == "" {
		where = "log " + l.LogID
	}
	return fmt.Sprintf("transparency log entry %d in Rekor v%d %s", l.Index, l.Version, where)
}
