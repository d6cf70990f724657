package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/sigil-dev/sigil/provenance"
)

// Predicate types sigil writes, and verifiers ask for.
const (
	// ProvenancePredicateType is SLSA v1 provenance (package provenance).
	ProvenancePredicateType = provenance.PredicateType
	// SPDXPredicateType is an SPDX JSON document, as cosign attest --type
	// spdxjson writes it (and Kyverno's and policy-controller's examples
	// ask for it).
	SPDXPredicateType = "https://spdx.dev/Document"
	// SPDXVersionedPredicateType prefixes the type GitHub's
	// actions/attest-sbom writes for SPDX: https://spdx.dev/Document/v2.3
	// for an spdxVersion of SPDX-2.3 (src/sbom.ts).
	SPDXVersionedPredicateType = SPDXPredicateType + "/v"
	// CycloneDXPredicateType is a CycloneDX JSON document, as both cosign
	// attest --type cyclonedx and actions/attest-sbom write it.
	CycloneDXPredicateType = "https://cyclonedx.org/bom"
)

// Names a verifier may give in place of a predicate type URI.
const (
	NameProvenance = "provenance"
	NameSPDX       = "spdx"
	NameCycloneDX  = "cyclonedx"
)

// ExpandPredicateType turns a name (NameProvenance, NameSPDX, NameCycloneDX)
// into its predicate type, and checks any other value is an absolute URI.
func ExpandPredicateType(s string) (string, error) {
	switch s {
	case NameProvenance:
		return ProvenancePredicateType, nil
	case NameSPDX:
		return SPDXPredicateType, nil
	case NameCycloneDX:
		return CycloneDXPredicateType, nil
	}
	if err := CheckPredicateType(s); err != nil {
		return "", fmt.Errorf("%w, or one of %s, %s, %s", err, NameProvenance, NameSPDX, NameCycloneDX)
	}
	return s, nil
}

// MatchesPredicateType reports whether a statement's predicate type found
// satisfies the type required: the same URI, or for SPDX either cosign's
// unversioned type or GitHub's versioned one.
func MatchesPredicateType(required, found string) bool {
	if required == found {
		return true
	}
	return required == SPDXPredicateType && strings.HasPrefix(found, SPDXVersionedPredicateType)
}

// CheckPredicateType checks that t is an absolute URI, as in-toto requires
// of a predicate type.
func CheckPredicateType(t string) error {
	u, err := url.Parse(t)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") || strings.ContainsAny(t, " \t\r\n") || !utf8.ValidString(t) {
		return fmt.Errorf("predicate type %q: want an absolute URI, such as https://example.com/test-result/v1", t)
	}
	return nil
}

// Predicate is a predicate read from a file, ready to go into a statement.
type Predicate struct {
	// Path is the file it was read from.
	Path string
	// Type is its predicate type.
	Type string
	// Kind names what it is for messages and reports: "SPDX 2.3",
	// "CycloneDX 1.6" or "custom".
	Kind string
	// JSON is the predicate, compacted.
	JSON []byte
}

// SBOM kinds, as Predicate.Kind starts.
const (
	KindSPDX      = "SPDX"
	KindCycloneDX = "CycloneDX"
	KindCustom    = "custom"
)

// ReadSBOM reads an SBOM file (SPDX 2.x JSON or CycloneDX JSON, decided
// from the document) as a predicate. The file must be at most
// MaxStatementSize(1) bytes (more than any log accepts); what a given log
// accepts is checked with CheckSize once the subjects are known.
func ReadSBOM(path string) (*Predicate, error) {
	raw, obj, err := readObject(path)
	if err != nil {
		return nil, err
	}
	kind, typ, err := sbomKind(obj)
	if err != nil {
		return nil, fmt.Errorf("SBOM %s: %w", path, err)
	}
	if named := kindFromName(path); named != "" && !strings.HasPrefix(kind, named) {
		return nil, fmt.Errorf("SBOM %s: its name says %s, but the document is %s JSON", path, named, kind)
	}
	return &Predicate{Path: path, Type: typ, Kind: kind, JSON: raw}, nil
}

// ReadPredicate reads a custom predicate, a JSON object, of type
// predicateType (an absolute URI).
func ReadPredicate(path, predicateType string) (*Predicate, error) {
	if err := CheckPredicateType(predicateType); err != nil {
		return nil, err
	}
	raw, _, err := readObject(path)
	if err != nil {
		return nil, err
	}
	return &Predicate{Path: path, Type: predicateType, Kind: KindCustom, JSON: raw}, nil
}

// kindFromName is the SBOM kind a file name declares, if any.
func kindFromName(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.Contains(base, ".spdx."):
		return KindSPDX
	case strings.Contains(base, ".cdx."), strings.Contains(base, ".cyclonedx."), strings.Contains(base, ".bom."):
		return KindCycloneDX
	}
	return ""
}

// sbomKind decides a document's kind and predicate type.
func sbomKind(obj map[string]json.RawMessage) (kind, predicateType string, err error) {
	str := func(k string) (string, bool) {
		var s string
		raw, ok := obj[k]
		if !ok || json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	spdxVersion, isSPDX := str("spdxVersion")
	bomFormat, isCDX := str("bomFormat")
	_, isSPDX3 := obj["@context"]
	switch {
	case isSPDX:
		v, ok := strings.CutPrefix(spdxVersion, "SPDX-2.")
		if !ok || v == "" {
			return "", "", fmt.Errorf("spdxVersion is %q: only SPDX 2.x JSON (SPDX-2.2, SPDX-2.3) is supported", spdxVersion)
		}
		if id, ok := str("SPDXID"); !ok || id == "" {
			return "", "", fmt.Errorf("the document declares SPDX (spdxVersion %s) but has no SPDXID: not valid SPDX JSON", spdxVersion)
		}
		return KindSPDX + " 2." + v, SPDXPredicateType, nil
	case isCDX:
		if bomFormat != "CycloneDX" {
			return "", "", fmt.Errorf("bomFormat is %q, want \"CycloneDX\"", bomFormat)
		}
		sv, ok := str("specVersion")
		if !ok || sv == "" {
			return "", "", errors.New("the document declares CycloneDX (bomFormat) but has no specVersion: not valid CycloneDX JSON")
		}
		return KindCycloneDX + " " + sv, CycloneDXPredicateType, nil
	case isSPDX3:
		return "", "", errors.New("this looks like SPDX 3 JSON-LD (@context): only SPDX 2.x JSON and CycloneDX JSON are supported")
	}
	return "", "", errors.New("neither SPDX JSON (spdxVersion and SPDXID) nor CycloneDX JSON (bomFormat \"CycloneDX\" and specVersion); tag-value and XML SBOMs are not supported: write JSON (e.g. syft -o spdx-json)")
}

// readObject reads a JSON object from path, bounded, and returns it
// compacted and decoded one level deep.
func readObject(path string) ([]byte, map[string]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	limit := MaxStatementSize(1)
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, nil, &TooLargeError{Path: path, Size: st.Size(), Limit: limit, Log: logName(1)}
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(raw)) > limit {
		return nil, nil, &TooLargeError{Path: path, Size: int64(len(raw)), Limit: limit, Log: logName(1)}
	}
	if !utf8.Valid(raw) {
		return nil, nil, fmt.Errorf("%s is not UTF-8 text, so not JSON", path)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(compact.Bytes(), &obj); err != nil || obj == nil {
		return nil, nil, fmt.Errorf("%s is JSON but not a JSON object: a predicate is an object", path)
	}
	return compact.Bytes(), obj, nil
}
